// swift-tools-version:6.2
import PackageDescription

// ISA-L is a default-on trait. `swift build --disable-default-traits` gives a
// package whose erasure code runs on the pure-Swift backend alone (no C).
let package = Package(
    name: "Shale",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "shale", targets: ["Cli"]),
        .library(name: "Erasure", targets: ["Erasure"]),
        .library(name: "Placement", targets: ["Placement"]),
        .library(name: "Units", targets: ["Units"]),
    ],
    traits: [
        .trait(name: "ISAL", description: "Use Intel ISA-L (libisal-dev) for Reed-Solomon and CRC32C."),
        .default(enabledTraits: ["ISAL"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CISAL",
            pkgConfig: "libisal",
            providers: [.apt(["libisal-dev"])]
        ),
        .target(
            name: "Erasure",
            dependencies: [
                .target(name: "CISAL", condition: .when(traits: ["ISAL"])),
            ]
        ),
        .target(name: "Units"),
        .target(
            name: "Placement",
            dependencies: ["Erasure", "Units", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(
            name: "LayoutPlanner",
            dependencies: ["Placement", "Units", "Erasure", .product(name: "TOMLKit", package: "TOMLKit")]
        ),
        .target(
            name: "ErasureBench",
            dependencies: ["Erasure", "Units"]
        ),
        .executableTarget(
            name: "Cli",
            dependencies: [
                "Erasure",
                "ErasureBench",
                "LayoutPlanner",
                "Placement",
                "Units",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "ErasureTests",
            dependencies: ["Erasure", "Units", .target(name: "CISAL", condition: .when(traits: ["ISAL"]))]
        ),
        .testTarget(name: "UnitsTests", dependencies: ["Units"]),
        .testTarget(name: "PlacementTests", dependencies: ["Placement", "Erasure", "Units"]),
        .testTarget(name: "LayoutPlannerTests", dependencies: ["LayoutPlanner", "Placement", "Units"]),
        .testTarget(name: "ErasureBenchTests", dependencies: ["ErasureBench", "Erasure"]),
    ]
)

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
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-async-algorithms", from: "1.1.4"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
    ],
    targets: [
        .systemLibrary(
            name: "CISAL",
            pkgConfig: "libisal",
            providers: [.apt(["libisal-dev"])]
        ),
        // Linux file calls Swift's Glibc module leaves out (sync_file_range).
        .systemLibrary(name: "CLinuxFiles"),
        .target(name: "CodeParameters"),
        .target(
            name: "Erasure",
            dependencies: [
                "CodeParameters",
                .target(name: "CISAL", condition: .when(traits: ["ISAL"])),
            ]
        ),
        .target(name: "Units"),
        .target(
            name: "Checksums",
            dependencies: [
                "Erasure",
                .target(name: "CISAL", condition: .when(traits: ["ISAL"])),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "Placement",
            dependencies: ["CodeParameters", "Units", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(
            name: "LayoutPlanner",
            dependencies: ["Placement", "Units", "CodeParameters", .product(name: "TOMLKit", package: "TOMLKit")]
        ),
        .target(
            name: "ErasureBench",
            dependencies: ["Erasure", "Units"]
        ),
        .target(
            name: "ClusterModel",
            dependencies: ["Placement", "CodeParameters", "Checksums", "Units"]
        ),
        .target(
            name: "Storage",
            dependencies: [
                "Erasure", "ClusterModel", "CLinuxFiles",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "S3Protocol",
            dependencies: ["Units", "Checksums", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(
            name: "S3Bench",
            dependencies: [
                "S3Protocol", "Units",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .target(
            name: "NodeConfiguration",
            dependencies: [
                "Erasure",
                .product(name: "TOMLKit", package: "TOMLKit"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "AdminAPI",
            dependencies: ["Placement"]
        ),
        .target(
            name: "Node",
            dependencies: [
                "ClusterModel", "Placement", "Erasure", "Storage", "Units", "Checksums", "NodeConfiguration",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdHTTP2", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
            ]
        ),
        .target(
            name: "S3Server",
            dependencies: [
                "S3Protocol", "Node", "ClusterModel", "Placement", "Units", "Checksums",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        .target(
            name: "Admin",
            dependencies: [
                "AdminAPI", "Node", "ClusterModel", "Placement", "Erasure", "Units",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .executableTarget(
            name: "Cli",
            dependencies: [
                "Admin",
                "AdminAPI",
                "NodeConfiguration",
                "S3Bench",
                "S3Server",
                "ClusterModel",
                "Erasure",
                "ErasureBench",
                "LayoutPlanner",
                "Node",
                "Placement",
                "Units",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(
            name: "ErasureTests",
            dependencies: ["Erasure", "Units", .target(name: "CISAL", condition: .when(traits: ["ISAL"]))]
        ),
        .testTarget(name: "UnitsTests", dependencies: ["Units"]),
        .testTarget(name: "ChecksumsTests", dependencies: ["Checksums"]),
        .testTarget(name: "PlacementTests", dependencies: ["Placement", "CodeParameters", "Units"]),
        .testTarget(name: "LayoutPlannerTests", dependencies: ["LayoutPlanner", "Placement", "Units"]),
        .testTarget(name: "ErasureBenchTests", dependencies: ["ErasureBench", "Erasure"]),
        .testTarget(name: "ClusterModelTests", dependencies: ["ClusterModel", "Placement", "Erasure", "Units", "Checksums"]),
        .testTarget(name: "S3ProtocolTests", dependencies: ["S3Protocol", "Checksums", "Units", .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(name: "S3ServerTests", dependencies: [
            "S3Server", "S3Protocol", "Node", "ClusterModel", "Checksums", "Placement", "Units",
            .product(name: "Hummingbird", package: "hummingbird"), .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "Logging", package: "swift-log"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .testTarget(name: "S3BenchTests", dependencies: ["S3Bench"]),
        .testTarget(name: "AdminAPITests", dependencies: ["AdminAPI"]),
        .testTarget(name: "StorageTests", dependencies: ["Storage", "ClusterModel", "Placement", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "NodeTests", dependencies: [
            "Node", "ClusterModel", "Placement", "Erasure", "Storage", "Units", .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"), .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOEmbedded", package: "swift-nio"), .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Hummingbird", package: "hummingbird"), .product(name: "HummingbirdHTTP2", package: "hummingbird"),
        ]),
    ]
)

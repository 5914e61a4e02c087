// swift-tools-version:6.2
import PackageDescription

// The developers' benchmark suite (ordo-one/benchmark). A separate package so
// the harness and its dependencies stay out of `make test` and the product.
// Run with `make bench` or `swift package benchmark` in this folder.
let package = Package(
    name: "ShaleBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Shale", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // Plain C on the same buffers: ISA-L called directly, and a textbook
        // 256×256-table encoder, so the Swift layer's cost shows side by side.
        .target(
            name: "CBaseline",
            path: "Sources/CBaseline",
            cSettings: [.unsafeFlags(["-O2"])],
            linkerSettings: [.linkedLibrary("isal")]
        ),
        // Interleaved A/B of Shale's ISA-L path against the direct C call.
        .executableTarget(
            name: "ErasureOverhead",
            dependencies: [.product(name: "Erasure", package: "Shale"), "CBaseline"],
            path: "Sources/ErasureOverhead"
        ),
        .executableTarget(
            name: "ErasureBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "Erasure", package: "Shale"),
                "CBaseline",
            ],
            path: "Benchmarks/ErasureBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "PlacementBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "Erasure", package: "Shale"),
                .product(name: "Placement", package: "Shale"),
                .product(name: "Units", package: "Shale"),
            ],
            path: "Benchmarks/PlacementBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)

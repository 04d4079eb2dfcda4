// swift-tools-version:5.10
import PackageDescription

// hpsweep: hyperparameter sweeps of side-tuned vision transformers (see README.md).
// No third-party Swift packages: Foundation, Dispatch, and system libraries only.
let package = Package(
    name: "hpsweep",
    products: [
        .executable(name: "hpsweep", targets: ["hpsweep"]),
    ],
    targets: [
        // MARK: - System libraries (installed by scripts/setup)
        .systemLibrary(
            name: "CBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(
            name: "CZlib", pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]),

        // MARK: - Modules
        .target(name: "Numerics", dependencies: ["CBLAS"]),
        .target(name: "Backbone", dependencies: ["Numerics", "CZlib"]),
        .executableTarget(name: "hpsweep", dependencies: ["Numerics", "Backbone"]),

        // MARK: - Tests
        .target(name: "_TestSupport", dependencies: ["Numerics"], path: "Tests/_TestSupport"),
        .testTarget(name: "NumericsTests", dependencies: ["Numerics", "_TestSupport"]),
        .testTarget(name: "BackboneTests", dependencies: ["Backbone", "Numerics", "_TestSupport"]),
    ]
)

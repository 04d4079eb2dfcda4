// swift-tools-version:5.10
import Foundation
import PackageDescription

// Numeric code is compiled for this machine's vector unit when it has AVX2 and FMA, or AVX-512 (like
// -march=native): the GELU, softmax and LayerNorm loops run two or four times as wide. HPSWEEP_PORTABLE=1 builds
// for the baseline x86-64 instead (a binary to copy to older machines).
let nativeVectorFlags: [SwiftSetting] = {
    #if arch(x86_64) && os(Linux)
        if ProcessInfo.processInfo.environment["HPSWEEP_PORTABLE"] == "1" { return [] }
        guard let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
            let flags = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
        else { return [] }
        let set = Set(flags.split(separator: " ").map(String.init))
        guard set.isSuperset(of: ["avx2", "fma", "f16c", "bmi2"]) else { return [] }
        // AVX-512 F/BW/CD/DQ/VL (Skylake-SP's set, which Zen 4 and later Xeons also have); swiftc knows no x86-64-v4.
        if set.isSuperset(of: ["avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"]) {
            return [.unsafeFlags(["-target-cpu", "skylake-avx512"])]
        }
        return [.unsafeFlags(["-target-cpu", "haswell"])]
    #else
        return []
    #endif
}()

// hpsweep: hyperparameter sweeps of side-tuned vision transformers (see README.md).
// No third-party Swift packages: Foundation, Dispatch, and system libraries only.
let package = Package(
    name: "hpsweep",
    products: [
        .executable(name: "hpsweep", targets: ["hpsweep"])
    ],
    targets: [
        // MARK: - System libraries (installed by scripts/setup)
        .systemLibrary(
            name: "CBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(
            name: "CZlib", pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]),

        // Chooses OpenBLAS's kernel before main (re-executing once when OpenBLAS fell back to generic kernels).
        .target(
            name: "CBLASKernel",
            linkerSettings: [.linkedLibrary("openblas")]),
        // bf16 × bf16 → fp32 GEMM with AVX512_BF16 (and a scalar path), for `hpsweep bench gemm`.
        .target(name: "CBFloat16"),
        .target(
            name: "CImageCodecs",
            linkerSettings: [.linkedLibrary("jpeg"), .linkedLibrary("png")]),

        // MARK: - Modules
        // Below everything: hashing, canonical JSON, CRC, memory maps, atomic writes, name suggestions,
        // seeded random numbers, and what a trial reports (TrialResult).
        .target(name: "Essentials", dependencies: ["CZlib"]),
        .target(
            name: "Numerics", dependencies: ["Essentials", "CBLAS", "CBLASKernel", "CBFloat16"],
            swiftSettings: nativeVectorFlags),
        .target(name: "Backbone", dependencies: ["Essentials", "Numerics", "CZlib"], swiftSettings: nativeVectorFlags),
        .target(
            name: "Datasets", dependencies: ["Essentials", "Numerics", "Backbone", "CImageCodecs"],
            swiftSettings: nativeVectorFlags),
        .target(
            name: "Cache", dependencies: ["Essentials", "Numerics", "Backbone", "Datasets", "CZlib"],
            swiftSettings: nativeVectorFlags),
        .target(
            name: "SideNets", dependencies: ["Essentials", "Numerics", "Backbone", "Cache"],
            swiftSettings: nativeVectorFlags),
        .target(
            name: "Training", dependencies: ["Essentials", "Numerics", "Backbone", "Datasets", "Cache", "SideNets"],
            swiftSettings: nativeVectorFlags),
        // The sweep machinery, generic over what it optimises (SweepObjective): journals, leases, samplers,
        // pruners, the scheduler, leaderboards, reports. It knows nothing of networks or caches.
        .target(name: "Sweep", dependencies: ["Essentials"]),
        // Side-tuning as a sweep's objective: the sweep file's backbone/data/cache sections, the method and
        // hyperparameter catalogue, costs, training stretches, cohorts, the final phase, model files.
        .target(
            name: "SideTuning",
            dependencies: ["Essentials", "Numerics", "Backbone", "Datasets", "Cache", "SideNets", "Training", "Sweep"]),
        .executableTarget(
            name: "hpsweep",
            dependencies: [
                "Essentials", "Numerics", "Backbone", "Datasets", "Cache", "SideNets", "Training", "Sweep",
                "SideTuning",
            ]),
        // Fuzzing (scripts/fuzz): the parsers as libFuzzer targets; built normally, a replayer.
        .target(
            name: "FuzzTargets", dependencies: ["Essentials", "Backbone", "Cache", "Datasets", "Sweep", "SideTuning"]),
        .executableTarget(name: "hpsweep-fuzz", dependencies: ["FuzzTargets"]),

        // MARK: - Tests
        .target(name: "_TestSupport", dependencies: ["Essentials", "Numerics"], path: "Tests/_TestSupport"),
        .testTarget(name: "EssentialsTests", dependencies: ["Essentials"]),
        .testTarget(name: "NumericsTests", dependencies: ["Numerics", "Backbone", "_TestSupport"]),
        .testTarget(name: "BackboneTests", dependencies: ["Backbone", "Numerics", "_TestSupport"]),
        .testTarget(name: "DatasetsTests", dependencies: ["Datasets", "Backbone", "Numerics", "_TestSupport"]),
        .testTarget(
            name: "CacheTests",
            dependencies: ["Essentials", "Cache", "Datasets", "Backbone", "Numerics", "_TestSupport"]),
        .testTarget(
            name: "SideNetsTests",
            dependencies: ["SideNets", "Training", "Cache", "Backbone", "Numerics", "_TestSupport"]),
        .testTarget(
            name: "TrainingTests",
            dependencies: ["Training", "SideNets", "Cache", "Datasets", "Backbone", "Numerics", "_TestSupport"]),
        .testTarget(name: "SweepTests", dependencies: ["Sweep", "SideTuning", "Training", "_TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["hpsweep", "Datasets", "_TestSupport"]),
        .testTarget(name: "FuzzRegressionTests", dependencies: ["FuzzTargets", "Backbone", "Datasets"]),
    ]
)

import Foundation
import Numerics
import XCTest

/// The choice of OpenBLAS kernel (CBLASKernel): the rule itself on every machine, and what this
/// machine's processes actually run.
final class BLASKernelTests: XCTestCase {
    func testCoreTiersFollowTheVectorUnitTheKernelsUse() {
        for core in ["Prescott", "Katmai", "Core2", "Nehalem", "Barcelona", "Atom"] {
            XCTAssertEqual(BLASKernel.level(ofCore: core), 0, core)
        }
        for core in ["Sandybridge", "Bulldozer", "Excavator"] {
            XCTAssertEqual(BLASKernel.level(ofCore: core), 1, core)
        }
        for core in ["Haswell", "Zen", "haswell", "ZEN"] { XCTAssertEqual(BLASKernel.level(ofCore: core), 2, core) }
        for core in ["SkylakeX", "Cooperlake", "SapphireRapids"] {
            XCTAssertEqual(BLASKernel.level(ofCore: core), 3, core)
        }
        XCTAssertNil(BLASKernel.level(ofCore: "Unknown"))
        XCTAssertNil(BLASKernel.level(ofCore: ""))
    }

    func testFallbackKernelsAreReplacedByTheCPUsBest() {
        // The case that motivated it: OpenBLAS 0.3.21 on the Xeon of family 6 model 207 (AVX-512).
        XCTAssertEqual(BLASKernel.betterCore(than: "Prescott", cpuLevel: 3, amd: false), "SkylakeX")
        XCTAssertEqual(BLASKernel.betterCore(than: "Nehalem", cpuLevel: 3, amd: true), "SkylakeX")
        XCTAssertEqual(BLASKernel.betterCore(than: "Haswell", cpuLevel: 3, amd: false), "SkylakeX")
        XCTAssertEqual(BLASKernel.betterCore(than: "Prescott", cpuLevel: 2, amd: false), "Haswell")
        XCTAssertEqual(BLASKernel.betterCore(than: "Core2", cpuLevel: 2, amd: true), "Zen")
        XCTAssertEqual(BLASKernel.betterCore(than: "Sandybridge", cpuLevel: 2, amd: false), "Haswell")
        XCTAssertEqual(BLASKernel.betterCore(than: "Prescott", cpuLevel: 1, amd: false), "Sandybridge")
        XCTAssertEqual(BLASKernel.betterCore(than: "Unknown", cpuLevel: 0, amd: false), "Prescott")
    }

    func testSuitableKernelsAreKept() {
        XCTAssertNil(BLASKernel.betterCore(than: "Zen", cpuLevel: 2, amd: true))
        XCTAssertNil(BLASKernel.betterCore(than: "Haswell", cpuLevel: 2, amd: false))
        XCTAssertNil(BLASKernel.betterCore(than: "Cooperlake", cpuLevel: 3, amd: true))  // Zen 4 under 0.3.21
        XCTAssertNil(BLASKernel.betterCore(than: "SkylakeX", cpuLevel: 3, amd: false))
        XCTAssertNil(BLASKernel.betterCore(than: "Prescott", cpuLevel: 0, amd: false))
        // Never downgrade: a kernel above the CPU's tier is the user's (or OpenBLAS's) business.
        XCTAssertNil(BLASKernel.betterCore(than: "SkylakeX", cpuLevel: 2, amd: false))
    }

    /// cpuid/xgetbv (what the start-up choice reads) agree with the flags the kernel reports.
    func testDetectedVectorUnitAgreesWithProcCpuinfo() throws {
        let flags = try XCTUnwrap(Self.cpuinfoFlags(), "no flags line in /proc/cpuinfo")
        let expected =
            flags.isSuperset(of: ["avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"])
            ? 3
            : flags.isSuperset(of: ["avx2", "fma"]) ? 2 : flags.contains("avx") ? 1 : 0
        XCTAssertEqual(
            BLASKernel.cpuLevel, expected, "flags: \(flags.filter { $0.hasPrefix("avx") || $0 == "fma" }.sorted())")
    }

    /// This test process went through the same start-up choice as hpsweep: it must run a kernel
    /// that uses the CPU's widest vector unit, or have been told otherwise by the user.
    func testThisProcessRunsAKernelSuitedToTheCPU() throws {
        let kernel = BLASKernel.current
        XCTAssertNil(kernel.problem, "BLAS kernel problem: \(kernel.problem ?? "")")
        guard kernel.origin != .user else { return }
        let level = try XCTUnwrap(
            BLASKernel.level(ofCore: kernel.core), "OpenBLAS runs a kernel hpsweep does not know: \(kernel.core)")
        XCTAssertGreaterThanOrEqual(
            level, BLASKernel.cpuLevel,
            "this test process computes with OpenBLAS's \(kernel.core) kernel on a CPU of tier \(BLASKernel.cpuLevel): \(kernel.summary)"
        )
        XCTAssertTrue(BLASKernel.selfCheckPasses())
        XCTAssertTrue(kernel.summary.contains(kernel.core))
        XCTAssertTrue(kernel.provenance.hasPrefix("OpenBLAS "), kernel.provenance)
    }

    static func cpuinfoFlags() -> Set<String>? {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
            let list = line.split(separator: ":", maxSplits: 1).last
        else { return nil }
        return Set(list.split(separator: " ").map(String.init))
    }
}

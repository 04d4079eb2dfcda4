import Foundation
import Numerics
import XCTest

/// hpsweep re-executes itself with OPENBLAS_CORETYPE when OpenBLAS fell back to a generic kernel,
/// respects the user's own setting, and drops a choice inherited from a CPU with a wider vector unit.
/// `HPSWEEP_TEST_PRETEND_OPENBLAS_CORE` makes the start-up check see a fallback on any machine.
final class BLASKernelCLITests: XCTestCase {
    let cli = CLI()
    /// Everything the start-up choice reads, so that each run starts from a clean slate.
    let kernelVariables: Set<String> = [
        "OPENBLAS_CORETYPE", "HPSWEEP_OPENBLAS_CORETYPE", "HPSWEEP_OPENBLAS_DEFAULT_CORE",
        "HPSWEEP_OPENBLAS_REJECTED", "HPSWEEP_OPENBLAS_DROPPED", "HPSWEEP_TEST_PRETEND_OPENBLAS_CORE",
    ]

    func testVersionNamesTheKernelAndTheCPU() throws {
        let result = try cli.run(["version"], environment: [:], unsetting: kernelVariables)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("BLAS: OpenBLAS "), result.stdout)
        XCTAssertTrue(result.stdout.contains("kernel "), result.stdout)
        XCTAssertTrue(result.stdout.contains("CPU: "), result.stdout)
    }

    func testAFallbackKernelIsReplacedByReexecuting() throws {
        let result = try cli.run(
            ["version"], environment: ["HPSWEEP_TEST_PRETEND_OPENBLAS_CORE": "Prescott"], unsetting: kernelVariables)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stderr, "")
        guard
            let better = BLASKernel.betterCore(
                than: "Prescott", cpuLevel: BLASKernel.cpuLevel, amd: BLASKernel.cpuIsAMD)
        else {
            XCTAssertTrue(result.stdout.contains("(OpenBLAS's own choice)"), result.stdout)  // an SSE-only CPU
            return
        }
        XCTAssertTrue(
            result.stdout.contains("kernel \(better) (chosen by hpsweep; OpenBLAS chose Prescott)"), result.stdout)
    }

    func testTheUsersCoreTypeWins() throws {
        // The test process's own kernel, so that the child computes as fast as this process does.
        let core = BLASKernel.current.core
        let result = try cli.run(
            ["version"], environment: ["OPENBLAS_CORETYPE": core, "HPSWEEP_TEST_PRETEND_OPENBLAS_CORE": "Prescott"],
            unsetting: kernelVariables)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("kernel \(core) (set by OPENBLAS_CORETYPE)"), result.stdout)
    }

    func testAChoiceInheritedFromAWiderCPUIsDropped() throws {
        // A Slurm job exports its submitter's environment: a choice made on an AVX-512 login node
        // must not reach a worker without AVX-512 (SkylakeX kernels would trap there).
        guard BLASKernel.cpuLevel < 3 else { throw XCTSkip("this CPU runs AVX-512 kernels: nothing to drop") }
        let result = try cli.run(
            ["version"], environment: ["OPENBLAS_CORETYPE": "SkylakeX", "HPSWEEP_OPENBLAS_CORETYPE": "SkylakeX"],
            unsetting: kernelVariables)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertFalse(result.stdout.contains("kernel SkylakeX"), result.stdout)
        XCTAssertTrue(
            result.stdout.contains("(inherited choice dropped)") || result.stdout.contains("(chosen by hpsweep"),
            result.stdout)
        XCTAssertTrue(
            result.stderr.contains("hpsweep: warning: BLAS kernel")
                && result.stderr.contains("OPENBLAS_CORETYPE=SkylakeX"), result.stderr)
    }
}

import Foundation
import XCTest
import _TestSupport

/// The job-array example of sweeps/slurm/, run for real on a single-node Slurm started by
/// scripts/slurm-local (skipped, saying why, where Slurm cannot run: not root, not installed).
final class SlurmTests: XCTestCase {
    let cli = CLI()
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    func shell(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> (
        status: Int32, out: String, err: String
    ) {
        let result = try Subprocess(executable, arguments, environment: environment).wait(timeout: 120)
        return (result.status, result.stdout, result.stderr)
    }

    func tool(_ name: String) -> String {
        ["/usr/bin/\(name)", "/usr/sbin/\(name)"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? name
    }

    func testJobArrayExampleRunsForReal() throws {
        let dir = temporaryDirectory(self)
        let slurm = dir.appendingPathComponent("slurm").path
        let started = try shell(Self.repository.path + "/scripts/slurm-local", ["start", slurm])
        if started.status == 3 { throw XCTSkip(started.err.trimmingCharacters(in: .whitespacesAndNewlines)) }
        XCTAssertEqual(started.status, 0, started.err)
        // Teardown blocks run last-in first-out: this one before the temporary directory goes.
        addTeardownBlock { _ = try? self.shell(Self.repository.path + "/scripts/slurm-local", ["stop", slurm]) }
        let environment = ["SLURM_CONF": started.out.trimmingCharacters(in: .whitespacesAndNewlines)]

        let sweep = try writeSmallSweep(in: dir)
        let single = try cli.run("run", sweep, "--results", dir.path + "/single")
        XCTAssertEqual(single.status, 0, single.stderr)
        let results = dir.path + "/cluster"
        let submit = try shell(
            tool("sbatch"),
            [
                "--parsable", "--array=0-2", "--cpus-per-task=1", "--chdir=\(dir.path)",
                "--export=ALL,SWEEP=\(sweep),HPSWEEP=\(cli.executable.path),RESULTS=\(results)",
                Self.repository.path + "/sweeps/slurm/hpsweep-array.sbatch",
            ], environment: environment)
        XCTAssertEqual(submit.status, 0, submit.err)
        let job =
            submit.out.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ";").first.map(String.init)
            ?? ""
        let deadline = Date().addingTimeInterval(180)
        while Date() < deadline {
            let queue = try shell(tool("squeue"), ["-h", "-j", job], environment: environment)
            // (A failed query — slurmctld busy — says nothing: ask again.)
            if queue.status == 0 && queue.out.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { break }
            Thread.sleep(forTimeInterval: 0.5)
        }
        let outputs = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter {
            $0.hasPrefix("slurm-\(job)_")
        }
        XCTAssertEqual(outputs.count, 3, "one output per array task: \(outputs)")
        for output in outputs {
            let text = try String(contentsOfFile: dir.path + "/" + output, encoding: .utf8)
            XCTAssertTrue(text.contains("hpsweep worker: array task"), text)
            // hpsweep's own errors and Swift traps (slurmstepd's notes about the test node are not ours).
            XCTAssertFalse(text.contains("hpsweep: error") || text.contains("Fatal error"), text)
        }
        let status = try cli.run("status", results + "/small")
        XCTAssertTrue(status.stdout.contains("8 of 8 trials done"), status.stdout)
        XCTAssertEqual(
            try SweepCommandTests.deterministicLeaderboard(results + "/small"),
            try SweepCommandTests.deterministicLeaderboard(dir.path + "/single/small"))
        print(
            "Slurm job \(job): 3 array tasks as hpsweep workers; the sweep finished with the single-process leaderboard"
        )
    }
}

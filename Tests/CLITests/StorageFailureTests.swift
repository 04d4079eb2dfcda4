import Foundation
import XCTest
import _TestSupport

/// A full disk and a read-only results directory (small tmpfs mounts; skipped where mounting is not
/// allowed): one clear error line, nothing written before damaged, and the sweep resumes afterwards.
final class StorageFailureTests: XCTestCase {
    let cli = CLI()

    func mount(_ options: String, at dir: String) -> Bool {
        (try? Subprocess("/bin/mount", ["-t", "tmpfs", "-o", options, "tmpfs", dir]).wait(timeout: 60))?.status == 0
    }

    func remount(_ options: String, _ dir: String) { _ = mount("remount," + options, at: dir) }

    func unmount(_ dir: String) {
        _ = try? Subprocess("/bin/umount", [dir]).wait(timeout: 60)
    }

    func testDiskFullStopsCleanlyAndResumes() throws {
        let dir = temporaryDirectory(self)
        let sweep = try writeSmallSweep(in: dir, epochs: 4)
        let reference = try cli.run("run", sweep, "--results", dir.path + "/reference")
        XCTAssertEqual(reference.status, 0, reference.stderr)
        let results = dir.path + "/full"
        try FileManager.default.createDirectory(atPath: results, withIntermediateDirectories: true)
        guard mount("size=320k", at: results) else { throw XCTSkip("cannot mount a small tmpfs here (needs root): disk-full not simulated") }
        addTeardownBlock { self.unmount(results) }

        let full = try cli.run("run", sweep, "--results", results)
        cli.assertOneLineError(full, status: 1, containing: ["No space left on device"])
        // Trials stopped by the failure resume later: no progress line may report them paused.
        XCTAssertFalse(full.stdout.contains("at 0 epochs (paused)"), full.stdout)
        // What was journaled before is intact: every line parses and passes its CRC.
        let status = try cli.run("status", results + "/small")
        XCTAssertEqual(status.status, 0, status.stderr)

        remount("size=64m", results)
        let resumed = try cli.run("run", sweep, "--results", results)
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertEqual(try SweepCommandTests.deterministicLeaderboard(results + "/small"),
                       try SweepCommandTests.deterministicLeaderboard(dir.path + "/reference/small"))
    }

    func testReadOnlyResultsDirectoryIsAClearError() throws {
        let dir = temporaryDirectory(self)
        let sweep = try writeSmallSweep(in: dir, epochs: 3)
        let results = dir.path + "/ro"
        try FileManager.default.createDirectory(atPath: results, withIntermediateDirectories: true)
        guard mount("size=16m", at: results) else { throw XCTSkip("cannot mount a tmpfs here (needs root): read-only not simulated") }
        addTeardownBlock { self.unmount(results) }
        XCTAssertEqual(try cli.run("run", sweep, "--results", results).status, 0)
        let before = try String(contentsOfFile: results + "/small/journal.jsonl", encoding: .utf8)
        remount("ro", results)
        let refused = try cli.run("run", sweep, "--results", results)
        cli.assertOneLineError(refused, status: 1, containing: ["Read-only file system"])
        remount("rw", results)
        XCTAssertEqual(try String(contentsOfFile: results + "/small/journal.jsonl", encoding: .utf8), before, "nothing written before is damaged")
    }
}

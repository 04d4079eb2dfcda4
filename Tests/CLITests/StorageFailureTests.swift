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

    /// `dir`/`name`, a tmpfs mounted with `options` and unmounted after the test; skips the test
    /// where mounting is not allowed (it needs root), saying what is then not simulated.
    func mountedDirectory(_ name: String, in dir: URL, options: String, simulating what: String) throws -> String {
        let path = dir.path + "/" + name
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        guard mount(options, at: path) else {
            throw XCTSkip("cannot mount a tmpfs here (needs root): \(what) not simulated")
        }
        addTeardownBlock { self.unmount(path) }
        return path
    }

    func testDiskFullStopsCleanlyAndResumes() throws {
        let dir = temporaryDirectory(self)
        let sweep = try writeSmallSweep(in: dir, epochs: 4)
        let reference = try cli.run("run", sweep, "--results", dir.path + "/reference")
        XCTAssertEqual(reference.status, 0, reference.stderr)
        let results = try mountedDirectory("full", in: dir, options: "size=320k", simulating: "disk-full")

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
        XCTAssertEqual(
            try SweepCommandTests.deterministicLeaderboard(results + "/small"),
            try SweepCommandTests.deterministicLeaderboard(dir.path + "/reference/small"))
    }

    /// A cache root without room for the cache: `validate` says so, `cache` and `run` refuse in one
    /// line with both sizes before the backbone runs, and nothing is left in the root.
    func testCacheThatCannotFitIsRefusedBeforeTheBackboneRuns() throws {
        let dir = temporaryDirectory(self)
        let sweep = try writeSmallSweep(in: dir, epochs: 4)
        let root = try mountedDirectory("small-disk", in: dir, options: "size=4m", simulating: "a small disk")
        let text = try String(contentsOfFile: sweep, encoding: .utf8).replacingOccurrences(
            of: #""cache": {"dir": "cache"}"#, with: #""cache": {"dir": "small-disk"}"#)
        try text.write(toFile: sweep, atomically: true, encoding: .utf8)

        let validate = try cli.run("validate", sweep)
        XCTAssertEqual(validate.status, 0, validate.stderr)
        XCTAssertTrue(validate.stdout.contains("free there: run and cache will refuse"), validate.stdout)
        for command in [["cache", sweep], ["run", sweep, "--results", dir.path + "/results"]] {
            cli.assertOneLineError(
                try cli.run(command), status: 1, containing: [root, "needs", "MiB and this filesystem has", "free"])
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root).filter { !$0.hasPrefix(".lock-") }, [])
    }

    func testReadOnlyResultsDirectoryIsAClearError() throws {
        let dir = temporaryDirectory(self)
        let sweep = try writeSmallSweep(in: dir, epochs: 3)
        let results = try mountedDirectory("ro", in: dir, options: "size=16m", simulating: "read-only")
        XCTAssertEqual(try cli.run("run", sweep, "--results", results).status, 0)
        let before = try String(contentsOfFile: results + "/small/journal.jsonl", encoding: .utf8)
        remount("ro", results)
        let refused = try cli.run("run", sweep, "--results", results)
        cli.assertOneLineError(refused, status: 1, containing: ["Read-only file system"])
        remount("rw", results)
        XCTAssertEqual(
            try String(contentsOfFile: results + "/small/journal.jsonl", encoding: .utf8), before,
            "nothing written before is damaged")
    }
}

import Foundation
import XCTest
import _TestSupport

/// The harness every CLI test runs children through: a hung child must fail its test, not hang the suite.
final class SubprocessTests: XCTestCase {
    func testOverrunningChildIsKilledWithItsGroup() throws {
        let dir = temporaryDirectory(self)
        let pidFile = dir.appendingPathComponent("grandchild.pid").path
        // The grandchild holds the child's stdout and outlives it: with pipes this would hang the reader.
        let child = try Subprocess("/bin/sh", ["-c", "sleep 300 & echo $! > \(pidFile); echo started; wait"])
        let started = Date()
        XCTAssertThrowsError(try child.wait(timeout: 1)) { error in
            XCTAssertTrue("\(error)".contains("did not end within 1 s and was killed"), "\(error)")
            XCTAssertTrue("\(error)".contains("started"), "the error shows the last output: \(error)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 10)
        let grandchild = try XCTUnwrap(
            Int32(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        usleep(100_000)
        XCTAssertFalse(
            FileManager.default.fileExists(atPath: "/proc/\(grandchild)/cmdline") && !isZombie(grandchild),
            "the grandchild was killed too")
    }

    func testDaemonHoldingOutputDoesNotDelayTheResult() throws {
        let started = Date()
        let result = try Subprocess("/bin/sh", ["-c", "(sleep 5 &) ; echo out; echo err >&2; exit 3"]).wait(timeout: 20)
        XCTAssertLessThan(Date().timeIntervalSince(started), 10)
        XCTAssertEqual(result.status, 3)
        XCTAssertEqual(result.stdout, "out\n")
        XCTAssertEqual(result.stderr, "err\n")
    }

    func testSignalledChildReportsTheSignalAsShellsDo() throws {
        let child = try Subprocess("/bin/sleep", ["30"])
        child.signal(SIGTERM)
        XCTAssertEqual(try child.wait(timeout: 10).status, 128 + SIGTERM)
    }

    private func isZombie(_ pid: Int32) -> Bool {
        ((try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? "").contains(") Z ")
    }
}

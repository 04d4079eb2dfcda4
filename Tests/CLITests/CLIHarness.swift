import Foundation
import XCTest
import _TestSupport

/// Runs the built `hpsweep` binary and checks how it reports errors.
struct CLI {
    typealias Result = Subprocess.Result

    /// The built `hpsweep` binary, beside this test bundle in the build products directory.
    var executable: URL {
        // On Linux the bundle URL is the products directory; on macOS it is the .xctest inside it.
        var products = Bundle(for: CLITests.self).bundleURL
        if products.pathExtension == "xctest" { products.deleteLastPathComponent() }
        return products.appendingPathComponent("hpsweep")
    }

    func run(_ arguments: String...) throws -> Result { try run(arguments) }

    /// Runs `hpsweep` to the end (killed, and the test failed, if it takes more than `timeout` seconds).
    func run(_ arguments: [String], timeout: TimeInterval = 600) throws -> Result {
        try start(arguments).wait(timeout: timeout)
    }

    /// Runs `hpsweep` with `environment` added to the test's environment and `unsetting` removed from it.
    func run(_ arguments: [String], environment: [String: String], unsetting: Set<String> = []) throws -> Result {
        try Subprocess(executable.path, arguments, environment: environment, unsetting: unsetting).wait(timeout: 120)
    }

    /// Starts `hpsweep` without waiting for it.
    func start(_ arguments: [String], mergeOutput: Bool = false) throws -> Subprocess {
        try Subprocess(executable.path, arguments, mergeOutput: mergeOutput)
    }

    func assertOneLineError(_ result: Result, status: Int32, containing texts: [String], line: UInt = #line) {
        XCTAssertEqual(result.status, status, result.stderr, line: line)
        let lines = result.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, "exactly one line on stderr: \(result.stderr)", line: line)
        XCTAssertTrue(result.stderr.hasPrefix("hpsweep: error: "), result.stderr, line: line)
        for text in texts {
            XCTAssertTrue(result.stderr.contains(text), "'\(text)' not in: \(result.stderr)", line: line)
        }
    }

}

extension XCTestCase {
    /// Polls `condition` every 2 ms (up to 120 s); false if the process ended first.
    func wait(for process: Subprocess, until condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline {
            if condition() { return true }
            if !process.isRunning { return false }
            usleep(2_000)
        }
        return false
    }

    /// Lines of the file at `path` that contain `text` (0 when it does not exist yet).
    func lines(_ path: String, containing text: String) -> Int {
        guard let data = FileManager.default.contents(atPath: path) else { return 0 }
        return String(decoding: data, as: UTF8.self).components(separatedBy: "\n").filter { $0.contains(text) }.count
    }

    /// Starts a process for each kill point and sends it SIGKILL once the point's condition holds;
    /// the names of the points reached before the process ended by itself.
    func kill(at points: [(String, () -> Bool)], start: () throws -> Subprocess) throws -> [String] {
        var killed: [String] = []
        for (name, condition) in points {
            let process = try start()
            if wait(for: process, until: condition), process.isRunning {
                process.signal(SIGKILL)
                killed.append(name)
            }
            try process.wait()
        }
        return killed
    }
}

/// The rows of `directory/leaderboard.csv` by column (the leaderboard quotes no field of these tests).
func leaderboardRows(_ directory: String) throws -> [[String: String]] {
    let rows = try String(contentsOfFile: directory + "/leaderboard.csv", encoding: .utf8).split(separator: "\n")
        .map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
    return rows.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(rows[0], $0)) }
}

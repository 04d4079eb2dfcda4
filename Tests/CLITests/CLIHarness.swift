import Foundation
import XCTest

/// Runs the built `hpsweep` binary and checks how it reports errors.
struct CLI {
    struct Result { let status: Int32; let stdout: String; let stderr: String }

    /// The built `hpsweep` binary, beside this test bundle in the build products directory.
    var executable: URL {
        // On Linux the bundle URL is the products directory; on macOS it is the .xctest inside it.
        var products = Bundle(for: CLITests.self).bundleURL
        if products.pathExtension == "xctest" { products.deleteLastPathComponent() }
        return products.appendingPathComponent("hpsweep")
    }

    func run(_ arguments: String...) throws -> Result { try run(arguments) }

    func run(_ arguments: [String]) throws -> Result {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                      stderr: String(decoding: stderr, as: UTF8.self))
    }

    func assertOneLineError(_ result: Result, status: Int32, containing texts: [String], line: UInt = #line) {
        XCTAssertEqual(result.status, status, result.stderr, line: line)
        let lines = result.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, "exactly one line on stderr: \(result.stderr)", line: line)
        XCTAssertTrue(result.stderr.hasPrefix("hpsweep: error: "), result.stderr, line: line)
        for text in texts { XCTAssertTrue(result.stderr.contains(text), "'\(text)' not in: \(result.stderr)", line: line) }
    }

}

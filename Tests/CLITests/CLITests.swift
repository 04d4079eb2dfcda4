import Foundation
import XCTest
import _TestSupport

/// The `hpsweep` executable as a user meets it: exit codes, one-line errors, help.
final class CLITests: XCTestCase {
    struct Result { let status: Int32; let stdout: String; let stderr: String }

    /// The built `hpsweep` binary, beside this test bundle in the build products directory.
    var executable: URL {
        // On Linux the bundle URL is the products directory; on macOS it is the .xctest inside it.
        var products = Bundle(for: CLITests.self).bundleURL
        if products.pathExtension == "xctest" { products.deleteLastPathComponent() }
        return products.appendingPathComponent("hpsweep")
    }

    func run(_ arguments: String...) throws -> Result {
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

    func testHelpListsCommands() throws {
        let result = try run("--help")
        XCTAssertEqual(result.status, 0)
        XCTAssertTrue(result.stdout.contains("bench backbone"))
        XCTAssertTrue(result.stdout.contains("inspect weights"))
        let commandHelp = try run("help", "bench", "backbone")
        XCTAssertEqual(commandHelp.status, 0)
        XCTAssertTrue(commandHelp.stdout.contains("--batch"))
        XCTAssertEqual(try run("bench", "backbone", "--help").stdout, commandHelp.stdout)
    }

    func testUnknownOptionSuggestsTheNearestOne() throws {
        assertOneLineError(try run("bench", "backbone", "--bach", "4"), status: 2,
                           containing: ["unknown option '--bach'", "did you mean '--batch'?"])
        assertOneLineError(try run("bench", "backbone", "--batch", "zero"), status: 2, containing: ["'--batch'", "positive integer"])
        assertOneLineError(try run("bench", "backbone", "--config", "vit-b61"), status: 2, containing: ["unknown ViT config", "vit-b16"])
        assertOneLineError(try run("bench", "backbone", "--batch"), status: 2, containing: ["needs a value"])
    }

    func testUnknownCommand() throws {
        assertOneLineError(try run("bench", "backbon"), status: 2, containing: ["unknown command", "did you mean 'bench backbone'?"])
    }

    func testInspectWeights() throws {
        let ok = try run("inspect", "weights", fixturePath("vit_micro_google.npz"))
        XCTAssertEqual(ok.status, 0, ok.stderr)
        XCTAssertTrue(ok.stdout.contains("google-npz convention"), ok.stdout)
        XCTAssertTrue(ok.stdout.contains("heads 4"), ok.stdout)
        let hf = try run("inspect", "weights", fixturePath("vit_micro_hf.safetensors"), "--heads", "4")
        XCTAssertTrue(hf.stdout.contains("huggingface convention"), hf.stdout)
    }

    func testBadWeightsFileIsOneLineNamingTheFile() throws {
        let dir = temporaryDirectory(self)
        let cut = dir.appendingPathComponent("cut.safetensors")
        let original = try Data(contentsOf: URL(fileURLWithPath: fixturePath("vit_micro_timm.safetensors")))
        try original.prefix(1000).write(to: cut)
        assertOneLineError(try run("inspect", "weights", cut.path), status: 1, containing: [cut.path, "truncated"])
        assertOneLineError(try run("inspect", "weights", "/nonexistent.safetensors"), status: 1, containing: ["/nonexistent.safetensors", "cannot open"])
    }

    func testBenchOnTinyConfig() throws {
        let result = try run("bench", "backbone", "--config", "vit-tiny-test", "--batch", "4", "--iterations", "1", "--threads", "2")
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("images/s"), result.stdout)
        XCTAssertTrue(result.stdout.contains("forward / sgemm:"), result.stdout)
        XCTAssertTrue(result.stdout.contains("sgemm 68×384×96"), result.stdout)
    }
}

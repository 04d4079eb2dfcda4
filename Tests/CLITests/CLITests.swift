import Foundation
import XCTest
import _TestSupport

/// The `hpsweep` executable as a user meets it: exit codes, one-line errors, help.
final class CLITests: XCTestCase {
    let cli = CLI()

    func testHelpListsCommands() throws {
        let result = try cli.run("--help")
        XCTAssertEqual(result.status, 0)
        XCTAssertTrue(result.stdout.contains("bench backbone"))
        XCTAssertTrue(result.stdout.contains("inspect weights"))
        let commandHelp = try cli.run("help", "bench", "backbone")
        XCTAssertEqual(commandHelp.status, 0)
        XCTAssertTrue(commandHelp.stdout.contains("--batch"))
        XCTAssertEqual(try cli.run("bench", "backbone", "--help").stdout, commandHelp.stdout)
    }

    func testUnknownOptionSuggestsTheNearestOne() throws {
        cli.assertOneLineError(
            try cli.run("bench", "backbone", "--bach", "4"), status: 2,
            containing: ["unknown option '--bach'", "did you mean '--batch'?"])
        cli.assertOneLineError(
            try cli.run("bench", "backbone", "--batch", "zero"), status: 2,
            containing: ["'--batch'", "positive integer"])
        cli.assertOneLineError(
            try cli.run("bench", "backbone", "--config", "vit-b61"), status: 2,
            containing: ["unknown ViT config", "vit-b16"])
        cli.assertOneLineError(try cli.run("bench", "backbone", "--batch"), status: 2, containing: ["needs a value"])
    }

    func testHelpOnlyWhereAnOptionMayStandAndDoubleDashEndsOptions() throws {
        let help = try cli.run("help", "inspect", "weights")
        // Help wins over a mistake elsewhere on the line.
        XCTAssertEqual(try cli.run("inspect", "weights", "--bogus", "--help").stdout, help.stdout)
        XCTAssertEqual(try cli.run("inspect", "weights", "x.npz", "-h").stdout, help.stdout)
        // As an option's value, -h is that value.
        cli.assertOneLineError(
            try cli.run("inspect", "weights", fixturePath("vit_micro_hf.safetensors"), "--heads", "-h"), status: 2,
            containing: ["option '--heads' needs a positive integer up to 1048576, got '-h'"])
        // After --, every word is positional: a file named --help.
        cli.assertOneLineError(
            try cli.run("inspect", "weights", "--", "--help"), status: 1, containing: ["--help", "cannot open"])
        cli.assertOneLineError(
            try cli.run("bench", "sidenet", "last", "--rank", "0"), status: 2,
            containing: ["option '--rank' needs a positive integer up to 1048576, got '0'"])
    }

    func testUnknownCommand() throws {
        cli.assertOneLineError(
            try cli.run("bench", "backbon"), status: 2,
            containing: ["unknown command", "did you mean 'bench backbone'?"])
    }

    func testInspectWeights() throws {
        let ok = try cli.run("inspect", "weights", fixturePath("vit_micro_google.npz"))
        XCTAssertEqual(ok.status, 0, ok.stderr)
        XCTAssertTrue(ok.stdout.contains("google-npz convention"), ok.stdout)
        XCTAssertTrue(ok.stdout.contains("heads 4"), ok.stdout)
        let hf = try cli.run("inspect", "weights", fixturePath("vit_micro_hf.safetensors"), "--heads", "4")
        XCTAssertTrue(hf.stdout.contains("huggingface convention"), hf.stdout)
    }

    func testBadWeightsFileIsOneLineNamingTheFile() throws {
        let dir = temporaryDirectory(self)
        let cut = dir.appendingPathComponent("cut.safetensors")
        let original = try Data(contentsOf: URL(fileURLWithPath: fixturePath("vit_micro_timm.safetensors")))
        try original.prefix(1000).write(to: cut)
        cli.assertOneLineError(
            try cli.run("inspect", "weights", cut.path), status: 1, containing: [cut.path, "truncated"])
        cli.assertOneLineError(
            try cli.run("inspect", "weights", "/nonexistent.safetensors"), status: 1,
            containing: ["/nonexistent.safetensors", "cannot open"])
    }

    func testBenchOnTinyConfig() throws {
        let result = try cli.run(
            "bench", "backbone", "--config", "vit-tiny-test", "--batch", "4", "--iterations", "1", "--threads", "2")
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("images/s"), result.stdout)
        XCTAssertTrue(result.stdout.contains("forward / sgemm:"), result.stdout)
        XCTAssertTrue(result.stdout.contains("sgemm 68×384×96"), result.stdout)
    }
}

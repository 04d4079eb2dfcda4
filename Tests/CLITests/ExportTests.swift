import Foundation
import XCTest
import _TestSupport

/// `hpsweep export --optuna`: the file is Optuna's journal format; where Python with Optuna is
/// installed, scripts/check_optuna_export.py loads it with Optuna itself and checks it against the
/// leaderboard (skipped, saying so, elsewhere: the tests need no Python).
final class ExportTests: XCTestCase {
    let cli = CLI()

    func testOptunaExport() throws {
        let dir = temporaryDirectory(self)
        let sweep = try writeSmallSweep(in: dir, epochs: 3)
        XCTAssertEqual(try cli.run("run", sweep, "--results", dir.path + "/results").status, 0)
        let out = dir.appendingPathComponent("optuna.log").path
        let export = try cli.run("export", "--optuna", dir.path + "/results/small", out)
        XCTAssertEqual(export.status, 0, export.stderr)
        let lines = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n").map {
            try XCTUnwrap(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        XCTAssertEqual(lines.first?["op_code"] as? Int, 0, "CREATE_STUDY first")
        XCTAssertEqual(lines.first?["directions"] as? [Int], [2, 1], "maximize val_acc, minimize params")
        XCTAssertEqual(lines.dropFirst().count, 8)
        XCTAssertTrue(lines.dropFirst().allSatisfy { $0["op_code"] as? Int == 4 && $0["study_id"] as? Int == 0 })
        let complete = lines.filter { $0["state"] as? Int == 1 }
        XCTAssertFalse(complete.isEmpty)
        XCTAssertTrue(complete.allSatisfy { ($0["values"] as? [Double])?.count == 2 })
        cli.assertOneLineError(try cli.run("export", dir.path + "/results/small", out), status: 2, containing: ["--optuna"])

        guard try Subprocess("python3", ["-c", "import optuna"]).wait(timeout: 120).status == 0 else { throw XCTSkip("Python with Optuna is not installed: the export was checked for format only") }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/check_optuna_export.py").path
        let check = try Subprocess("python3", [script, dir.path + "/results/small", out], mergeOutput: true).wait(timeout: 300)
        let output = check.stdout
        XCTAssertEqual(check.status, 0, output)
        XCTAssertTrue(output.contains("every trial, state, parameter and value matches"), output)
    }
}

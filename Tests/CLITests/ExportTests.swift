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
        // The declared distributions of each trial's method (the small sweep: lr loguniform [0.001, 0.03],
        // last rank choice [4, 8], lst reduction choice [4, 8]), not the ranges the trials happened to span.
        for trial in lines.dropFirst() {
            let method = (trial["user_attrs"] as? [String: Any])?["method"] as? String ?? ""
            let distributions = try XCTUnwrap(trial["distributions"] as? [String: String]).mapValues {
                try XCTUnwrap(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
            }
            let lr = try XCTUnwrap(distributions["lr"]?["attributes"] as? [String: Any], method)
            XCTAssertEqual(distributions["lr"]?["name"] as? String, "FloatDistribution")
            XCTAssertEqual(lr["low"] as? Double, 0.001)
            XCTAssertEqual(lr["high"] as? Double, 0.03)
            XCTAssertEqual(lr["log"] as? Bool, true)
            let size = ["last": "rank", "lst": "reduction", "adapter": "bottleneck"][method]
            if let size {
                XCTAssertEqual(distributions[size]?["name"] as? String, "CategoricalDistribution", method)
                XCTAssertEqual(
                    (distributions[size]?["attributes"] as? [String: Any])?["choices"] as? [Int],
                    size == "bottleneck" ? [8, 16] : [4, 8], method)
            }
            XCTAssertEqual(
                Set(distributions.keys), Set(["method", "lr"] + (size.map { [$0] } ?? [])),
                "\(method): only what its space searches")
        }
        // Accuracies as the leaderboard prints them: float32's shortest decimal, not its binary expansion.
        for trial in complete {
            let accuracy = try XCTUnwrap((trial["values"] as? [Double])?.first)
            XCTAssertEqual(accuracy, Double("\(Float(accuracy))"), "no float32 expansion such as 0.9100000262260437")
        }
        cli.assertOneLineError(
            try cli.run("export", dir.path + "/results/small", out), status: 2, containing: ["--optuna"])

        guard try Subprocess("python3", ["-c", "import optuna"]).wait(timeout: 120).status == 0 else {
            throw XCTSkip("Python with Optuna is not installed: the export was checked for format only")
        }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
            .appendingPathComponent("scripts/check_optuna_export.py").path
        let check = try Subprocess("python3", [script, dir.path + "/results/small", out], mergeOutput: true).wait(
            timeout: 300)
        let output = check.stdout
        XCTAssertEqual(check.status, 0, output)
        XCTAssertTrue(output.contains("every trial, state, parameter and value matches"), output)
    }
}

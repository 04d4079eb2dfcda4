import Foundation
import SideTuning
import Sweep
import XCTest
import _TestSupport

/// The VTAB-1k table against a hand computation: per-task best configurations, group means, the mean
/// of group means and the mean over tasks, and nothing averaged over an incomplete table.
final class SuiteTableTests: XCTestCase {
    func testMeansMatchAHandComputation() throws {
        let dir = temporaryDirectory(self)
        // Task k's final test accuracy for linear is (k + 1)% (best val_acc row); a worse-by-val row has 99%.
        for (k, task) in VTABTask.all.enumerated() {
            var best = trial("t\(k)a", "linear", seed: 0, acc: 0.9, params: 1000 * (k + 1), ["lr": "0.01"])
            best["test_acc"] = String(Double(k + 1) / 100)
            var worse = trial("t\(k)b", "linear", seed: 0, acc: 0.5, params: 7, ["lr": "0.1"])
            worse["test_acc"] = "0.99"
            _ = try writeLeaderboard([best, worse], in: dir, name: k == 0 ? "cifar100" : task.name, objectives: ["val_acc", "params"])
        }
        let table = try SuiteTable(directory: dir.path)
        let row = try XCTUnwrap(table.rows.first { $0.method == "linear" })
        XCTAssertEqual(row.accuracy["cifar"] ?? -1, 1, accuracy: 1e-9, "the alias folder cifar100 is cifar")
        // Natural: tasks 1…7 → mean 4; Specialized: 8…11 → 9.5; Structured: 12…19 → 15.5.
        XCTAssertEqual(table.groupMean(row, "Natural") ?? -1, 4, accuracy: 1e-9)
        XCTAssertEqual(table.groupMean(row, "Specialized") ?? -1, 9.5, accuracy: 1e-9)
        XCTAssertEqual(table.groupMean(row, "Structured") ?? -1, 15.5, accuracy: 1e-9)
        XCTAssertEqual(table.meanOfGroups(row) ?? -1, (4 + 9.5 + 15.5) / 3, accuracy: 1e-9)
        XCTAssertEqual(table.meanOfTasks(row) ?? -1, 10, accuracy: 1e-9, "1…19 → 10")
        XCTAssertEqual(row.paramsMillions ?? -1, 0.01, accuracy: 1e-12, "mean of 1000…19000 parameters")
        XCTAssertTrue(table.unfinished.isEmpty)
        XCTAssertTrue(table.markdown.contains("| 4.0 | 9.5 | 15.5 | 9.7 | 10.0 | 0.010 |"), table.markdown)

        // One task without a final score: its cell and every mean that needs it are "–", the others stay.
        try FileManager.default.removeItem(at: dir.appendingPathComponent("kitti"))
        let partial = try SuiteTable(directory: dir.path)
        let p = try XCTUnwrap(partial.rows.first)
        XCTAssertNil(partial.groupMean(p, "Structured"))
        XCTAssertNil(partial.meanOfGroups(p))
        XCTAssertNil(partial.meanOfTasks(p))
        XCTAssertEqual(partial.groupMean(p, "Natural") ?? -1, 4, accuracy: 1e-9)
        XCTAssertEqual(partial.unfinished, ["kitti"])
    }
}

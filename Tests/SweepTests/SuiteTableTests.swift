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
            _ = try writeLeaderboard(
                [best, worse], in: dir, name: k == 0 ? "cifar100" : task.name, objectives: ["val_acc", "params"])
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

    /// A suite of one's own tasks (its manifest names them and their groups), why a cell is –, and two
    /// suites compared task by task against a hand computation.
    func testOwnTasksGapsAndASuiteComparison() throws {
        let root = temporaryDirectory(self)
        let tasks = [
            SuiteTask(name: "a", classes: 2, group: "g1"), SuiteTask(name: "b", classes: 3, group: "g1"),
            SuiteTask(name: "c", classes: 4, group: "g2"), SuiteTask(name: "d", classes: 5, group: "g2"),
        ]
        func suite(_ name: String, _ accuracies: [Double]) throws -> String {
            let dir = root.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try SuiteManifest(suite: name, vtab1k: false, tasks: tasks).write(directory: dir.path)
            for (task, accuracy) in zip(tasks, accuracies) {
                var best = trial("\(task.name)1", "linear", seed: 0, acc: 0.9, params: 100, ["lr": "0.01"])
                best["test_acc"] = String(accuracy / 100)
                var pruned = trial(
                    "\(task.name)2", "adapter", seed: 0, acc: 0.4, params: 500, ["lr": "0.01", "bottleneck": "8"])
                pruned["status"] = "pruned"
                _ = try writeLeaderboard([best, pruned], in: dir, name: task.name, objectives: ["val_acc", "params"])
            }
            return dir.path
        }
        let first = try SuiteTable(directory: try suite("first", [60, 70, 80, 90]))
        XCTAssertEqual(first.tasks.map(\.name), ["a", "b", "c", "d"])
        XCTAssertEqual(first.groups, ["g1", "g2"])
        XCTAssertTrue(
            first.csv.hasPrefix("method,a,b,c,d,g1 mean,g2 mean,mean of group means,mean over tasks,params (M)\n"),
            first.csv)
        let linear = try XCTUnwrap(first.rows.first { $0.method == "linear" })
        XCTAssertEqual(first.groupMean(linear, "g1") ?? -1, 65, accuracy: 1e-9)
        XCTAssertEqual(first.meanOfGroups(linear) ?? -1, 75, accuracy: 1e-9)
        XCTAssertEqual(
            first.gapNotes, ["adapter: no trial trained to the end (all pruned, failed or rejected) on every task"])

        // The second suite: +2, +4, +6, +8 points; d not run yet.
        let secondDir = try suite("second", [62, 74, 86, 98])
        try FileManager.default.removeItem(atPath: secondDir + "/d")
        let comparison = SuiteComparison(tables: [first, try SuiteTable(directory: secondDir)])
        let rows = comparison.aligned.rows.filter { $0[0] == "linear" }
        XCTAssertEqual(
            rows.map { $0[1] }, ["a", "b", "c", "d", "g1 mean", "g2 mean", "mean of group means", "mean over tasks"])
        XCTAssertEqual(rows[0], ["linear", "a", "60.0", "62.0", "+2.0"])
        XCTAssertEqual(rows[3], ["linear", "d", "90.0", "", ""], "a task not run in one suite has no difference")
        XCTAssertEqual(rows[4], ["linear", "g1 mean", "65.0", "68.0", "+3.0"])
        XCTAssertEqual(rows[5], ["linear", "g2 mean", "85.0", "", ""])
        // Differences 2, 4, 6 over the three shared tasks: mean 4, sd 2, t = 4 / (2 / √3).
        let (shared, test) = comparison.test(method: "linear", against: 1)
        XCTAssertEqual(shared, 3)
        XCTAssertEqual(test?.meanDifference ?? 0, 4, accuracy: 1e-9)
        XCTAssertEqual(test?.t ?? 0, 4 / (2 / 3.0.squareRoot()), accuracy: 1e-9)
    }
}

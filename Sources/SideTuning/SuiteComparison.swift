import Foundation
import Sweep

/// Two or more suites' tables side by side (`hpsweep compare results/suiteA results/suiteB`): for each
/// method and task, the test accuracy in each suite and its difference from the first; the same for
/// the group means and both overall means; and, per method, a paired t-test over the tasks both scored
/// (is the change consistent across tasks, or one task's noise?).
public struct SuiteComparison {
    public let tables: [SuiteTable]
    /// Every task of any table, in the first table's order, then the others' new ones.
    public let tasks: [SuiteTask]
    public let methods: [String]

    public init(tables: [SuiteTable]) {
        self.tables = tables
        var tasks: [SuiteTask] = []
        for table in tables {
            for task in table.tasks where !tasks.contains(where: { $0.name == task.name }) { tasks.append(task) }
        }
        self.tasks = tasks
        var methods: [String] = []
        for table in tables { for row in table.rows where !methods.contains(row.method) { methods.append(row.method) } }
        self.methods = methods
    }

    func row(_ table: Int, _ method: String) -> SuiteTable.Row? { tables[table].rows.first { $0.method == method } }

    /// Per method: [2] vs [1] (and so on) over the tasks both scored.
    public func test(method: String, against table: Int) -> (tasks: Int, test: Statistics.TTest?) {
        guard let a = row(0, method), let b = row(table, method) else { return (0, nil) }
        let shared = tasks.map(\.name).filter { a.accuracy[$0] != nil && b.accuracy[$0] != nil }
        return (shared.count, Statistics.pairedTTest(shared.map { a.accuracy[$0]! }, shared.map { b.accuracy[$0]! }))
    }

    /// The aligned table: one row per method and task (then its means), a column per suite and a
    /// difference column per suite after the first ("" where unknown).
    public var aligned: (header: [String], rows: [[String]]) {
        var header = ["method", "task"] + tables.indices.map { "test_acc [\($0 + 1)]" }
        header += tables.indices.dropFirst().map { "delta [\($0 + 1)]-[1]" }
        func text(_ x: Double?) -> String { x.map { String(format: "%.1f", $0) } ?? "" }
        func delta(_ x: Double?) -> String { x.map { String(format: "%+.1f", $0) } ?? "" }
        var rows: [[String]] = []
        for method in methods {
            var lines: [(String, [Double?])] = tasks.map { task in
                (task.name, tables.indices.map { row($0, method)?.accuracy[task.name] })
            }
            var groups: [String] = []
            for table in tables { for group in table.groups where !groups.contains(group) { groups.append(group) } }
            lines += groups.map { group in
                ("\(group) mean", tables.indices.map { t in row(t, method).flatMap { tables[t].groupMean($0, group) } })
            }
            lines.append(
                (
                    "mean of group means",
                    tables.indices.map { t in row(t, method).flatMap { tables[t].meanOfGroups($0) } }
                ))
            lines.append(
                ("mean over tasks", tables.indices.map { t in row(t, method).flatMap { tables[t].meanOfTasks($0) } }))
            for (name, values) in lines {
                let deltas = values.indices.dropFirst().map { k in values[k].flatMap { b in values[0].map { b - $0 } } }
                rows.append([method, name] + values.map(text) + deltas.map(delta))
            }
        }
        return (header, rows)
    }
}

import Foundation
import Sweep

/// The paper's VTAB-1k table from a suite's results (`results/<suite>/<task>/leaderboard.csv`): for
/// each method, the test accuracy (%) of its best configuration (by the sweep's primary objective,
/// retrained on the final train split: the final phase's score) on every task, the three group
/// means, the mean of the group means and the mean over tasks (papers report either; both are labelled),
/// and the trainable parameters (millions, the mean over tasks: heads differ with the class count).
/// A task without a final score is marked "–", and a mean that would need it is "–" too (never an
/// average over fewer tasks presented as the whole).
public struct SuiteTable {
    public struct Row {
        public let method: String
        /// Test accuracy (%) by task name; absent where the task has no final score.
        public let accuracy: [String: Double]
        public let paramsMillions: Double?
    }

    public let directory: String
    public let tasks: [VTABTask]
    public let rows: [Row]

    /// Reads every task folder under `directory` that holds a leaderboard (VTAB-1k tasks, by name or alias).
    public init(directory: String) throws {
        self.directory = directory
        let folders = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        var boards: [String: LeaderboardFile] = [:]
        for folder in folders.sorted() {
            let path = (directory as NSString).appendingPathComponent("\(folder)/leaderboard.csv")
            guard let task = VTABTask.named(folder), FileManager.default.fileExists(atPath: path) else { continue }
            boards[task.name] = try LeaderboardFile(path: path, catalogue: SideTuningCatalogue.catalogue)
        }
        guard !boards.isEmpty else {
            throw CompareError(path: directory, message: "no VTAB-1k task results under it (expected <task>/leaderboard.csv, as 'hpsweep run SUITE.json' writes)")
        }
        tasks = VTABTask.all
        let methods = Set(boards.values.flatMap { $0.rows.map { $0.value("method") } }).sorted()
        rows = methods.map { method in
            var accuracy: [String: Double] = [:], params: [Double] = []
            for (task, board) in boards {
                let primary = board.objectives?.first ?? SearchSpec.Objective(metric: .valAccuracy, direction: .maximize)
                let scored = board.rows.filter { $0.value("method") == method && $0.number("test_acc") != nil && $0.number(primary.name) != nil }
                let sign = primary.direction == .maximize ? -1.0 : 1.0
                guard let best = scored.min(by: { (sign * $0.number(primary.name)!, $0.value("trial")) < (sign * $1.number(primary.name)!, $1.value("trial")) }) else { continue }
                accuracy[task] = 100 * best.number("test_acc")!
                if let p = best.number("params") { params.append(p) }
            }
            return Row(method: method, accuracy: accuracy, paramsMillions: params.isEmpty ? nil : params.reduce(0, +) / Double(params.count) / 1e6)
        }
    }

    /// The mean over `tasks`, or nil when one of them has no score.
    static func mean(_ row: Row, _ tasks: [VTABTask]) -> Double? {
        let values = tasks.compactMap { row.accuracy[$0.name] }
        return values.count == tasks.count && !values.isEmpty ? values.reduce(0, +) / Double(values.count) : nil
    }

    public func groupMean(_ row: Row, _ group: VTABTask.Group) -> Double? { Self.mean(row, tasks.filter { $0.group == group }) }
    public func meanOfGroups(_ row: Row) -> Double? {
        let means = VTABTask.Group.allCases.compactMap { groupMean(row, $0) }
        return means.count == 3 ? means.reduce(0, +) / 3 : nil
    }
    public func meanOfTasks(_ row: Row) -> Double? { Self.mean(row, tasks) }

    /// Header and cells, one array per row ("–" where unknown).
    public var cells: (header: [String], rows: [[String]]) {
        var header = ["method"] + tasks.map(\.name)
        header += VTABTask.Group.allCases.map { "\($0.rawValue) mean" } + ["mean of group means", "mean over tasks", "params (M)"]
        func text(_ x: Double?, _ digits: Int = 1) -> String { x.map { String(format: "%.\(digits)f", $0) } ?? "–" }
        let body = rows.map { row -> [String] in
            [row.method] + tasks.map { text(row.accuracy[$0.name]) } + VTABTask.Group.allCases.map { text(groupMean(row, $0)) }
                + [text(meanOfGroups(row)), text(meanOfTasks(row)), text(row.paramsMillions, 3)]
        }
        return (header, body)
    }

    /// Tasks without a final score for some method (what keeps a mean from being shown).
    public var unfinished: [String] {
        tasks.map(\.name).filter { task in rows.contains { $0.accuracy[task] == nil } }
    }

    public var csv: String {
        let (header, body) = cells
        return ([header] + body).map { $0.map(csvField).joined(separator: ",") }.joined(separator: "\n") + "\n"
    }

    public var markdown: String {
        let (header, body) = cells
        var lines = ["| " + header.joined(separator: " | ") + " |", "|" + header.map { _ in "---" }.joined(separator: "|") + "|"]
        lines += body.map { "| " + $0.joined(separator: " | ") + " |" }
        return lines.joined(separator: "\n") + "\n"
    }

    public var latex: String {
        let (header, body) = cells
        let escape = { (s: String) in s.replacingOccurrences(of: "_", with: "\\_").replacingOccurrences(of: "–", with: "--") }
        var lines = ["\\begin{tabular}{l" + String(repeating: "r", count: header.count - 1) + "}", "\\toprule"]
        lines.append(header.map(escape).joined(separator: " & ") + " \\\\")
        lines.append("\\midrule")
        lines += body.map { $0.map(escape).joined(separator: " & ") + " \\\\" }
        lines += ["\\bottomrule", "\\end{tabular}"]
        return lines.joined(separator: "\n") + "\n"
    }
}

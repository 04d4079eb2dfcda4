import Foundation
import Sweep

/// The paper's VTAB-1k table (or a suite's own) from a suite's results (`results/<suite>/<task>/leaderboard.csv`): for
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
        /// Why a task has no score, by task name (Gap).
        public let gaps: [String: Gap]
        public let paramsMillions: Double?
    }

    /// Why a cell is "–".
    public enum Gap: String, CaseIterable {
        case notRun = "not run yet"
        case unfinished = "search or final phase not finished"
        case allPruned = "no trial trained to the end (all pruned, failed or rejected)"
        case notSearched = "method not in the task's sweep"
    }

    public let directory: String
    /// The columns: VTAB-1k's 19 tasks, or a suite's own tasks (its manifest, suite-manifest.json).
    public let tasks: [SuiteTask]
    /// The tasks' groups in column order (each averaged, then the mean of these means).
    public let groups: [String]
    public let rows: [Row]

    /// Reads every task folder under `directory` that holds a leaderboard: the tasks of the suite's
    /// manifest (results/<suite>/suite-manifest.json), or without one VTAB-1k's (by name or alias).
    public init(directory: String) throws {
        self.directory = directory
        let manifest = try SuiteManifest.read(directory: directory)
        let tasks = manifest.flatMap { $0.vtab1k ? nil : $0.tasks } ?? VTABTask.all.map(SuiteTask.init)
        self.tasks = tasks
        var groups: [String] = []
        for case let group? in tasks.map(\.group) where !groups.contains(group) { groups.append(group) }
        self.groups = groups
        var boards: [String: LeaderboardFile] = [:]
        for task in tasks {
            for folder in [task.name] + task.aliases {
                let path = (directory as NSString).appendingPathComponent("\(folder)/leaderboard.csv")
                if FileManager.default.fileExists(atPath: path) {
                    boards[task.name] = try LeaderboardFile(path: path, catalogue: SideTuningCatalogue.catalogue); break
                }
            }
        }
        guard !boards.isEmpty else {
            throw CompareError(
                path: directory,
                message: manifest == nil
                    ? "no VTAB-1k task results under it (expected <task>/leaderboard.csv, as 'hpsweep run SUITE.json' writes)"
                    : "none of the suite's tasks has results yet (expected <task>/leaderboard.csv)")
        }
        let methods = Set(boards.values.flatMap { $0.rows.map { $0.value("method") } }).sorted()
        rows = methods.map { method in
            var accuracy: [String: Double] = [:], gaps: [String: Gap] = [:], params: [Double] = []
            for task in tasks {
                guard let board = boards[task.name] else { gaps[task.name] = .notRun; continue }
                let primary =
                    board.objectives?.first ?? SearchSpec.Objective(metric: .valAccuracy, direction: .maximize)
                let own = board.rows.filter { $0.value("method") == method }
                let scored = own.filter { $0.number("test_acc") != nil && $0.number(primary.name) != nil }
                let sign = primary.direction == .maximize ? -1.0 : 1.0
                guard
                    let best = scored.min(by: {
                        (sign * $0.number(primary.name)!, $0.value("trial")) < (
                            sign * $1.number(primary.name)!, $1.value("trial")
                        )
                    })
                else {
                    let finished = own.contains { $0.value("status") == "finished" }
                    let running = own.contains { ["planned", "paused"].contains($0.value("status")) }
                    gaps[task.name] = own.isEmpty ? .notSearched : finished || running ? .unfinished : .allPruned
                    continue
                }
                accuracy[task.name] = 100 * best.number("test_acc")!
                if let p = best.number("params") { params.append(p) }
            }
            return Row(
                method: method, accuracy: accuracy, gaps: gaps,
                paramsMillions: params.isEmpty ? nil : params.reduce(0, +) / Double(params.count) / 1e6)
        }
    }

    /// The mean over `tasks`, or nil when one of them has no score.
    static func mean(_ row: Row, _ tasks: [SuiteTask]) -> Double? {
        let values = tasks.compactMap { row.accuracy[$0.name] }
        return values.count == tasks.count && !values.isEmpty ? values.reduce(0, +) / Double(values.count) : nil
    }

    public func groupMean(_ row: Row, _ group: String) -> Double? { Self.mean(row, tasks.filter { $0.group == group }) }
    /// The mean of the group means (nil when a task has no group, or a group mean is unknown).
    public func meanOfGroups(_ row: Row) -> Double? {
        guard !groups.isEmpty, tasks.allSatisfy({ $0.group != nil }) else { return nil }
        let means = groups.compactMap { groupMean(row, $0) }
        return means.count == groups.count ? means.reduce(0, +) / Double(means.count) : nil
    }
    public func meanOfTasks(_ row: Row) -> Double? { Self.mean(row, tasks) }

    /// Header and cells, one array per row ("–" where unknown).
    public var cells: (header: [String], rows: [[String]]) {
        var header = ["method"] + tasks.map(\.name)
        header += groups.map { "\($0) mean" } + ["mean of group means", "mean over tasks", "params (M)"]
        func text(_ x: Double?, _ digits: Int = 1) -> String { x.map { String(format: "%.\(digits)f", $0) } ?? "–" }
        let body = rows.map { row -> [String] in
            [row.method] + tasks.map { text(row.accuracy[$0.name]) } + groups.map { text(groupMean(row, $0)) }
                + [text(meanOfGroups(row)), text(meanOfTasks(row)), text(row.paramsMillions, 3)]
        }
        return (header, body)
    }

    /// Tasks without a final score for some method (what keeps a mean from being shown).
    public var unfinished: [String] {
        tasks.map(\.name).filter { task in rows.contains { $0.accuracy[task] == nil } }
    }

    /// One line per method and reason for its "–" cells ("adapter: no trial trained to the end … on digits, dtd").
    public var gapNotes: [String] {
        rows.flatMap { row in
            Gap.allCases.compactMap { gap in
                let names = tasks.map(\.name).filter { row.gaps[$0] == gap }
                return names.isEmpty
                    ? nil
                    : "\(row.method): \(gap.rawValue) on \(names.count == tasks.count && tasks.count > 3 ? "every task" : names.joined(separator: ", "))"
            }
        }
    }

    public var csv: String {
        let (header, body) = cells
        return ([header] + body).map { $0.map(csvField).joined(separator: ",") }.joined(separator: "\n") + "\n"
    }

    public var markdown: String {
        let (header, body) = cells
        var lines = [
            "| " + header.joined(separator: " | ") + " |", "|" + header.map { _ in "---" }.joined(separator: "|") + "|",
        ]
        lines += body.map { "| " + $0.joined(separator: " | ") + " |" }
        return lines.joined(separator: "\n") + "\n"
    }

    public var latex: String {
        let (header, body) = cells
        let escape = { (s: String) in
            s.replacingOccurrences(of: "_", with: "\\_").replacingOccurrences(of: "–", with: "--")
        }
        var lines = ["\\begin{tabular}{l" + String(repeating: "r", count: header.count - 1) + "}", "\\toprule"]
        lines.append(header.map(escape).joined(separator: " & ") + " \\\\")
        lines.append("\\midrule")
        lines += body.map { $0.map(escape).joined(separator: " & ") + " \\\\" }
        lines += ["\\bottomrule", "\\end{tabular}"]
        return lines.joined(separator: "\n") + "\n"
    }
}

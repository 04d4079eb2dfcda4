import Essentials
import Foundation
import SideTuning
import Sweep

/// `hpsweep report results/<name> [--compare results/<other> …]`: one self-contained HTML file.
enum ReportCommand: Command {
    static let compare = Option<String>.text(
        "compare", "DIRS",
        help: "Other results directories to set beside it (comma-separated, or repeat the positional).")
    static let output = Option<String>.text(
        "output", "FILE", help: "Where to write the HTML (default RESULTS_DIR/report.html).")
    static let path = ["report"]
    static let summary =
        "Write a self-contained HTML report of a sweep (Pareto fronts, sensitivity, learning curves, leaderboard)."
    static let usage = "RESULTS_DIR [--compare RESULTS_DIR …] [--output FILE]"
    static let options = [
        compare.spec,
        output.spec,
    ]

    static func run(_ arguments: ParsedArguments) throws {
        guard !arguments.positionals.isEmpty else {
            throw UsageError("'\(displayName)' needs a results directory (results/<name>)")
        }
        let others = arguments[ReportCommand.compare].map { $0.split(separator: ",").map(String.init) } ?? []
        let directories = arguments.positionals + others
        let output =
            arguments[ReportCommand.output] ?? (directories[0] as NSString).appendingPathComponent("report.html")
        try ProtectedPaths.checkWritable(output, option: "--output")
        let report = try SweepReport(directories: directories, catalogue: SideTuningCatalogue.catalogue)
        try ProtectedPaths.checkWritable(output, option: "--output", inputs: report.inputs)
        let html = report.html()
        do { try replaceAtomically(output, with: html) } catch { throw FileProblem("cannot write \(output): \(error)") }
        print(
            "report: \(output) (\(html.utf8.count / 1024) KiB, \(directories.count) sweep\(directories.count == 1 ? "" : "s"); open it in any browser, offline)"
        )
    }
}

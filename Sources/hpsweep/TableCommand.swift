import Essentials
import Foundation
import SideTuning
import Sweep

/// `hpsweep table results/<suite>`: the VTAB-1k table of a suite's results.
enum TableCommand: Command {
    static let path = ["table"]
    static let summary =
        "The paper's VTAB-1k table of a suite (per task, group means, both overall means, params): printed, and written as table.csv, table.md, table.tex."
    static let usage = "RESULTS_DIR"
    static let options: [OptionSpec] = []

    static func run(_ arguments: ParsedArguments) throws {
        guard arguments.positionals.count == 1 else {
            throw UsageError("'\(displayName)' needs one suite results directory; usage: \(displayName) \(usage)")
        }
        let directory = arguments.positionals[0]
        let table = try SuiteTable(directory: directory)
        print(table.markdown, terminator: "")
        let notes = table.gapNotes
        if !notes.isEmpty {
            print("marked –, and so are the means that need them:")
            for note in notes { print("  " + note) }
        }
        for (name, text) in [("table.csv", table.csv), ("table.md", table.markdown), ("table.tex", table.latex)] {
            let path = (directory as NSString).appendingPathComponent(name)
            do { try replaceAtomically(path, with: text) } catch { throw FileProblem("cannot write \(path): \(error)") }
        }
        print("written: \(directory)/table.csv, table.md, table.tex")
    }
}

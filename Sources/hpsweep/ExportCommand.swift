import Essentials
import Foundation
import SideTuning
import Sweep

/// `hpsweep export --optuna results/<name> OUT.log`: the sweep as an Optuna journal file.
enum ExportCommand: Command {
    static let optuna = Flag("optuna", help: "Write Optuna's JournalStorage format (JSON lines with its op codes).")
    static let path = ["export"]
    static let summary =
        "Export a sweep for other tools: --optuna writes an Optuna journal-storage file (optuna-dashboard opens it)."
    static let usage = "--optuna RESULTS_DIR OUT.log"
    static let options = [optuna.spec]

    static func run(_ arguments: ParsedArguments) throws {
        guard arguments.isSet(ExportCommand.optuna) else {
            throw UsageError("'\(displayName)' needs a format: --optuna (the only one so far)")
        }
        guard arguments.positionals.count == 2 else { throw UsageError("usage: \(displayName) \(usage)") }
        let (directory, output) = (arguments.positionals[0], arguments.positionals[1])
        try ProtectedPaths.checkWritable(output, option: "export")
        let state = try loadState(directory)
        let name = state.sweepName ?? (directory as NSString).lastPathComponent
        // The spaces the sweep file declared (its latest revision, as the journal recorded it).
        let search = state.spec.flatMap { spec -> SearchSpec? in
            var reader = SpecReader(file: SweepRunner.journalPath(directory), path: "$", object: spec)
            return try? SearchSpec.parse(&reader, catalogue: SideTuningCatalogue.catalogue)
        }
        let lines = try OptunaExport.lines(
            state: state, studyName: name, catalogue: SideTuningCatalogue.catalogue, search: search)
        do { try replaceAtomically(output, with: lines.joined(separator: "\n") + "\n") } catch {
            throw FileProblem("cannot write \(output): \(error)")
        }
        print("\(output): Optuna journal with study '\(name)', \(lines.count - 1) trials")
        print(
            "  open it: optuna-dashboard \(output)   or in Python: optuna.load_study(study_name=\"\(name)\", storage=optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(\"\(output)\")))"
        )
    }
}

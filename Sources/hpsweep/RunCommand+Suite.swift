import Foundation
import SideTuning
import Sweep

extension RunCommand {
    /// `run` of a suite: its tasks in order (or the one --task names), each an ordinary sweep under
    /// results/<suite>/<task>/, warm-started from the tasks before it when the file asks.
    static func runSuite(_ file: String, resultsRoot root: String, _ arguments: ParsedArguments) throws {
        let suite = try SuiteSpec.load(file)
        var tasks = suite.tasks
        if let chosen = arguments[RunCommand.task] {
            let index = Int(chosen)
            guard
                let task = tasks.enumerated().first(where: {
                    $0.offset == index || $0.element.task.name == chosen || $0.element.task.aliases.contains(chosen)
                })
            else {
                throw UsageError(
                    "--task \(chosen): not a task of \(file) (give a name or an index 0…\(tasks.count - 1): \(tasks.map(\.task.name).joined(separator: ", ")))"
                )
            }
            tasks = [task.element]
        }
        // Whether the caches of the tasks to run will all fit (each task's build still refuses its own).
        if tasks.count > 1 {
            ValidateCommand.printSuiteSpace(
                try ValidateCommand.cachesToBuild(tasks.map(\.spec), root: arguments[CacheOptions.cacheDir]))
        }
        let suiteRoot = (root as NSString).appendingPathComponent(suite.name)
        try FileManager.default.createDirectory(atPath: suiteRoot, withIntermediateDirectories: true)
        try suite.manifest.write(directory: suiteRoot)
        for (k, task) in tasks.enumerated() {
            print(
                "suite \(suite.name): task \(k + 1)/\(tasks.count), \(task.task.name) (\(task.task.group.map { "\($0), " } ?? "")\(task.task.classes) classes)"
            )
            // "previous_tasks": the suite's tasks before this one (in the file's order) that have results.
            let earlier = suite.tasks.prefix { $0.task.name != task.task.name }.map {
                (suiteRoot as NSString).appendingPathComponent($0.task.name)
            }
            try runSweep(
                task.spec, resultsRoot: suiteRoot, warmStartFrom: try warmStartDirectories(task.spec, earlier: earlier),
                arguments)
        }
    }

    /// The earlier sweeps' directories a sweep's `warm_start` names: as listed (each must hold a
    /// journal), or the suite's `earlier` tasks that have begun.
    static func warmStartDirectories(_ spec: SweepSpec, earlier: [String]) throws -> [String] {
        switch spec.search?.warmStart {
        case nil: return []
        case .previousTasks: return earlier.filter { !Journal.files(in: $0).isEmpty }
        case .sweeps(let paths):
            for path in paths where Journal.files(in: path).isEmpty {
                throw SpecError(
                    file: spec.file, path: "$.warm_start",
                    message: "\(path) is not a sweep's results directory (no journal.jsonl there)")
            }
            return paths
        }
    }
}

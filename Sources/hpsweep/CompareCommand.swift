import Essentials
import Foundation
import SideTuning
import Sweep

/// `hpsweep compare A.csv B.csv …`: leaderboards side by side, aligned by configuration; or suites'
/// tables task by task (`hpsweep compare results/suiteA results/suiteB`).
enum CompareCommand: Command {
    static let objectives = Option<String>.text(
        "objectives", "LIST",
        help: "Metrics to compare on, e.g. val_acc,params (default: the first file's sweep objectives).")
    static let ignore = Option<String>.text(
        "ignore", "NAMES",
        help: "Hyperparameters to leave out when aligning, e.g. label_smoothing (what the sweeps changed on purpose).")
    static let csv = Option<String>.text("csv", "OUT", help: "Also write the aligned table to this CSV file.")
    static let json = Flag("json", help: "Print everything as JSON (for scripts) instead of tables.")
    static let path = ["compare"]
    static let summary =
        "Compare leaderboards (trials aligned by configuration, deltas, seed statistics, Pareto fronts), or suites task by task."
    static let usage =
        "A.csv|SWEEP_DIR B.csv|SWEEP_DIR [… ] [--objectives val_acc,params] [--ignore NAMES] [--csv OUT.csv] [--json], or SUITE_DIR SUITE_DIR [… ] [--csv OUT.csv] [--json]"
    static let options = [
        objectives.spec,
        ignore.spec,
        csv.spec,
        json.spec,
    ]

    static func run(_ arguments: ParsedArguments) throws {
        guard arguments.positionals.count >= 2 else {
            throw UsageError("'\(displayName)' needs at least two leaderboard files; usage: \(displayName) \(usage)")
        }
        // A sweep's directory stands for its leaderboard; a suite's directory (no leaderboard of its
        // own, tasks beneath) makes this a comparison of suites.
        var isDirectory: ObjCBool = false
        let suites = arguments.positionals.map { path -> Bool in
            FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
                && !FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent("leaderboard.csv"))
        }
        if suites.contains(true) {
            guard !suites.contains(false) else {
                throw UsageError(
                    "'\(displayName)' compares leaderboards or suites, not both: \(zip(arguments.positionals, suites).filter { $1 }.map(\.0).joined(separator: ", ")) hold no leaderboard.csv of their own (suites), the others do"
                )
            }
            for option in [CompareCommand.objectives, CompareCommand.ignore] where arguments[option] != nil {
                throw UsageError(
                    "option '--\(option.spec.name)' applies to leaderboards; a suite comparison compares each method's final test accuracy"
                )
            }
            return try compareSuites(arguments.positionals, arguments)
        }
        let leaderboards = arguments.positionals.map { path -> String in
            FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
                ? (path as NSString).appendingPathComponent("leaderboard.csv") : path
        }
        var objectives: [SearchSpec.Objective]?
        if let list = arguments[CompareCommand.objectives] {
            objectives = try list.split(separator: ",").map { item in
                let name = item.trimmingCharacters(in: .whitespaces)
                guard let metric = SearchSpec.Metric(rawValue: name) else {
                    throw UsageError(
                        "option '--objectives': unknown metric '\(name)' (\(SearchSpec.Metric.allCases.map(\.rawValue).joined(separator: ", ")))"
                    )
                }
                return SearchSpec.Objective(metric: metric, direction: metric == .valAccuracy ? .maximize : .minimize)
            }
            if objectives!.isEmpty {
                throw UsageError("option '--objectives' needs at least one metric, e.g. val_acc,params")
            }
        }
        let ignoring = try
            (arguments[CompareCommand.ignore]?.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            ?? []).map { name -> String in
                guard SideTuningCatalogue.catalogue.named(name) != nil else {
                    throw UsageError(
                        "option '--ignore': unknown hyperparameter '\(name)' (\(SideTuningCatalogue.catalogue.names.joined(separator: ", ")))"
                    )
                }
                return name
            }
        if let out = arguments[CompareCommand.csv] {
            try ProtectedPaths.checkWritable(out, option: "--csv", inputs: leaderboards)
        }
        let files = try leaderboards.map { try LeaderboardFile(path: $0, catalogue: SideTuningCatalogue.catalogue) }
        let comparison = try Comparison(files: files, objectives: objectives, ignoring: ignoring)
        if let out = arguments[CompareCommand.csv] {
            let text =
                ([comparison.alignedHeader] + comparison.alignedRows).map { $0.map(csvField).joined(separator: ",") }
                .joined(separator: "\n") + "\n"
            do { try replaceAtomically(out, with: text) } catch {
                throw FileProblem("option '--csv': cannot write \(out): \(error)")
            }
        }
        if arguments.isSet(CompareCommand.json) {
            let data = try json(comparison).data(pretty: true)
            print(String(decoding: data, as: UTF8.self))
        } else {
            printTables(comparison)
            if let out = arguments[CompareCommand.csv] { print("aligned table written to \(out)") }
        }
    }

    /// Suites' tables task by task: every method's test accuracy per task and mean, with differences
    /// from the first suite, and a paired t-test across tasks per method.
    static func compareSuites(_ directories: [String], _ arguments: ParsedArguments) throws {
        if let out = arguments[CompareCommand.csv] { try ProtectedPaths.checkWritable(out, option: "--csv") }
        let comparison = SuiteComparison(tables: try directories.map { try SuiteTable(directory: $0) })
        let (header, rows) = comparison.aligned
        if let out = arguments[CompareCommand.csv] {
            let text = ([header] + rows).map { $0.map(csvField).joined(separator: ",") }.joined(separator: "\n") + "\n"
            do { try replaceAtomically(out, with: text) } catch {
                throw FileProblem("option '--csv': cannot write \(out): \(error)")
            }
        }
        let tests = comparison.methods.flatMap { method in
            comparison.tables.indices.dropFirst().map { t in (method, t, comparison.test(method: method, against: t)) }
        }
        if arguments.isSet(CompareCommand.json) {
            let object: JSONValue = .object([
                "suites": directories.jsonValue, "columns": header.jsonValue, "rows": rows.jsonValue,
                "tests": .array(
                    tests.map { method, t, result -> JSONValue in
                        var d: [String: JSONValue] = [
                            "method": .string(method), "suite": .int(t + 1), "shared_tasks": result.tasks.jsonValue,
                        ]
                        if let r = result.test {
                            d["result"] = .object([
                                "test": "paired t-test over tasks (two-sided)", "n": .int(r.n),
                                "mean_difference": .number(r.meanDifference),
                                "t": r.t.isFinite ? .number(r.t) : .string(String(r.t)),
                                "df": r.degreesOfFreedom.jsonValue, "p": r.p.jsonValue,
                            ])
                        }
                        return .object(d)
                    }),
            ])
            print(String(decoding: try object.data(pretty: true), as: UTF8.self))
            return
        }
        print(
            "hpsweep compare: \(directories.count) suites, each method's final test accuracy (%) on each task (its best configuration by the sweep's primary objective)"
        )
        for (k, table) in comparison.tables.enumerated() {
            let scored = table.tasks.filter { task in table.rows.contains { $0.accuracy[task.name] != nil } }.count
            print("  [\(k + 1)] \(directories[k]): \(table.tasks.count) tasks, \(scored) with a score")
        }
        let full = [header] + rows.map { $0.map { $0.isEmpty ? "–" : $0 } }
        let widths = full[0].indices.map { i in full.map { $0[i].count }.max()! }
        print("")
        for row in full {
            print(
                "  "
                    + row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(
                        separator: "  "))
        }
        print("")
        for (method, t, result) in tests {
            let verdict =
                result.test.map {
                    String(
                        format: "mean difference %+.2f points, paired t = %.3g, df %d, p = %.3g", $0.meanDifference,
                        $0.t, $0.degreesOfFreedom, $0.p)
                }
                ?? "too few tasks scored in both for a test (\(result.tasks), need 3)"
            print(
                "\(method): [\(t + 1)] vs [1] over the \(result.tasks) task\(result.tasks == 1 ? "" : "s") both scored: \(verdict)"
            )
        }
        if let out = arguments[CompareCommand.csv] { print("aligned table written to \(out)") }
    }

    static func describe(_ c: Comparison, _ configuration: Comparison.Configuration) -> String {
        ([configuration.method]
            + c.varying.compactMap { name in
                let v = c.value(configuration, name)
                return v.isEmpty ? nil : "\(name)=\(ValidateCommand.format(Double(v).map { .number($0) } ?? .text(v)))"
            }).joined(separator: " ")
    }

    static func printTables(_ c: Comparison) {
        let names = c.objectives.map { "\($0.name) (\($0.direction == .maximize ? "max" : "min"))" }.joined(
            separator: ", ")
        print("hpsweep compare: \(c.files.count) leaderboards, objectives \(names)")
        for (f, file) in c.files.enumerated() {
            let finished = file.rows.filter { $0.value("status") == "finished" }.count
            print(
                "  [\(f + 1)] \(file.path): \(file.rows.count) trials, \(finished) finished, \(c.cells[f].count) configurations"
            )
        }
        for note in c.notes { print("  note: \(note)") }
        if !c.ignored.isEmpty { print("  aligned without \(c.ignored.joined(separator: ", "))") }

        let shared = c.configurations.filter { conf in c.cells.allSatisfy { $0[conf] != nil } }.count
        print("\naligned configurations: \(c.configurations.count) (\(shared) in every file)")
        if !c.suggestedIgnores.isEmpty {
            print(
                "  hint: the files never share a value of \(c.suggestedIgnores.joined(separator: ", ")); to align the rest, add --ignore \(c.suggestedIgnores.joined(separator: ","))"
            )
        }
        // Columns empty in every row (std of single seeds, deltas without overlap) stay in --csv only.
        let full = [c.alignedHeader] + c.alignedRows
        let kept = full[0].indices.filter { i in full.dropFirst().contains { !$0[i].isEmpty } || i == 0 }
        let rows = full.map { row in kept.map { row[$0] } }
        let widths = rows[0].indices.map { i in rows.map { $0[i].count }.max()! }
        for row in rows {
            print(
                "  "
                    + row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(
                        separator: "  "))
        }

        print("\nbest per file (the best configuration by its mean over seeds; the best single trial):")
        for j in c.objectives.indices {
            for b in c.best where b.objective == j {
                let trials = b.trials.count <= 3 ? b.trials.joined(separator: ", ") : "\(b.trials.count) trials"
                var line =
                    "  \(c.objectives[j].name) [\(b.file + 1)]: configuration \(b.seeds == 1 ? "value" : "mean over \(b.seeds) seeds") \(format(b.value, digits: 4)) (\(describe(c, b.configuration)); \(trials))"
                if b.seeds > 1 || b.bestTrialConfiguration != b.configuration {
                    line +=
                        "; best single trial \(format(b.bestTrialValue, digits: 4)) (\(b.bestTrial)"
                        + (b.bestTrialConfiguration == b.configuration
                            ? ")" : ": \(describe(c, b.bestTrialConfiguration)))")
                }
                print(line)
            }
        }
        let primary = c.objectives[0].name
        if !c.seedTests.isEmpty {
            print("\nrepeated seeds (\(primary), paired t-test over shared seeds, [k] vs [1]):")
            for s in c.seedTests {
                let a = c.cells[0][s.configuration]!, b = c.cells[s.file][s.configuration]!
                let stats = String(
                    format: "[1] %@ ± %@ (n=%d), [%d] %@ ± %@ (n=%d)", format(c.display(0, a.mean(0)), digits: 4),
                    format(a.standardDeviation(0), digits: 4), a.bySeed.count,
                    s.file + 1, format(c.display(0, b.mean(0)), digits: 4), format(b.standardDeviation(0), digits: 4),
                    b.bySeed.count)
                let verdict =
                    s.test.map {
                        String(
                            format: "mean difference %+.4g, t = %.3g, df %d, p = %.3g", $0.meanDifference, $0.t,
                            $0.degreesOfFreedom, $0.p)
                    }
                    ?? "not enough seeds for a test (\(s.pairs) shared, need 3)"
                print("  \(describe(c, s.configuration)): \(stats): \(verdict)")
            }
        }
        for (f, n, test) in c.acrossConfigurations {
            let verdict =
                test.map {
                    String(
                        format: "mean difference %+.4g, paired t = %.3g, df %d, p = %.3g", $0.meanDifference, $0.t,
                        $0.degreesOfFreedom, $0.p)
                }
                ?? "too few shared configurations for a test (need 3)"
            print(
                "\n[\(f + 1)] vs [1] over the \(n) configuration\(n == 1 ? "" : "s") both finished (\(primary), per-configuration means): \(verdict)"
            )
        }
        print(
            "\nPareto fronts (\(c.objectives.map(\.name).joined(separator: " vs "))), hypervolume against a reference \(c.reference):"
        )
        for f in c.files.indices {
            print(
                "  [\(f + 1)] \(c.fronts[f].count) configuration\(c.fronts[f].count == 1 ? "" : "s"), hypervolume \(String(format: "%.4f", c.hypervolumes[f]))"
            )
        }
        for r in c.relations {
            print(
                String(
                    format: "  [%d] %@ [%d]: C([%d],[%d]) = %.2f, C([%d],[%d]) = %.2f", r.a + 1, r.verdict, r.b + 1,
                    r.a + 1, r.b + 1, r.coverageAB, r.b + 1, r.a + 1, r.coverageBA))
        }
    }
}

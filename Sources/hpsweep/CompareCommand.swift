import Essentials
import Foundation
import SideTuning
import Sweep

/// `hpsweep compare A.csv B.csv …`: leaderboards side by side, aligned by configuration.
enum CompareCommand: Command {
    static let objectives = Option<String>.text("objectives", "LIST", help: "Metrics to compare on, e.g. val_acc,params (default: the first file's sweep objectives).")
    static let ignore = Option<String>.text("ignore", "NAMES", help: "Hyperparameters to leave out when aligning, e.g. label_smoothing (what the sweeps changed on purpose).")
    static let csv = Option<String>.text("csv", "OUT", help: "Also write the aligned table to this CSV file.")
    static let json = Flag("json", help: "Print everything as JSON (for scripts) instead of tables.")
    static let path = ["compare"]
    static let summary = "Compare leaderboards: trials aligned by configuration, deltas, seed statistics, Pareto fronts."
    static let usage = "A.csv B.csv [C.csv …] [--objectives val_acc,params] [--ignore NAMES] [--csv OUT.csv] [--json]"
    static let options = [
        objectives.spec,
        ignore.spec,
        csv.spec,
        json.spec,
    ]

    static func run(_ arguments: ParsedArguments) throws {
        guard arguments.positionals.count >= 2 else { throw UsageError("'\(displayName)' needs at least two leaderboard files; usage: \(displayName) \(usage)") }
        var objectives: [SearchSpec.Objective]?
        if let list = arguments[CompareCommand.objectives] {
            objectives = try list.split(separator: ",").map { item in
                let name = item.trimmingCharacters(in: .whitespaces)
                guard let metric = SearchSpec.Metric(rawValue: name) else {
                    throw UsageError("option '--objectives': unknown metric '\(name)' (\(SearchSpec.Metric.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                return SearchSpec.Objective(metric: metric, direction: metric == .valAccuracy ? .maximize : .minimize)
            }
            if objectives!.isEmpty { throw UsageError("option '--objectives' needs at least one metric, e.g. val_acc,params") }
        }
        let ignoring = try (arguments[CompareCommand.ignore]?.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } ?? []).map { name -> String in
            guard SideTuningCatalogue.catalogue.named(name) != nil else {
                throw UsageError("option '--ignore': unknown hyperparameter '\(name)' (\(SideTuningCatalogue.catalogue.names.joined(separator: ", ")))")
            }
            return name
        }
        if let out = arguments[CompareCommand.csv] { try ProtectedPaths.checkWritable(out, option: "--csv") }
        let files = try arguments.positionals.map { try LeaderboardFile(path: $0, catalogue: SideTuningCatalogue.catalogue) }
        let comparison = try Comparison(files: files, objectives: objectives, ignoring: ignoring)
        if let out = arguments[CompareCommand.csv] {
            let text = ([comparison.alignedHeader] + comparison.alignedRows).map { $0.map(csvField).joined(separator: ",") }.joined(separator: "\n") + "\n"
            do { try replaceAtomically(out, with: text) } catch { throw UsageError("option '--csv': cannot write \(out): \(error)") }
        }
        if arguments.isSet(CompareCommand.json) {
            let data = try JSONSerialization.data(withJSONObject: json(comparison), options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            printTables(comparison)
            if let out = arguments[CompareCommand.csv] { print("aligned table written to \(out)") }
        }
    }

    static func describe(_ c: Comparison, _ configuration: Comparison.Configuration) -> String {
        ([configuration.method] + c.varying.compactMap { name in
            let v = c.value(configuration, name)
            return v.isEmpty ? nil : "\(name)=\(ValidateCommand.format(Double(v).map { .number($0) } ?? .text(v)))"
        }).joined(separator: " ")
    }

    static func printTables(_ c: Comparison) {
        let names = c.objectives.map { "\($0.name) (\($0.direction == .maximize ? "max" : "min"))" }.joined(separator: ", ")
        print("hpsweep compare: \(c.files.count) leaderboards, objectives \(names)")
        for (f, file) in c.files.enumerated() {
            let finished = file.rows.filter { $0.value("status") == "finished" }.count
            print("  [\(f + 1)] \(file.path): \(file.rows.count) trials, \(finished) finished, \(c.cells[f].count) configurations")
        }
        for note in c.notes { print("  note: \(note)") }
        if !c.ignored.isEmpty { print("  aligned without \(c.ignored.joined(separator: ", "))") }

        let shared = c.configurations.filter { conf in c.cells.allSatisfy { $0[conf] != nil } }.count
        print("\naligned configurations: \(c.configurations.count) (\(shared) in every file)")
        if !c.suggestedIgnores.isEmpty {
            print("  hint: the files never share a value of \(c.suggestedIgnores.joined(separator: ", ")); to align the rest, add --ignore \(c.suggestedIgnores.joined(separator: ","))")
        }
        // Columns empty in every row (std of single seeds, deltas without overlap) stay in --csv only.
        let full = [c.alignedHeader] + c.alignedRows
        let kept = full[0].indices.filter { i in full.dropFirst().contains { !$0[i].isEmpty } || i == 0 }
        let rows = full.map { row in kept.map { row[$0] } }
        let widths = rows[0].indices.map { i in rows.map { $0[i].count }.max()! }
        for row in rows { print("  " + row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")) }

        print("\nbest per file:")
        for j in c.objectives.indices {
            for b in c.best where b.objective == j {
                print("  \(c.objectives[j].name) [\(b.file + 1)]: \(format(b.value, digits: 4)) (\(b.trial): \(describe(c, b.configuration)))")
            }
        }
        let primary = c.objectives[0].name
        if !c.seedTests.isEmpty {
            print("\nrepeated seeds (\(primary), paired t-test over shared seeds, [k] vs [1]):")
            for s in c.seedTests {
                let a = c.cells[0][s.configuration]!, b = c.cells[s.file][s.configuration]!
                let stats = String(format: "[1] %@ ± %@ (n=%d), [%d] %@ ± %@ (n=%d)", format(c.display(0, a.mean(0)), digits: 4), format(a.standardDeviation(0), digits: 4), a.bySeed.count,
                                   s.file + 1, format(c.display(0, b.mean(0)), digits: 4), format(b.standardDeviation(0), digits: 4), b.bySeed.count)
                let verdict = s.test.map { String(format: "mean difference %+.4g, t = %.3g, df %d, p = %.3g", $0.meanDifference, $0.t, $0.degreesOfFreedom, $0.p) }
                    ?? "not enough seeds for a test (\(s.pairs) shared, need 3)"
                print("  \(describe(c, s.configuration)): \(stats): \(verdict)")
            }
        }
        for (f, n, test) in c.acrossConfigurations {
            let verdict = test.map { String(format: "mean difference %+.4g, paired t = %.3g, df %d, p = %.3g", $0.meanDifference, $0.t, $0.degreesOfFreedom, $0.p) }
                ?? "too few shared configurations for a test (need 3)"
            print("\n[\(f + 1)] vs [1] over the \(n) configuration\(n == 1 ? "" : "s") both finished (\(primary), per-configuration means): \(verdict)")
        }
        print("\nPareto fronts (\(c.objectives.map(\.name).joined(separator: " vs "))), hypervolume against a reference \(c.reference):")
        for f in c.files.indices {
            print("  [\(f + 1)] \(c.fronts[f].count) configuration\(c.fronts[f].count == 1 ? "" : "s"), hypervolume \(String(format: "%.4f", c.hypervolumes[f]))")
        }
        for r in c.relations {
            print(String(format: "  [%d] %@ [%d]: C([%d],[%d]) = %.2f, C([%d],[%d]) = %.2f", r.a + 1, r.verdict, r.b + 1, r.a + 1, r.b + 1, r.coverageAB, r.b + 1, r.a + 1, r.coverageBA))
        }
    }

    static func json(_ c: Comparison) -> [String: Any] {
        func configuration(_ k: Comparison.Configuration) -> [String: Any] {
            var d: [String: Any] = ["method": k.method]
            for name in c.hyperparameters { let v = c.value(k, name); if !v.isEmpty { d[name] = Double(v) ?? v as Any } }
            return d
        }
        func test(_ t: Statistics.TTest?) -> Any {
            guard let t else { return NSNull() }
            return ["test": "paired t-test (two-sided)", "n": t.n, "mean_difference": t.meanDifference, "t": t.t.isFinite ? t.t as Any : String(t.t) as Any,
                    "df": t.degreesOfFreedom, "p": t.p]
        }
        return [
            "files": c.files.map(\.path),
            "objectives": c.objectives.map { ["metric": $0.name, "direction": $0.direction.rawValue] },
            "notes": c.notes, "ignored": c.ignored, "suggested_ignores": c.suggestedIgnores,
            "aligned": ["columns": c.alignedHeader, "rows": c.alignedRows],
            "best": c.best.map { ["file": $0.file + 1, "objective": c.objectives[$0.objective].name, "value": $0.value, "trial": $0.trial,
                                  "configuration": configuration($0.configuration)] as [String: Any] },
            "seed_tests": c.seedTests.map { ["file": $0.file + 1, "configuration": configuration($0.configuration), "shared_seeds": $0.pairs,
                                             "result": test($0.test)] as [String: Any] },
            "across_configurations": c.acrossConfigurations.map { ["file": $0.file + 1, "shared_configurations": $0.shared, "result": test($0.test)] as [String: Any] },
            "fronts": c.files.indices.map { ["file": $0 + 1, "configurations": c.fronts[$0].map(configuration), "hypervolume": c.hypervolumes[$0]] as [String: Any] },
            "hypervolume_reference": c.reference,
            "front_relations": c.relations.map { ["a": $0.a + 1, "b": $0.b + 1, "coverage_a_b": $0.coverageAB, "coverage_b_a": $0.coverageBA, "verdict": $0.verdict] as [String: Any] },
        ]
    }
}


import Essentials
import Foundation
import SideTuning
import Sweep

/// `compare --json`: the comparison of leaderboards as one JSON document (docs/formats.md).
extension CompareCommand {
    static func json(_ c: Comparison) -> JSONValue {
        func configuration(_ k: Comparison.Configuration) -> JSONValue {
            var d: [String: JSONValue] = ["method": .string(k.method)]
            for name in c.hyperparameters {
                let v = c.value(k, name)
                if !v.isEmpty { d[name] = Double(v).map(JSONValue.number) ?? .string(v) }
            }
            return .object(d)
        }
        func test(_ t: Statistics.TTest?) -> JSONValue {
            guard let t else { return .null }
            return .object([
                "test": "paired t-test (two-sided)", "n": t.n.jsonValue, "mean_difference": t.meanDifference.jsonValue,
                "t": t.t.isFinite ? .number(t.t) : .string(String(t.t)),
                "df": t.degreesOfFreedom.jsonValue, "p": t.p.jsonValue,
            ])
        }
        return .object([
            "files": c.files.map(\.path).jsonValue,
            "objectives": c.objectives.map { ["metric": $0.name, "direction": $0.direction.rawValue] }.jsonValue,
            "notes": c.notes.jsonValue, "ignored": c.ignored.jsonValue,
            "suggested_ignores": c.suggestedIgnores.jsonValue,
            "aligned": .object(["columns": c.alignedHeader.jsonValue, "rows": c.alignedRows.jsonValue]),
            "best": .array(
                c.best.map {
                    .object([
                        "file": ($0.file + 1).jsonValue, "objective": .string(c.objectives[$0.objective].name),
                        "configuration_mean": $0.value.jsonValue, "seeds": $0.seeds.jsonValue,
                        "trials": $0.trials.jsonValue, "configuration": configuration($0.configuration),
                        "best_trial": $0.bestTrial.jsonValue, "best_trial_value": $0.bestTrialValue.jsonValue,
                        "best_trial_configuration": configuration($0.bestTrialConfiguration),
                    ])
                }),
            "seed_tests": .array(
                c.seedTests.map {
                    .object([
                        "file": ($0.file + 1).jsonValue, "configuration": configuration($0.configuration),
                        "shared_seeds": $0.pairs.jsonValue, "result": test($0.test),
                    ])
                }),
            "across_configurations": .array(
                c.acrossConfigurations.map {
                    .object([
                        "file": ($0.file + 1).jsonValue, "shared_configurations": $0.shared.jsonValue,
                        "result": test($0.test),
                    ])
                }),
            "fronts": .array(
                c.files.indices.map {
                    .object([
                        "file": ($0 + 1).jsonValue, "configurations": .array(c.fronts[$0].map(configuration)),
                        "hypervolume": c.hypervolumes[$0].jsonValue,
                    ])
                }),
            "hypervolume_reference": c.reference.jsonValue,
            "front_relations": .array(
                c.relations.map {
                    .object([
                        "a": ($0.a + 1).jsonValue, "b": ($0.b + 1).jsonValue, "coverage_a_b": $0.coverageAB.jsonValue,
                        "coverage_b_a": $0.coverageBA.jsonValue, "verdict": $0.verdict.jsonValue,
                    ])
                }),
        ])
    }
}

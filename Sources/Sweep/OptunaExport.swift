import Essentials
import Foundation

/// A sweep as an Optuna journal-storage file (JSON lines with Optuna's operation codes), so that
/// Optuna and optuna-dashboard can open it: `JournalStorage(JournalFileBackend(path))`.
///
/// One study named after the sweep, one direction per objective. Each trial is a single
/// CREATE_TRIAL operation carrying its final state (COMPLETE for finished trials with their objective
/// values, PRUNED with the validation accuracy per epoch as intermediate values, FAIL for failed,
/// diverged and rejected ones, RUNNING for unfinished ones), its parameters with the distributions the
/// sweep file declared for its method (choices as CategoricalDistribution, loguniform as a log
/// FloatDistribution, int ranges as IntDistribution; the method itself as a categorical), and hpsweep's
/// own fields as user attributes. Values are exact: accuracies, which hpsweep keeps in float32, are
/// written as the decimal float32 prints as (0.91, not 0.9100000262260437).
public enum OptunaExport {
    enum Operation: Int {
        case createStudy = 0
        case createTrial = 4
    }
    enum State: Int {
        case running = 0
        case complete = 1
        case pruned = 2
        case fail = 3
    }

    /// Optuna's IntDistribution and FloatDistribution as its journal writes them.
    static func integers(_ low: Int, _ high: Int, log: Bool) -> [String: JSONValue] {
        [
            "name": "IntDistribution",
            "attributes": .object(["low": .int(low), "high": .int(high), "step": .int(1), "log": .bool(log)]),
        ]
    }

    static func reals(_ low: Double, _ high: Double, log: Bool) -> [String: JSONValue] {
        [
            "name": "FloatDistribution",
            "attributes": .object(["low": .number(low), "high": .number(high), "step": .null, "log": .bool(log)]),
        ]
    }

    /// A float32 as the shortest decimal that reads back as it (what the leaderboard prints).
    static func exact(_ x: Float) -> Double { Double("\(x)") ?? Double(x) }

    /// A trial's value of an objective, as the leaderboard has it (NaN when it has none).
    static func value(of objective: SearchSpec.Objective, _ record: TrialRecord) -> Double {
        if objective.metric == .valAccuracy, let r = record.result { return exact(r.bestValAccuracy) }
        if objective.metric == .valLoss, let r = record.result { return exact(r.finalValLoss) }
        return metricValue(record, objective.metric) ?? .nan
    }

    /// `search`: the sweep's declared spaces (from the journal's recorded sweep file); without it, the
    /// ranges the trials span are used.
    public static func lines(
        state: SweepState, studyName: String, catalogue: SearchCatalogue, search: SearchSpec? = nil
    ) throws -> [String] {
        let workerID = "hpsweep-export"
        var lines: [String] = []
        func json(_ object: [String: JSONValue]) throws -> String {
            String(decoding: try JSONValue.object(object).data(), as: UTF8.self)
        }
        func emit(_ object: [String: JSONValue]) throws { lines.append(try json(object)) }
        try emit([
            "op_code": .int(Operation.createStudy.rawValue), "worker_id": .string(workerID),
            "study_name": .string(studyName),
            "directions": .array(state.objectives.map { .int($0.direction == .maximize ? 2 : 1) }),
        ])

        let records = state.records, objectives = state.objectives
        // Per method, each searched hyperparameter's distribution: the declared domain, widened to the
        // values trials of earlier revisions of the sweep used. Optuna requires one categorical
        // parameter name to have one set of choices in a study, so choices are pooled over methods.
        var distributions: [String: [String: [String: JSONValue]]] = [:]  // method → name → distribution
        var pooledChoices: [String: [ParameterValue]] = [:]
        func pool(_ name: String, _ values: [ParameterValue], method: String) {
            var pooled = pooledChoices[name] ?? []
            for c in values where !pooled.contains(c) { pooled.append(c) }
            pooledChoices[name] = pooled
            distributions[method, default: [:]][name] = ["name": "CategoricalDistribution"]
        }
        for method in Set(records.map(\.method)).sorted() {
            let own = records.filter { $0.method == method }
            let declared = search?.methods.first { $0.method == method }
            for parameter in catalogue.hyperparameters {
                let values = own.compactMap { $0.values[parameter.name] }
                guard !values.isEmpty else { continue }
                let domain = declared?.parameters.first { $0.name == parameter.name }?.domain
                if let domain, !domain.isSearched, Set(values).count == 1 { continue }  // fixed: not a search dimension
                if domain == nil, Set(values).count < 2 { continue }
                // A distribution must hold every value trials had: a hand-edited journal may give a
                // numeric hyperparameter a word, or an integer one a fraction. Those pool as choices.
                let numbers = values.compactMap(\.number)
                let allNumbers = numbers.count == values.count
                let allIntegers = allNumbers && numbers.allSatisfy { $0 == $0.rounded() }
                switch domain {
                case .choice(let choices)?, .grid(let choices)?:
                    pool(parameter.name, choices + values, method: method)
                case let .integer(lo, hi, log)? where allIntegers:
                    distributions[method, default: [:]][parameter.name] = integers(
                        min(lo, Int(numbers.min() ?? Double(lo))), max(hi, Int(numbers.max() ?? Double(hi))),
                        log: log && numbers.allSatisfy { $0 >= 1 })
                case let .uniform(lo, hi)? where allNumbers, let .logUniform(lo, hi)? where allNumbers:
                    var log = false
                    if case .logUniform = domain! { log = true }
                    distributions[method, default: [:]][parameter.name] = reals(
                        min(lo, numbers.min() ?? lo), max(hi, numbers.max() ?? hi),
                        log: log && numbers.allSatisfy { $0 > 0 })
                case .fixed?, nil, .integer?, .uniform?, .logUniform?:
                    // Not declared searched (an older revision searched it, or no spec), or values the
                    // declared domain cannot hold: the range tried, or the values as choices.
                    if allIntegers, case .integer = parameter.kind {
                        distributions[method, default: [:]][parameter.name] = integers(
                            Int(numbers.min()!), Int(numbers.max()!), log: false)
                    } else if allNumbers {
                        let low = numbers.min()!, high = numbers.max()!
                        distributions[method, default: [:]][parameter.name] = reals(
                            low, high, log: low > 0 && high / low >= 10)
                    } else {
                        pool(parameter.name, values, method: method)
                    }
                }
            }
        }
        // Optuna's categorical choices are JSON scalars: numbers stay numbers, words strings.
        func choiceValue(_ v: ParameterValue) -> JSONValue {
            switch v {
            case .number(let x): return x == x.rounded() && abs(x) < 1e15 ? .int(Int(x)) : .number(x)
            case .text(let t): return .string(t)
            }
        }
        for (method, byName) in distributions {
            for (name, distribution) in byName where distribution["name"] == "CategoricalDistribution" {
                var d = distribution
                d["attributes"] = .object(["choices": .array(pooledChoices[name]!.map(choiceValue))])
                distributions[method]![name] = d
            }
        }
        let methods = Array(Set(records.map(\.method))).sorted()
        let methodDistribution: [String: JSONValue] = [
            "name": "CategoricalDistribution",
            "attributes": .object(["choices": .array(methods.map(JSONValue.string))]),
        ]
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]

        for record in records {
            var params: [String: JSONValue] = [:], used: [String: JSONValue] = [:]
            params["method"] = .int(methods.firstIndex(of: record.method)!)
            used["method"] = .string(try json(methodDistribution))
            for (name, distribution) in distributions[record.method] ?? [:] {
                guard let value = record.values[name] else { continue }
                if distribution["name"] == "CategoricalDistribution" {
                    params[name] = .int(pooledChoices[name]!.firstIndex(of: value)!)  // Optuna stores a choice's index
                } else {
                    params[name] = .number(value.number!)
                }
                used[name] = .string(try json(distribution))
            }
            var trialState: State
            switch record.status {
            case .finished: trialState = .complete
            case .pruned: trialState = .pruned
            case .failed, .diverged, .rejected: trialState = .fail
            case .planned, .paused: trialState = .running
            }
            var attributes: [String: JSONValue] = [
                "hpsweep_trial": .string(record.id), "method": .string(record.method),
                "status": .string(record.status.rawValue), "trial_key": .string(record.key), "seed": .int(record.seed),
            ]
            if let r = record.result {
                attributes["trainable_parameters"] = .int(r.trainableParameters)
                attributes["train_seconds"] = .number(r.trainSeconds)
                attributes["best_val_acc"] = .number(exact(r.bestValAccuracy))
                attributes["epochs_run"] = .int(r.epochsRun)
            }
            if let test = record.testAccuracy { attributes["test_acc"] = .number(exact(test)) }
            if let error = record.error { attributes["error"] = .string(error) }
            let start = record.startTime ?? Date().timeIntervalSince1970
            var op: [String: JSONValue] = [
                "op_code": .int(Operation.createTrial.rawValue), "worker_id": .string(workerID), "study_id": .int(0),
                "datetime_start": .string(formatter.string(from: Date(timeIntervalSince1970: start))),
                "state": .int(trialState.rawValue), "params": .object(params), "distributions": .object(used),
                "user_attrs": .object(attributes), "system_attrs": .object([:]),
                "intermediate_values": .object(
                    Dictionary(
                        record.curve.compactMap { e in
                            e.valAccuracy.flatMap { $0.isFinite ? (String(e.epoch), JSONValue.number(exact($0))) : nil }
                        }, uniquingKeysWith: { first, _ in first })),  // (an edited history may repeat an epoch)
            ]
            // Optuna fails a trial whose objective value is not finite; so does its export.
            let values = objectives.map { value(of: $0, record) }
            if trialState == .complete, let bad = values.firstIndex(where: { !$0.isFinite }) {
                trialState = .fail
                attributes["error"] = .string("\(objectives[bad].metric.rawValue) is \(values[bad])")
            }
            op["state"] = .int(trialState.rawValue)
            op["user_attrs"] = .object(attributes)
            if trialState != .running {
                op["datetime_complete"] = .string(
                    formatter.string(from: Date(timeIntervalSince1970: record.endTime ?? start)))
            }
            if trialState == .complete { op["values"] = .array(values.map(JSONValue.number)) }
            try emit(op)
        }
        return lines
    }
}

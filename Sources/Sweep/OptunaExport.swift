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

    /// A float32 as the shortest decimal that reads back as it (what the leaderboard prints).
    static func exact(_ x: Float) -> Double { Double("\(x)") ?? Double(x) }

    /// `search`: the sweep's declared spaces (from the journal's recorded sweep file); without it, the
    /// ranges the trials span are used.
    public static func lines(
        state: SweepState, studyName: String, catalogue: SearchCatalogue, search: SearchSpec? = nil
    ) throws -> [String] {
        let workerID = "hpsweep-export"
        var lines: [String] = []
        func emit(_ object: [String: Any]) throws {
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            lines.append(String(decoding: data, as: UTF8.self))
        }
        try emit([
            "op_code": Operation.createStudy.rawValue, "worker_id": workerID, "study_name": studyName,
            "directions": state.objectives.map { $0.direction == .maximize ? 2 : 1 },
        ])

        let records = state.records, objectives = state.objectives
        // Per method, each searched hyperparameter's distribution: the declared domain, widened to the
        // values trials of earlier revisions of the sweep used. Optuna requires one categorical
        // parameter name to have one set of choices in a study, so choices are pooled over methods.
        var distributions: [String: [String: [String: Any]]] = [:]  // method → name → distribution
        var pooledChoices: [String: [ParameterValue]] = [:]
        for method in Set(records.map(\.method)).sorted() {
            let own = records.filter { $0.method == method }
            let declared = search?.methods.first { $0.method == method }
            for parameter in catalogue.hyperparameters {
                let values = own.compactMap { $0.values[parameter.name] }
                guard !values.isEmpty else { continue }
                let domain = declared?.parameters.first { $0.name == parameter.name }?.domain
                if let domain, !domain.isSearched, Set(values).count == 1 { continue }  // fixed: not a search dimension
                if domain == nil, Set(values).count < 2 { continue }
                let numbers = values.compactMap(\.number)
                switch domain {
                case .choice(let choices)?, .grid(let choices)?:
                    var pooled = pooledChoices[parameter.name] ?? []
                    for c in choices + values where !pooled.contains(c) { pooled.append(c) }
                    pooledChoices[parameter.name] = pooled
                    distributions[method, default: [:]][parameter.name] = ["name": "CategoricalDistribution"]
                case let .integer(lo, hi, log)?:
                    distributions[method, default: [:]][parameter.name] = [
                        "name": "IntDistribution",
                        "attributes": [
                            "low": min(lo, Int(numbers.min() ?? Double(lo))),
                            "high": max(hi, Int(numbers.max() ?? Double(hi))), "step": 1, "log": log,
                        ],
                    ]
                case let .uniform(lo, hi)?, let .logUniform(lo, hi)?:
                    var log = false
                    if case .logUniform = domain! { log = true }
                    distributions[method, default: [:]][parameter.name] = [
                        "name": "FloatDistribution",
                        "attributes": [
                            "low": min(lo, numbers.min() ?? lo), "high": max(hi, numbers.max() ?? hi), "step": NSNull(),
                            "log": log,
                        ],
                    ]
                case .fixed?, nil:
                    // Not declared searched (an older revision searched it, or no spec): the range tried.
                    if numbers.count == values.count, case .integer = parameter.kind {
                        distributions[method, default: [:]][parameter.name] = [
                            "name": "IntDistribution",
                            "attributes": [
                                "low": Int(numbers.min()!), "high": Int(numbers.max()!), "step": 1, "log": false,
                            ],
                        ]
                    } else if numbers.count == values.count {
                        let low = numbers.min()!, high = numbers.max()!
                        distributions[method, default: [:]][parameter.name] = [
                            "name": "FloatDistribution",
                            "attributes": [
                                "low": low, "high": high, "step": NSNull(), "log": low > 0 && high / low >= 10,
                            ],
                        ]
                    } else {
                        var pooled = pooledChoices[parameter.name] ?? []
                        for c in values where !pooled.contains(c) { pooled.append(c) }
                        pooledChoices[parameter.name] = pooled
                        distributions[method, default: [:]][parameter.name] = ["name": "CategoricalDistribution"]
                    }
                }
            }
        }
        // Optuna's categorical choices are JSON scalars: numbers stay numbers, words strings.
        func choiceValue(_ v: ParameterValue) -> Any {
            switch v {
            case .number(let x): return x == x.rounded() && abs(x) < 1e15 ? Int(x) as Any : x as Any;
            case .text(let t): return t
            }
        }
        for (method, byName) in distributions {
            for (name, distribution) in byName where distribution["name"] as? String == "CategoricalDistribution" {
                var d = distribution
                d["attributes"] = ["choices": pooledChoices[name]!.map(choiceValue)]
                distributions[method]![name] = d
            }
        }
        let methodDistribution: [String: Any] = [
            "name": "CategoricalDistribution", "attributes": ["choices": Array(Set(records.map(\.method))).sorted()],
        ]
        func json(_ object: [String: Any]) throws -> String {
            String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
        }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]

        for record in records {
            var params: [String: Any] = [:], used: [String: String] = [:]
            params["method"] = (methodDistribution["attributes"] as! [String: Any])["choices"].flatMap {
                ($0 as! [String]).firstIndex(of: record.method)
            }!
            used["method"] = try json(methodDistribution)
            for (name, distribution) in distributions[record.method] ?? [:] {
                guard let value = record.values[name] else { continue }
                if distribution["name"] as? String == "CategoricalDistribution" {
                    params[name] = pooledChoices[name]!.firstIndex(of: value)!  // Optuna stores a choice's index
                } else {
                    params[name] = value.number!
                }
                used[name] = try json(distribution)
            }
            let trialState: State
            switch record.status {
            case .finished: trialState = .complete
            case .pruned: trialState = .pruned
            case .failed, .diverged, .rejected: trialState = .fail
            case .planned, .paused: trialState = .running
            }
            var attributes: [String: Any] = [
                "hpsweep_trial": record.id, "method": record.method, "status": record.status.rawValue,
                "trial_key": record.key, "seed": record.seed,
            ]
            if let r = record.result {
                attributes["trainable_parameters"] = r.trainableParameters
                attributes["train_seconds"] = r.trainSeconds
                attributes["best_val_acc"] = exact(r.bestValAccuracy)
                attributes["epochs_run"] = r.epochsRun
            }
            if let test = record.testAccuracy { attributes["test_acc"] = exact(test) }
            if let error = record.error { attributes["error"] = error }
            let start = record.startTime ?? Date().timeIntervalSince1970
            var op: [String: Any] = [
                "op_code": Operation.createTrial.rawValue, "worker_id": workerID, "study_id": 0,
                "datetime_start": formatter.string(from: Date(timeIntervalSince1970: start)),
                "state": trialState.rawValue, "params": params, "distributions": used, "user_attrs": attributes,
                "system_attrs": [String: Any](),
                "intermediate_values": Dictionary(
                    uniqueKeysWithValues: record.curve.compactMap { e in
                        e.valAccuracy.map { (String(e.epoch), exact($0)) }
                    }),
            ]
            if trialState != .running {
                op["datetime_complete"] = formatter.string(from: Date(timeIntervalSince1970: record.endTime ?? start))
            }
            if trialState == .complete {
                op["values"] = objectives.map { objective -> Double in
                    if objective.metric == .valAccuracy, let r = record.result { return exact(r.bestValAccuracy) }
                    if objective.metric == .valLoss, let r = record.result { return exact(r.finalValLoss) }
                    return metricValue(record, objective.metric) ?? .nan
                }
            }
            try emit(op)
        }
        return lines
    }
}

import Foundation

/// A sweep as an Optuna journal-storage file (JSON lines with Optuna's operation codes), so that
/// Optuna and optuna-dashboard can open it: `JournalStorage(JournalFileBackend(path))`.
///
/// One study named after the sweep, one direction per objective. Each trial is a single
/// CREATE_TRIAL operation carrying its final state (COMPLETE for finished trials with their objective
/// values, PRUNED with the validation accuracy per epoch as intermediate values, FAIL for failed,
/// diverged and rejected ones, RUNNING for unfinished ones), its parameters (the method as a
/// categorical, then every hyperparameter that varies in the sweep: reals as FloatDistribution over the
/// range the sweep tried — log-scaled when it spans a factor of 10 —, integers as IntDistribution,
/// words as CategoricalDistribution) and hpsweep's own fields as user attributes.
public enum OptunaExport {
    enum Operation: Int { case createStudy = 0, createTrial = 4 }
    enum State: Int { case running = 0, complete = 1, pruned = 2, fail = 3 }

    public static func lines(state: SweepState, studyName: String, catalogue: SearchCatalogue) throws -> [String] {
        let workerID = "hpsweep-export"
        var lines: [String] = []
        func emit(_ object: [String: Any]) throws {
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            lines.append(String(decoding: data, as: UTF8.self))
        }
        try emit(["op_code": Operation.createStudy.rawValue, "worker_id": workerID, "study_name": studyName,
                  "directions": state.objectives.map { $0.direction == .maximize ? 2 : 1 }])

        let records = state.records, objectives = state.objectives
        // One distribution per parameter over the whole study (Optuna compares them across trials).
        var distributions: [String: [String: Any]] = [:]
        distributions["method"] = ["name": "CategoricalDistribution", "attributes": ["choices": Array(Set(records.map(\.method))).sorted()]]
        for parameter in catalogue.hyperparameters {
            let values = records.compactMap { $0.values[parameter.name] }
            guard Set(values).count > 1 else { continue }
            let numbers = values.compactMap(\.number)
            if numbers.count == values.count, case .integer = parameter.kind {
                distributions[parameter.name] = ["name": "IntDistribution",
                                                 "attributes": ["low": Int(numbers.min()!), "high": Int(numbers.max()!), "step": 1, "log": false]]
            } else if numbers.count == values.count {
                let low = numbers.min()!, high = numbers.max()!
                distributions[parameter.name] = ["name": "FloatDistribution",
                                                 "attributes": ["low": low, "high": high, "step": NSNull(), "log": low > 0 && high / low >= 10]]
            } else {
                distributions[parameter.name] = ["name": "CategoricalDistribution", "attributes": ["choices": Array(Set(values.map(\.description))).sorted()]]
            }
        }
        func json(_ object: [String: Any]) throws -> String { String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self) }
        let encodedDistributions = try distributions.mapValues(json)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]

        for record in records {
            var params: [String: Any] = [:], used: [String: String] = [:]
            for (name, distribution) in distributions {
                let attributes = distribution["attributes"] as! [String: Any]
                if name == "method" {
                    params[name] = (attributes["choices"] as! [String]).firstIndex(of: record.method)!
                } else if let value = record.values[name] {
                    if distribution["name"] as? String == "CategoricalDistribution" {
                        params[name] = (attributes["choices"] as! [String]).firstIndex(of: value.description)!
                    } else { params[name] = value.number! }
                } else { continue }
                used[name] = encodedDistributions[name]!
            }
            let trialState: State
            switch record.status {
            case .finished: trialState = .complete
            case .pruned: trialState = .pruned
            case .failed, .diverged, .rejected: trialState = .fail
            case .planned, .paused: trialState = .running
            }
            var attributes: [String: Any] = ["hpsweep_trial": record.id, "method": record.method, "status": record.status.rawValue,
                                             "trial_key": record.key, "seed": record.seed]
            if let r = record.result {
                attributes["trainable_parameters"] = r.trainableParameters
                attributes["train_seconds"] = r.trainSeconds
                attributes["epochs_run"] = r.epochsRun
            }
            if let test = record.testAccuracy { attributes["test_acc"] = Double(test) }
            if let error = record.error { attributes["error"] = error }
            let start = record.startTime ?? Date().timeIntervalSince1970
            var op: [String: Any] = [
                "op_code": Operation.createTrial.rawValue, "worker_id": workerID, "study_id": 0,
                "datetime_start": formatter.string(from: Date(timeIntervalSince1970: start)),
                "state": trialState.rawValue, "params": params, "distributions": used, "user_attrs": attributes, "system_attrs": [String: Any](),
                "intermediate_values": Dictionary(uniqueKeysWithValues: record.curve.compactMap { e in e.valAccuracy.map { (String(e.epoch), Double($0)) } }),
            ]
            if trialState != .running { op["datetime_complete"] = formatter.string(from: Date(timeIntervalSince1970: record.endTime ?? start)) }
            if trialState == .complete { op["values"] = objectives.map { metricValue(record, $0.metric) ?? .nan } }
            try emit(op)
        }
        return lines
    }
}

import Foundation
import Training

// What is decided before or between training stretches: constraints, and what a pruner is shown at a rung.
extension SweepRunner {
    /// Whether a configuration breaks a declared constraint, judged before training from what is
    /// known then (TrialCosts); with the costs, for the journal.
    func constraintViolation(method: String, values: [String: ParameterValue], seed: UInt64) -> (reason: String, costs: TrialResult)? {
        guard !search.constraints.isEmpty else { return nil }
        let settings = Hyperparameter.settings(method: method, values: values, epochs: search.epochs, seed: seed)
        guard let costs = TrialCosts(settings: settings, width: cache.header.width, depth: depth, heads: heads, cacheTokens: cache.header.tokens,
                                     classes: spec.data.classes, trainExamples: cache.header.splits[spec.data.searchTrain] ?? 0),
              let reason = costs.violation(of: search.constraints) else { return nil }
        return (reason, TrialResult(status: .stopped, epochsRun: 0, bestEpoch: 0, bestValAccuracy: 0, finalValAccuracy: 0, finalValLoss: .nan,
                                    history: [], trainableParameters: costs.params, trainingFLOPs: costs.flops,
                                    workingMemoryBytes: costs.memoryBytes, trainSeconds: 0))
    }

    /// What the pruner is given at `rung` for trials `ids`, and the objective vectors of the finished
    /// trials. A paused trial's optimistic vector has its accuracy raised by the largest gain from epoch
    /// `rung` to the end seen in any finished trial, plus 0.02 (none before any trial finished).
    func standings(_ ids: [String], rung: Int, _ state: SweepState) -> (standings: [RungStanding], finished: [[Double]]) {
        let finished = state.records.filter { $0.status == .finished && $0.result != nil }
        let gains = finished.compactMap { r -> Float? in
            let history = r.curve.isEmpty ? r.result!.history : r.curve
            let early = history.filter { $0.epoch <= rung }.compactMap(\.valAccuracy).max()
            let overall = history.compactMap(\.valAccuracy).max()
            guard let early, let overall else { return nil }
            return overall - early
        }
        let largest = gains.max()
        let standings = ids.map { id -> RungStanding in
            let record = state.trials[id]!
            var optimistic: [Double]?
            if let largest, record.status == .paused {
                var raised = record
                raised.result?.bestValAccuracy = min(1, (record.result?.bestValAccuracy ?? 0) + largest + 0.02)
                optimistic = objectiveVector(raised, search.objectives, forSampler: true)
            }
            return RungStanding(id: id, paused: record.status == .paused, primary: objectiveVector(record, [search.primary])[0],
                                objectives: objectiveVector(record, search.objectives, forSampler: true), optimistic: optimistic)
        }
        return (standings, finished.map { objectiveVector($0, search.objectives, forSampler: true) })
    }

}

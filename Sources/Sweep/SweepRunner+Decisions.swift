import Foundation
import Training

// What is decided before or between training stretches: constraints and Pareto-aware stopping.
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

    /// Paused trials that could not become non-dominated even if their accuracy rose by the largest
    /// gain from epoch `rung` to the end seen in any finished trial (plus 0.02): some finished trial is
    /// at least as good in every objective (costs are known; training time is judged by FLOPs). Before
    /// any trial has finished, none.
    func cannotReachFront(_ ids: [String], rung: Int, _ state: SweepState) -> Set<String> {
        let finished = state.records.filter { $0.status == .finished && $0.result != nil }
        let gains = finished.compactMap { r -> Float? in
            let history = r.curve.isEmpty ? r.result!.history : r.curve
            let early = history.filter { $0.epoch <= rung }.compactMap(\.valAccuracy).max()
            let overall = history.compactMap(\.valAccuracy).max()
            guard let early, let overall else { return nil }
            return overall - early
        }
        guard let largest = gains.max() else { return [] }
        let fronts = finished.map { objectiveVector($0, search.objectives, forSampler: true) }
        var hopeless: Set<String> = []
        for id in ids where state.trials[id]!.status == .paused {
            var optimistic = state.trials[id]!
            let current = optimistic.result?.bestValAccuracy ?? 0
            optimistic.result?.bestValAccuracy = min(1, current + largest + 0.02)
            let vector = objectiveVector(optimistic, search.objectives, forSampler: true)
            if fronts.contains(where: { f in zip(f, vector).allSatisfy { $0 <= $1 } && f != vector }) { hopeless.insert(id) }
        }
        return hopeless
    }

}

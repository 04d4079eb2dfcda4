import Essentials
import Foundation
import Training

// What is decided before training: constraints (rung decisions: RungDecision.swift).
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
}

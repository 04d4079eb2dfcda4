import Cache
import Essentials
import Foundation
import Sweep
import Training

// The final phase: the best configurations retrained on the final split and scored on its eval split.
extension SideTuningObjective {
    /// Retrains the best `finalTop` finished configurations of each method on the final train split
    /// and scores them on the final eval split: from the cache when it holds the split, otherwise in one
    /// streamed backbone pass for all of them. Returns false when interrupted.
    public func runFinal(_ pending: [TrialRecord], leaseGeneration: Int, runner: SweepRunner) throws -> Bool {
        let shouldStop = runner.shouldStop
        let cached = cache.header.splits[spec.data.finalEval] != nil
        guard cache.header.splits[spec.data.finalTrain] != nil else {
            throw TrialError(
                "the final train split '\(spec.data.finalTrain)' is not in the cache; add it to cache.splits or set final_top to 0"
            )
        }
        onEvent(.finalPhase(trials: pending.map(\.id), streamed: !cached))
        let data = TrialData(cache: cache, trainSplit: spec.data.finalTrain, evalSplit: nil, classes: spec.data.classes)
        var trainers: [String: TrialTrainer] = [:]
        let cachedScores = LockedScores()
        let outcomes = pool.run(
            try pending.map { record in
                let trainer = try self.trainer(record, data: data, checkpoint: runner.checkpoint(record.id + "-final"))
                trainers[record.id] = trainer
                return PoolTrial(id: record.id + "-final", memoryBytes: trainer.memoryBytes) {
                    let result = try trainer.run(shouldStop: shouldStop)
                    if result.status == .finished && cached {
                        // Score inside the worker: the pool runs the final evaluations in parallel too.
                        var scored = result
                        let score = try trainer.evaluateTrained(on: self.spec.data.finalEval)
                        (scored.finalValAccuracy, scored.finalValLoss) = (score.accuracy, score.loss)
                        cachedScores.set(record.id, score)
                        return scored
                    }
                    return result
                }
            }
        ) { onEvent(.pool($0)) }
        if shouldStop() { return false }
        var scores: [String: EvaluationScore] = [:]
        var results: [String: TrialResult] = [:]
        for (record, outcome) in zip(pending, outcomes) {
            switch outcome {
            case .failed(let message): throw TrialError("final run of \(record.id) failed: \(message)")
            case .skipped: return false
            case .completed(let result):
                guard result.status == .finished else {
                    throw TrialError("final run of \(record.id) \(result.status.rawValue)")
                }
                results[record.id] = result
                if cached { scores[record.id] = cachedScores.get(record.id) }
            }
        }
        if !cached {
            let split = try spec.openSplit(spec.data.finalEval)
            let models = pending.map {
                TrainedModel(
                    network: trainers[$0.id]!.network, parameters: trainers[$0.id]!.trainedParameters!,
                    evaluationBatch: trainers[$0.id]!.settings.batchSize)
            }
            let streamed = try StreamingEvaluation.evaluate(
                models, stream: BackboneStream(plan: plan, split: split, batchSize: spec.cache.batchSize))
            for (record, score) in zip(pending, streamed) { scores[record.id] = score }
        }
        guard runner.ownsFinal(leaseGeneration) else { return true }  // fenced: another worker took over
        for record in pending {
            let score = scores[record.id]!
            var modelFile: String?
            if search.keepModels != .none {
                // Written before the line that records it: a kill between the two retrains and rewrites it.
                var metrics = [
                    "role": "final", "trained_on": spec.data.finalTrain, "scored_on": spec.data.finalEval,
                    "test_acc": "\(score.accuracy)", "test_loss": "\(score.loss)",
                ]
                if let search = record.result {
                    metrics["val_acc"] = "\(search.bestValAccuracy)"; metrics["searched_on"] = spec.data.searchEval
                }
                modelFile = try keepModel(
                    trainers[record.id]!, id: record.id, relativePath: "models/\(record.id).safetensors",
                    metrics: metrics, runner: runner)
            }
            guard
                try runner.recordFinal(
                    record.id, testAccuracy: score.accuracy, testLoss: score.loss, confusion: score.confusion,
                    result: results[record.id], modelFile: modelFile, classNames: spec.data.classNames,
                    leaseGeneration: leaseGeneration)
            else { return true }
        }
        return true
    }
}

/// The final evaluations' scores, set by the pool's workers.
private final class LockedScores: @unchecked Sendable {
    private let lock = NSLock()
    private var scores: [String: EvaluationScore] = [:]
    func set(_ id: String, _ score: EvaluationScore) { lock.lock(); scores[id] = score; lock.unlock() }
    func get(_ id: String) -> EvaluationScore? { lock.lock(); defer { lock.unlock() }; return scores[id] }
}

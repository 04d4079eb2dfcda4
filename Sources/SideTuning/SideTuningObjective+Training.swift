import Essentials
import Foundation
import Training
import Numerics
import Sweep

// Training stretches: the trials of a stretch through the pool (or in cohorts), each claimed and
// reported through the runner (SweepRunner+Journaling.swift).
extension SideTuningObjective {
    /// Trains those of `ids` this process can claim up to `rung` epochs; each outcome is journaled
    /// before the trial's lease is released. Compatible trials go in cohorts that share each batch
    /// read (SideTuningObjective+Cohorts.swift), the rest through the pool. Returns how many it trained.
    public func train(_ ids: [String], until rung: Int, runner: SweepRunner) throws -> Int {
        let shouldStop = runner.shouldStop
        let data = TrialData(cache: cache, trainSplit: spec.data.searchTrain, evalSplit: spec.data.searchEval, classes: spec.data.classes)
        // A storage failure (disk full, read-only results) stops every trial and the sweep, with
        // nothing journaled for the trials it hit: they resume from their last checkpoint later.
        let fatal = FatalError()
        var pending: [PendingTrial] = []
        for id in ids {
            let record = runner.state.trials[id]!
            do {
                let trainer = try self.trainer(record, data: data, checkpoint: runner.checkpoint(id))
                // One that can never fit is journaled as failed, once; left to the pool, it would fail
                // unjournaled and be planned again for ever.
                guard pool.admits(trainer.memoryBytes) else { throw TrialError(TrialPool.tooLarge(trainer.memoryBytes, budget: pool.memoryBudget)) }
                pending.append(PendingTrial(id: id, trainer: trainer,
                                             previousSeconds: record.result?.trainSeconds ?? 0, previousReadSeconds: record.result?.readSeconds ?? 0))
            } catch {
                try runner.recordUntrainable(id, error)
            }
        }
        var ran = 0
        var (cohorts, singles) = readsAreWorthSharing(runner.state) ? formCohorts(pending, runner.state) : ([], pending)
        var done = 0
        if !cohorts.isEmpty { onEvent(.cohorts(trials: cohorts.reduce(0) { $0 + $1.count }, cohorts: cohorts.count)) }
        for cohort in cohorts where !shouldStop() && fatal.error == nil {
            // Members whose checkpoints are at different epochs (after a crash) train in the pool.
            guard let trained = trainCohort(cohort, until: rung, fatal: fatal, doneBefore: done, queued: pending.count - done - cohort.count, runner: runner) else {
                singles += cohort
                continue
            }
            ran += trained
            done += cohort.count
        }
        let stop = { shouldStop() || fatal.error != nil }
        let outcomes = pool.run(singles.map { member in
            let (id, trainer) = (member.id, member.trainer)
            return PoolTrial(id: id, memoryBytes: trainer.memoryBytes) { [self] in
                guard let generation = runner.claim(id, until: rung, fatal: fatal) else { return nil }
                defer { runner.release(id) }
                let result: TrialResult
                do {
                    result = try trainer.run(untilEpoch: rung, shouldStop: stop) { runner.journalEpoch(id, $0) }
                } catch {
                    if reportFailure(id, error, generation: generation, fatal: fatal, runner: runner) { throw error }
                    return nil
                }
                return report(member, result, generation: generation, until: rung, fatal: fatal, runner: runner)
            }
        }) { [self] event in
            switch event {
            case .finished(_, .skipped, _, _, _): return
            // Stopped short of the rung (Ctrl-C, or a storage failure stopping every trial): it resumes
            // from its checkpoint; a "paused at 0 epochs" line would report progress that did not happen.
            case let .finished(_, .completed(result), _, _, _) where result.status == .stopped && result.epochsRun < rung: return
            case let .finished(id, outcome, doneInPool, running, queued):
                onEvent(.pool(.finished(id: id, outcome: outcome, done: done + doneInPool, running: running, queued: queued)))
            case .started: onEvent(.pool(event))
            }
        }
        for outcome in outcomes {
            switch outcome {
            case .skipped: continue
            case .completed, .failed: ran += 1
            }
        }
        if let error = fatal.error { throw error }
        return ran
    }
    /// A trial whose training threw: a checkpoint that could not be written is the machine's failure
    /// (it stops the sweep); anything else is the trial's. Whether it was journaled.
    func reportFailure(_ id: String, _ error: Error, generation: Int, fatal: FatalError, runner: SweepRunner) -> Bool {
        runner.reportFailure(id, error, isStorageFailure: error is CheckpointWriteError, generation: generation, fatal: fatal)
    }

    /// Journals how a member's stretch to `rung` ended (SweepRunner.report), keeping its network's
    /// file when the search keeps finished trials' models.
    func report(_ trial: PendingTrial, _ trained: TrialResult, generation: Int, until rung: Int, fatal: FatalError, runner: SweepRunner) -> TrialResult? {
        runner.report(trial.id, trained, previous: (trial.previousSeconds, trial.previousReadSeconds), generation: generation,
                      until: rung, fatal: fatal) {
            let metrics = ["role": "search", "trained_on": spec.data.searchTrain, "scored_on": spec.data.searchEval,
                           "val_acc": "\(trained.bestValAccuracy)", "val_loss": "\(trained.finalValLoss)"]
            return try keepModel(trial.trainer, id: trial.id, relativePath: "models/search/\(trial.id).safetensors", metrics: metrics, runner: runner)
        }
    }
}

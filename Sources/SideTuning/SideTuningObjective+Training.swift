import Essentials
import Foundation
import Numerics
import Sweep
import Training

// Training stretches: each slot of the runner (one per worker) trains one trial through the pool,
// which shares the memory budget between slots, or, with shared reads, a cohort on its one thread;
// each trial is claimed and reported through the runner (SweepRunner+Journaling.swift).
extension SideTuningObjective {
    public var slots: Int { pool.workers }

    /// Trains the first of `offered` this process can claim, or a cohort of them when reads are worth
    /// sharing; each outcome is journaled before the trial's lease is released. How many it trained.
    public func train(_ offered: [Stretch], runner: SweepRunner) throws -> Int {
        let data = TrialData(
            cache: cache, trainSplit: spec.data.searchTrain, evalSplit: spec.data.searchEval, classes: spec.data.classes
        )
        // A storage failure (disk full, read-only results) stops every trial and the sweep, with
        // nothing journaled for the trials it hit: they resume from their last checkpoint later.
        let fatal = FatalError()
        if readsAreWorthSharing(runner.state),
            let trained = try trainCohort(of: offered, data: data, fatal: fatal, runner: runner)
        {
            return trained
        }
        for stretch in offered {
            guard let generation = runner.claim(stretch.id, until: stretch.rung, fatal: fatal) else {
                if let error = fatal.error { throw error }
                continue
            }
            defer { runner.release(stretch.id) }
            guard let member = try pendingTrial(stretch.id, data: data, runner: runner) else { continue }
            let trained = train(
                member, until: stretch.rung, generation: generation, queued: offered.count - 1, fatal: fatal,
                runner: runner)
            if let error = fatal.error { throw error }
            return trained ? 1 : 0
        }
        return 0
    }

    /// Trains claimed `member` to `rung` through the pool (which shares the memory budget between
    /// slots) and journals how it ended; whether anything was journaled.
    private func train(
        _ member: PendingTrial, until rung: Int, generation: Int, queued: Int, fatal: FatalError, runner: SweepRunner
    ) -> Bool {
        let stop = { runner.shouldStop() || fatal.error != nil }
        let outcome = pool.run([
            PoolTrial(id: member.id, memoryBytes: member.trainer.memoryBytes) { [self] in
                let result: TrialResult
                do {
                    result = try member.trainer.run(untilEpoch: rung, shouldStop: stop) {
                        runner.journalEpoch(member.id, $0)
                    }
                } catch {
                    if reportFailure(member.id, error, generation: generation, fatal: fatal, runner: runner) {
                        throw error
                    }
                    return nil
                }
                return report(member, result, generation: generation, until: rung, fatal: fatal, runner: runner)
            }
        ]) { [self] event in
            switch event {
            // Stopped short of the rung (Ctrl-C, or a storage failure stopping every trial): it resumes
            // from its checkpoint; a "paused at 0 epochs" line would report progress that did not happen.
            case let .finished(_, .completed(result), _, _, _)
            where result.status == .stopped && result.epochsRun < rung: return
            case .finished(_, .skipped, _, _, _): return
            case let .finished(id, outcome, _, _, _):
                onEvent(
                    .pool(
                        .finished(
                            id: id, outcome: outcome, done: runner.stretchesEndedHere + 1,
                            running: max(0, runner.runningHere - 1), queued: queued)))
            case let .started(id, _, _):
                onEvent(.pool(.started(id: id, running: runner.runningHere, queued: queued)))
            }
        }[0]
        if case .skipped = outcome { return false }
        return true
    }

    /// The trainer of claimed trial `id`, resumed from its checkpoint; nil (journaled as failed) when
    /// it cannot train at all: settings its data cannot take, or more memory than the whole budget
    /// (left to the pool, it would fail unjournaled and be offered again for ever).
    func pendingTrial(_ id: String, data: TrialData, runner: SweepRunner) throws -> PendingTrial? {
        let record = runner.state.trials[id]!
        do {
            let trainer = try self.trainer(record, data: data, checkpoint: runner.checkpoint(id))
            // A trial of several shards spreads its steps over its slot and the idle ones.
            trainer.threads = { [unowned runner] in 1 + runner.idleSlots }
            trainer.borrowThreads = { [unowned runner] in runner.borrowSlots($0) }
            guard pool.admits(trainer.memoryBytes) else {
                throw TrialError(TrialPool.tooLarge(trainer.memoryBytes, budget: pool.memoryBudget))
            }
            return PendingTrial(
                id: id, trainer: trainer, previousSeconds: record.result?.trainSeconds ?? 0,
                previousReadSeconds: record.result?.readSeconds ?? 0)
        } catch {
            try runner.recordUntrainable(id, error)
            return nil
        }
    }

    /// A trial whose training threw: a checkpoint that could not be written is the machine's failure
    /// (it stops the sweep); anything else is the trial's. Whether it was journaled.
    func reportFailure(_ id: String, _ error: Error, generation: Int, fatal: FatalError, runner: SweepRunner) -> Bool {
        runner.reportFailure(
            id, error, isStorageFailure: error is CheckpointWriteError, generation: generation, fatal: fatal)
    }

    /// Journals how a member's stretch to `rung` ended (SweepRunner.report), keeping its network's
    /// file when the search keeps finished trials' models.
    func report(
        _ trial: PendingTrial, _ trained: TrialResult, generation: Int, until rung: Int, fatal: FatalError,
        runner: SweepRunner
    ) -> TrialResult? {
        runner.report(
            trial.id, trained, previous: (trial.previousSeconds, trial.previousReadSeconds), generation: generation,
            until: rung, fatal: fatal
        ) {
            let metrics = [
                "role": "search", "trained_on": spec.data.searchTrain, "scored_on": spec.data.searchEval,
                "val_acc": "\(trained.bestValAccuracy)", "val_loss": "\(trained.finalValLoss)",
            ]
            return try keepModel(
                trial.trainer, id: trial.id, relativePath: "models/search/\(trial.id).safetensors", metrics: metrics,
                runner: runner)
        }
    }
}

import Essentials
import Foundation
import Training
import Numerics

// Training stretches: claiming trials through leases, the pool, and journaling each outcome before
// its lease is released (fenced when another worker took the lease over).
extension SweepRunner {
    /// Trains those of `ids` this process can claim up to `rung` epochs; each outcome is journaled
    /// before the trial's lease is released. Compatible trials go in cohorts that share each batch
    /// read (SweepRunner+Cohorts.swift), the rest through the pool. Returns how many it trained.
    func train(_ ids: [String], until rung: Int) throws -> Int {
        let data = TrialData(cache: cache, trainSplit: spec.data.searchTrain, evalSplit: spec.data.searchEval, classes: spec.data.classes)
        // A storage failure (disk full, read-only results) stops every trial and the sweep, with
        // nothing journaled for the trials it hit: they resume from their last checkpoint later.
        let fatal = FatalError()
        var pending: [PendingTrial] = []
        for id in ids {
            let record = state.trials[id]!
            do {
                let trainer = try self.trainer(record, data: data, checkpointID: id)
                // One that can never fit is journaled as failed, once; left to the pool, it would fail
                // unjournaled and be planned again for ever.
                guard pool.admits(trainer.memoryBytes) else { throw TrialError(TrialPool.tooLarge(trainer.memoryBytes, budget: pool.memoryBudget)) }
                pending.append(PendingTrial(id: id, trainer: trainer,
                                             previousSeconds: record.result?.trainSeconds ?? 0, previousReadSeconds: record.result?.readSeconds ?? 0))
            } catch {
                var event = JournalEvent(.failed, trial: id)
                event.error = "\(error)"
                try store.record(event)
            }
        }
        var ran = 0
        var (cohorts, singles) = readsAreWorthSharing() ? formCohorts(pending) : ([], pending)
        var done = 0
        if !cohorts.isEmpty { onEvent(.cohorts(trials: cohorts.reduce(0) { $0 + $1.count }, cohorts: cohorts.count)) }
        for cohort in cohorts where !shouldStop() && fatal.error == nil {
            // Members whose checkpoints are at different epochs (after a crash) train in the pool.
            guard let trained = trainCohort(cohort, until: rung, fatal: fatal, doneBefore: done, queued: pending.count - done - cohort.count) else {
                singles += cohort
                continue
            }
            ran += trained
            done += cohort.count
        }
        let stop = { [stop = self.shouldStop] in stop() || fatal.error != nil }
        let outcomes = pool.run(singles.map { member in
            let (id, trainer) = (member.id, member.trainer)
            return PoolTrial(id: id, memoryBytes: trainer.memoryBytes) { [self] in
                guard let generation = claim(id, until: rung, fatal: fatal) else { return nil }
                defer { machinery.measure(pooled: true) { store.leases.release(id) } }
                let result: TrialResult
                do {
                    result = try trainer.run(untilEpoch: rung, shouldStop: stop) { journalEpoch(id, $0) }
                } catch {
                    if reportFailure(id, error, generation: generation, fatal: fatal) { throw error }
                    return nil
                }
                return report(member, result, generation: generation, until: rung, fatal: fatal)
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

    /// Claims trial `id` for training to `rung`: its lease (returned; the caller releases it), a
    /// fresh look at the journals (another worker may have trained it since), and its started line.
    /// Nil when it is not ours to train.
    func claim(_ id: String, until rung: Int, fatal: FatalError) -> Int? {
        guard let generation = machinery.measure(pooled: true, { store.leases.acquire(id) }) else { return nil }
        do {
            try store.refresh(pooled: true, rescan: worker != nil)
            if let now = state.trials[id], !now.isDone && now.epochsDone < rung {
                var started = JournalEvent(.started, trial: id)
                started.epochs = rung; started.lease = generation; started.host = LeaseKeeper.hostName
                try store.record(started, pooled: true)
                return generation
            }
        } catch { fatal.set(error) }
        machinery.measure(pooled: true) { store.leases.release(id) }
        return nil
    }

    /// Marks an outcome with who reported it: lease generation, host, hpsweep version, CPU and kernel.
    func stamp(_ event: inout JournalEvent, lease: Int) {
        event.lease = lease; event.host = LeaseKeeper.hostName; event.version = hpsweepVersion
        event.cpu = CPUDescription.current.summary; event.blas = BLASKernel.current.provenance
    }

    /// Journals one epoch of a trial in progress (progress only: not fsync'ed).
    func journalEpoch(_ id: String, _ record: EpochRecord) {
        var event = JournalEvent(.epoch, trial: id)
        event.record = record
        store.recordProgress(event)
    }

    /// A trial whose training threw: a storage failure stops the sweep (the trial resumes from its
    /// checkpoint later); anything else is journaled as its failure, unless fenced. Whether it was.
    func reportFailure(_ id: String, _ error: Error, generation: Int, fatal: FatalError) -> Bool {
        if error is CheckpointWriteError { fatal.set(error); return false }
        guard store.leases.owns(id, generation: generation) else { return false }
        var event = JournalEvent(.failed, trial: id)
        event.error = "\(error)"; stamp(&event, lease: generation)
        do { try store.record(event, pooled: true) } catch { fatal.set(error); return false }
        return true
    }

    /// Journals how a trial's stretch to `rung` ended (finished, diverged, or paused at the rung) and
    /// returns its result; nil when fenced out or when journaling failed.
    func report(_ trial: PendingTrial, _ trained: TrialResult, generation: Int, until rung: Int, fatal: FatalError) -> TrialResult? {
        let id = trial.id
        var result = trained
        result.trainSeconds += trial.previousSeconds   // of the trial's earlier stretches
        result.readSeconds += trial.previousReadSeconds
        // Fenced: a worker whose lease was taken over (it looked dead) reports nothing.
        guard store.leases.owns(id, generation: generation) else { return nil }
        var event: JournalEvent
        switch result.status {
        case .diverged: event = JournalEvent(.diverged, trial: id)
        case .finished: event = JournalEvent(.finished, trial: id)
        case .stopped:
            guard result.epochsRun == rung else { return result }   // interrupted: resumes from its checkpoint
            event = JournalEvent(.rung, trial: id)
            event.epochs = rung
        }
        event.result = result
        if result.status == .finished && search.keepModels == .finished {
            let metrics = ["role": "search", "trained_on": spec.data.searchTrain, "scored_on": spec.data.searchEval,
                           "val_acc": "\(result.bestValAccuracy)", "val_loss": "\(result.finalValLoss)"]
            do { event.modelFile = try keepModel(trial.trainer, id: id, relativePath: "models/search/\(id).safetensors", metrics: metrics) }
            catch { fatal.set(error); return nil }
        }
        // A rung line leaves out the history: its epoch lines carry it, and the finished line will.
        if event.event == .rung { event.result?.history = [] }
        stamp(&event, lease: generation)
        do { try store.record(event, pooled: true) } catch { fatal.set(error); return nil }
        if result.status != .stopped { try? FileManager.default.removeItem(atPath: store.checkpoint(id)) }
        return result
    }
}

/// The first storage failure seen by any pool thread.
final class FatalError: @unchecked Sendable {
    private let lock = NSLock()
    private var first: Error?
    var error: Error? { lock.lock(); defer { lock.unlock() }; return first }
    func set(_ error: Error) { lock.lock(); if first == nil { first = error }; lock.unlock() }
}

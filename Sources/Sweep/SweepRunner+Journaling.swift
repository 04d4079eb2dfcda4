import Essentials
import Foundation

// What an objective calls while it trains: claims through leases, and each outcome journaled before
// its lease is released (fenced when another worker took the lease over).
extension SweepRunner {
    /// Claims trial `id` for training to `rung`: its lease (returned; the caller releases it), a
    /// fresh look at the journals (another worker may have trained it since), and its started line.
    /// Nil when it is not ours to train.
    public func claim(_ id: String, until rung: Int, fatal: FatalError) -> Int? {
        guard let generation = machinery.measure(pooled: true, { store.leases.acquire(id) }) else { return nil }
        slots.hold(id)
        do {
            try store.refresh(pooled: true, rescan: worker != nil)
            if let now = state.trials[id], !now.isDone && now.epochsDone < rung {
                try store.record(
                    .started(TrialStart(trial: id, towards: rung, lease: generation, host: LeaseKeeper.hostName)),
                    pooled: true)
                return generation
            }
        } catch { fatal.set(error) }
        release(id)
        return nil
    }

    /// Gives up the lease on `id` (after its outcome was journaled, or when it was not trained).
    public func release(_ id: String) {
        machinery.measure(pooled: true) { store.leases.release(id) }
        slots.letGo(id)
    }

    /// Where trial `id` keeps its epoch checkpoint while it trains (`id-final` in the final phase).
    public func checkpoint(_ id: String) -> String { store.checkpoint(id) }

    /// Journals that `id` could not be trained at all (settings its data cannot take, too large to fit).
    public func recordUntrainable(_ id: String, _ error: Error) throws {
        try store.record(.failed(TrialFailure(trial: id, error: "\(error)")))
    }

    /// A trial whose training threw: a storage failure (`isStorageFailure`) stops the sweep (the trial
    /// resumes from its checkpoint later); anything else is journaled as its failure, unless fenced.
    /// Whether it was journaled.
    public func reportFailure(_ id: String, _ error: Error, isStorageFailure: Bool, generation: Int, fatal: FatalError)
        -> Bool
    {
        if isStorageFailure { fatal.set(error); return false }
        guard store.leases.owns(id, generation: generation) else { return false }
        let failure = TrialFailure(trial: id, error: "\(error)", reporter: reporter(lease: generation))
        do { try store.record(.failed(failure), pooled: true) } catch { fatal.set(error); return false }
        return true
    }

    /// Journals how a trial's stretch to `rung` ended (finished, diverged, or paused at the rung) and
    /// returns its result (with `previous` train and read seconds of earlier stretches added); nil
    /// when fenced out or when journaling failed. `keepModel`: writes the trained network's file when
    /// the search keeps finished trials' models, returning its path relative to the sweep's directory.
    public func report(
        _ id: String, _ trained: TrialResult, previous: (seconds: Double, readSeconds: Double), generation: Int,
        until rung: Int, fatal: FatalError, keepModel: () throws -> String
    ) -> TrialResult? {
        var result = trained
        result.trainSeconds += previous.seconds
        result.readSeconds += previous.readSeconds
        // Fenced: a worker whose lease was taken over (it looked dead) reports nothing.
        guard store.leases.owns(id, generation: generation) else { return nil }
        var outcome = StretchOutcome(trial: id, result: result, reporter: reporter(lease: generation))
        let event: JournalEvent
        switch result.status {
        case .diverged: event = .diverged(outcome)
        case .finished:
            if search.keepModels == .finished {
                do { outcome.modelFile = try keepModel() } catch { fatal.set(error); return nil }
            }
            event = .finished(outcome)
        case .stopped:
            guard result.epochsRun == rung else { return result }  // interrupted: resumes from its checkpoint
            // A rung line leaves out the history: its epoch lines carry it, and the finished line will.
            outcome.rung = rung
            outcome.result.history = []
            event = .rung(outcome)
        }
        do { try store.record(event, pooled: true) } catch { fatal.set(error); return nil }
        if result.status != .stopped { try? FileManager.default.removeItem(atPath: store.checkpoint(id)) }
        return result
    }

    /// Journals one final-phase outcome (test scores, the retraining's result, the model file), unless
    /// another worker took the final lease over; whether it was journaled.
    public func recordFinal(
        _ id: String, testAccuracy: Float, testLoss: Float, confusion: [[Int]]?, result: TrialResult?,
        modelFile: String?, classNames: [String]? = nil, leaseGeneration: Int
    ) throws -> Bool {
        // Fenced: another worker took the final phase over.
        guard store.leases.owns("final", generation: leaseGeneration) else { return false }
        try store.record(
            .final(
                FinalScore(
                    trial: id, testAccuracy: testAccuracy, testLoss: testLoss, confusion: confusion, result: result,
                    modelFile: modelFile, classNames: classNames, reporter: reporter(lease: leaseGeneration))))
        try? FileManager.default.removeItem(atPath: store.checkpoint(id + "-final"))
        return true
    }

    /// Whether this process still holds the final phase's lease of `generation`.
    public func ownsFinal(_ generation: Int) -> Bool { store.leases.owns("final", generation: generation) }

    /// Who reports an outcome: this process under lease generation `lease`, its hpsweep version, CPU and kernel.
    func reporter(lease: Int) -> Reporter {
        Reporter(
            lease: lease, host: LeaseKeeper.hostName, version: hpsweepVersion, cpu: objective.provenance.cpu,
            blas: objective.provenance.blas)
    }

    /// Journals one epoch of a trial in progress (progress only: not fsync'ed).
    public func journalEpoch(_ id: String, _ record: EpochRecord) {
        store.recordProgress(.epoch(TrialEpoch(trial: id, record: record)))
    }
}

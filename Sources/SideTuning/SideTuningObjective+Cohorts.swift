import Foundation
import Sweep
import Training

/// A trial about to train in a stretch: its trainer and its train time so far.
struct PendingTrial {
    let id: String
    let trainer: TrialTrainer
    let previousSeconds: Double
    let previousReadSeconds: Double
}

/// Shared reads in a sweep: trials of a stretch that can step through the data together (same data
/// order, batch size and taps; SharedReads) train in cohorts of up to as many trials as the pool has
/// workers, each cohort in one slot on its thread and on any slots idle meanwhile, reading every
/// batch once for all its members while the other slots train beside it. Results are
/// bitwise those of training alone, so this changes only the time (`hpsweep run --shared-reads
/// auto|on|off`).
///
/// Whether it pays depends on how much of a trial's time goes to reading (docs/training.md): on
/// ViT-B/16 taps (12% of trial time) cohorts of two were 5% faster than two independent workers; on
/// the demo's tiny taps (4%) they were slower. So the first trials of a run train independently and
/// measure their reads; cohorts are used from then on if reads took at least `sharingThreshold`.
public enum ReadSharing: String, CaseIterable {
    /// Cohorts once the first trials show reads worth sharing.
    case auto
    case on, off
}

extension SideTuningObjective {
    /// The share of trial time spent reading above which cohorts are used.
    static let sharingThreshold = 0.08

    /// Whether this stretch uses cohorts: decided once per run, from the read share of the trials
    /// trained so far (at least one per worker); until then, no.
    func readsAreWorthSharing(_ state: SweepState) -> Bool {
        guard sharedReads != .off, pool.workers > 1 else { return false }
        if sharedReads == .on { return true }
        if let decided = sharingDecision { return decided }
        let results = state.records.compactMap(\.result).filter { $0.trainSeconds > 0 }
        guard results.count >= pool.workers else { return false }
        let read = results.reduce(0) { $0 + $1.readSeconds }, total = results.reduce(0) { $0 + $1.trainSeconds }
        sharingDecision = read >= Self.sharingThreshold * total
        onEvent(.readSharing(cohorts: sharingDecision!, readShare: read / total))
        return sharingDecision!
    }

    /// Splits `members` into cohorts (of `pool.workers`, similar costs together so that no member
    /// waits long at each step's barrier, within the memory budget) and the rest, which train alone.
    func formCohorts(_ members: [PendingTrial], _ state: SweepState) -> (
        cohorts: [[PendingTrial]], singles: [PendingTrial]
    ) {
        let size = pool.workers
        guard size > 1 else { return ([], members) }
        // Groups that could share (SharedReads' rule) and have trained equally far.
        let progress = { (member: PendingTrial) in state.trials[member.id]?.epochsDone ?? 0 }
        var groups: [[PendingTrial]] = []
        for member in members {
            if let g = groups.firstIndex(where: {
                progress($0[0]) == progress(member)
                    && SharedReads.incompatibility([$0[0].trainer, member.trainer]) == nil
            }) {
                groups[g].append(member)
            } else {
                groups.append([member])
            }
        }
        var cohorts: [[PendingTrial]] = [], singles: [PendingTrial] = []
        for group in groups {
            let byCost = group.sorted {
                ($0.trainer.network.forwardFLOPsPerExample, $0.id) < ($1.trainer.network.forwardFLOPsPerExample, $1.id)
            }
            // Greedy runs of similar cost: a member more than 25% dearer than the run's first would
            // keep the others waiting at every step, so it starts the next run.
            var run: [PendingTrial] = []
            func close() {
                if run.count > 1 && run.reduce(0, { $0 + $1.trainer.memoryBytes }) <= pool.memoryBudget {
                    cohorts.append(run)
                } else {
                    singles += run
                }
                run = []
            }
            for member in byCost {
                if let first = run.first,
                    run.count == size
                        || member.trainer.network.forwardFLOPsPerExample > 1.25
                            * first.trainer.network.forwardFLOPsPerExample
                {
                    close()
                }
                run.append(member)
            }
            close()
        }
        let alone = Set(singles.map(\.id))
        return (cohorts, members.filter { alone.contains($0.id) })  // in the stretch's order
    }

    /// Trains a cohort of `offered`: of the first stretches to the first one's rung (twice as many as
    /// a cohort holds), those that can share reads; nil when they form none (the slot trains one alone).
    func trainCohort(of offered: [Stretch], data: TrialData, fatal: FatalError, runner: SweepRunner) throws -> Int? {
        guard let rung = offered.first?.rung else { return nil }
        var candidates: [PendingTrial] = []
        for stretch in offered.filter({ $0.rung == rung }).prefix(2 * pool.workers) {
            // (Not claimed yet: a trial that cannot train is journaled as failed like any other.)
            if let member = try pendingTrial(stretch.id, data: data, runner: runner) { candidates.append(member) }
        }
        for cohort in formCohorts(candidates, runner.state).cohorts {
            onEvent(.cohorts(trials: cohort.count, cohorts: 1))
            if let trained = trainCohort(
                cohort, until: rung, fatal: fatal, doneBefore: runner.stretchesEndedHere,
                queued: max(0, offered.count - cohort.count), runner: runner), trained > 0
            {
                if let error = fatal.error { throw error }
                return trained
            }
        }
        if let error = fatal.error { throw error }
        return nil
    }

    /// Trains one cohort to `rung`: claims each member (those another worker holds drop out),
    /// trains the rest together, journals each outcome. Returns how many it trained, or nil (nothing
    /// trained, no lease kept) when the members' checkpoints are at different epochs. Progress events
    /// count `doneBefore` trials of the stretch done and `queued` still to come after this cohort.
    func trainCohort(
        _ cohort: [PendingTrial], until rung: Int, fatal: FatalError, doneBefore: Int, queued: Int, runner: SweepRunner
    ) -> Int? {
        var members: [(member: PendingTrial, generation: Int)] = []
        for member in cohort {
            guard let generation = runner.claim(member.id, until: rung, fatal: fatal) else { continue }
            members.append((member, generation))
        }
        defer { for (member, _) in members { runner.release(member.id) } }
        guard !members.isEmpty else { return 0 }
        let stop = { [stop = runner.shouldStop] in stop() || fatal.error != nil }
        for (k, (member, _)) in members.enumerated() {
            onEvent(.pool(.started(id: member.id, running: k + 1, queued: queued)))
        }
        var outcomes: [TrialOutcome]
        do {
            // Its slot's thread, and at each step the slots idle then (results do not depend on it).
            let results = try pool.withSingleThreadedBLAS {
                try SharedReads.run(
                    members.map(\.member.trainer), workers: 1 + runner.idleSlots, untilEpoch: rung, shouldStop: stop
                ) { k, record in
                    runner.journalEpoch(members[k].member.id, record)
                }
            }
            outcomes = zip(members, results).map { member, result in
                report(member.member, result, generation: member.generation, until: rung, fatal: fatal, runner: runner)
                    .map(TrialOutcome.completed) ?? .skipped
            }
        } catch is SharedReads.UnevenProgress {
            return nil
        } catch {
            outcomes = members.map {
                reportFailure($0.member.id, error, generation: $0.generation, fatal: fatal, runner: runner)
                    ? .failed("\(error)") : .skipped
            }
        }
        for (k, (member, _)) in members.enumerated() {
            onEvent(
                .pool(
                    .finished(
                        id: member.id, outcome: outcomes[k], done: doneBefore + k + 1, running: members.count - k - 1,
                        queued: queued)))
        }
        return outcomes.filter {
            if case .skipped = $0 { return false }; return true
        }.count
    }
}

import Foundation

/// Which trials of a generation continue past a rung, from the journals alone.
///
/// The decision is taken once every trial of the generation reached the rung, and must come out the
/// same however often it is asked, by whichever worker, while its survivors train on. So it is
/// computed only while no trial has gone past the rung (every standing is then the trial's state *at*
/// the rung; a trial pruned here counts as the paused trial it was), and once any trial went past it,
/// it is read back from the journal: whoever trained on had journaled its prunings first.
struct RungDecision {
    let pruner: any Pruner
    let objectives: [SearchSpec.Objective]
    var primary: SearchSpec.Objective { objectives[0] }

    /// Of `alive` (trials of one generation, each at least at `rung`: paused, finished or pruned),
    /// those that continue, and those of them still to be pruned now; `reference`: the finished trials
    /// a Pareto-aware decision compares with.
    func survivors(_ alive: [String], rung: Int, _ state: SweepState, reference: [TrialRecord]) -> (
        continuing: [String], pruneNow: [String]
    ) {
        let prunedHere = { (id: String) -> Bool in
            let t = state.trials[id]!; return t.status == .pruned && t.epochsDone <= rung
        }
        if alive.contains(where: { state.trials[$0]!.epochsDone > rung }) {
            return (alive.filter { !prunedHere($0) }, [])
        }
        let (standings, finished) = self.standings(alive, rung: rung, state, reference: reference)
        let keep = pruner.survivors(standings, finished: finished)
        let pruneNow = alive.filter { !keep.contains($0) && state.trials[$0]!.status == .paused }
        return (alive.filter { keep.contains($0) }, pruneNow)
    }

    /// What the pruner is given at `rung` for trials `ids`, and the objective vectors of the finished
    /// trials. A paused trial's optimistic vector has its accuracy raised by the largest gain from epoch
    /// `rung` to the end seen in any finished reference trial, plus 0.02 (none before any trial finished).
    func standings(_ ids: [String], rung: Int, _ state: SweepState, reference: [TrialRecord]) -> (
        standings: [RungStanding], finished: [[Double]]
    ) {
        let finished = reference.filter { $0.status == .finished && $0.result != nil }
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
            // Pruned at this rung: it was paused here when the decision was first taken.
            let paused = record.status == .paused || record.status == .pruned
            var optimistic: [Double]?
            if let largest, paused {
                var raised = record
                raised.result?.bestValAccuracy = min(1, (record.result?.bestValAccuracy ?? 0) + largest + 0.02)
                optimistic = objectiveVector(raised, objectives, forSampler: true)
            }
            return RungStanding(
                id: id, paused: paused, primary: objectiveVector(record, [primary])[0],
                objectives: objectiveVector(record, objectives, forSampler: true), optimistic: optimistic)
        }
        return (standings, finished.map { objectiveVector($0, objectives, forSampler: true) })
    }
}

import Essentials
import Training
import XCTest

@testable import Sweep

/// Rung decisions on synthetic journals: the answer must not change while the survivors train on,
/// whoever asks (the Slurm job-array test caught a worker re-deciding a rung mid-stretch and pruning a
/// survivor there).
/// Journal lines as the runner writes them, for synthetic trials (method `linear`).
enum SyntheticJournal {
    static func result(_ accuracies: [Float], params: Int, finished: Bool = false) -> TrialResult {
        let history = accuracies.enumerated().map {
            EpochRecord(epoch: $0.offset + 1, trainLoss: 1, learningRate: 0.1, valAccuracy: $0.element, valLoss: 1)
        }
        return TrialResult(
            status: finished ? .finished : .stopped, epochsRun: accuracies.count, bestEpoch: accuracies.count,
            bestValAccuracy: accuracies.max()!, finalValAccuracy: accuracies.last!, finalValLoss: 1, history: history,
            trainableParameters: params, trainingFLOPs: Double(params * accuracies.count), workingMemoryBytes: 1,
            trainSeconds: 1)
    }

    static func planned(_ id: String, generation: Int) -> JournalEvent {
        .planned(
            TrialPlan(
                trial: id, generation: generation, config: 0, method: "linear", params: [:], seed: 0, trialSeed: 1,
                key: nil))
    }

    enum Ending { case rung, finished, diverged }

    static func outcome(
        _ kind: Ending, _ id: String, _ result: TrialResult, at time: Double = Date().timeIntervalSince1970
    ) -> JournalEvent {
        switch kind {
        case .rung: .rung(StretchOutcome(trial: id, result: result, rung: result.epochsRun, time: time))
        case .finished: .finished(StretchOutcome(trial: id, result: result, time: time))
        case .diverged: .diverged(StretchOutcome(trial: id, result: result, time: time))
        }
    }

    static func pruned(_ id: String, at rung: Int) -> JournalEvent { .pruned(TrialPruning(trial: id, rung: rung)) }
}

final class RungDecisionTests: XCTestCase {
    typealias J = SyntheticJournal
    let objectives = [
        SearchSpec.Objective(metric: .valAccuracy, direction: .maximize),
        SearchSpec.Objective(metric: .params, direction: .minimize),
    ]
    var decision: RungDecision { RungDecision(pruner: ParetoAwareHalving(reductionFactor: 2), objectives: objectives) }

    /// Generation 0 finished one trial f (accuracy 0.5 at epoch 2, 0.9 at the end: a gain of 0.4);
    /// generation 1 has x (0.3, large: out of reach of f even with 0.4 + 0.02 more), y (0.45, small) and
    /// z (0.2, small), all paused at rung 2 of [2, 4].
    var atTheRung: [JournalEvent] {
        [
            J.planned("f", generation: 0),
            J.outcome(.finished, "f", J.result([0.4, 0.5, 0.7, 0.9], params: 10, finished: true)),
            J.planned("x", generation: 1), J.planned("y", generation: 1), J.planned("z", generation: 1),
            J.outcome(.rung, "x", J.result([0.1, 0.3], params: 100)),
            J.outcome(.rung, "y", J.result([0.2, 0.45], params: 5)),
            J.outcome(.rung, "z", J.result([0.1, 0.2], params: 8)),
        ]
    }

    /// Generation 1's decision at rung 2, against generation 0's finished trial.
    func decide(_ events: [JournalEvent]) -> (continuing: [String], pruneNow: [String]) {
        let state = SweepState(events: events)
        return decision.survivors(["x", "y", "z"], rung: 2, state, reference: state.generation(0))
    }

    func testOutOfReachIsPrunedAndTheDecisionStandsOnceItIsJournaled() {
        let first = decide(atTheRung)
        XCTAssertEqual(first.continuing, ["y", "z"])
        XCTAssertEqual(first.pruneNow, ["x"])
        // Asked again after x's pruning was journaled: x was paused here, so it is still out of reach
        // (as a mere contender it would outrank z, and z would be pruned).
        let again = decide(atTheRung + [J.pruned("x", at: 2)])
        XCTAssertEqual(again.continuing, ["y", "z"])
        XCTAssertEqual(again.pruneNow, [])
    }

    func testTheDecisionIsReadBackWhileSurvivorsTrainOn() {
        // y trained on to epoch 4 and became far better; z has not started its stretch yet.
        let events =
            atTheRung + [J.pruned("x", at: 2), J.outcome(.rung, "y", J.result([0.2, 0.45, 0.8, 0.95], params: 5))]
        let later = decide(events)
        XCTAssertEqual(later.continuing, ["y", "z"])
        XCTAssertEqual(later.pruneNow, [])
        // Even if y had finished (its gain then counts in the optimistic bound of the others).
        let finished =
            atTheRung + [
                J.pruned("x", at: 2),
                J.outcome(.finished, "y", J.result([0.2, 0.45, 0.8, 0.95], params: 5, finished: true)),
            ]
        XCTAssertEqual(decide(finished).continuing, ["y", "z"])
    }
}

/// Journals folded in any order: a worker's lines about a trial another worker planned may be read
/// before the planned line (the leaderboard once showed such a trial at its earlier rung).
final class JournalFoldOrderTests: XCTestCase {
    typealias J = SyntheticJournal
    func testLinesBeforeTheirPlannedLineWaitForIt() {
        let planner = [J.planned("a", generation: 0), J.outcome(.rung, "a", J.result([0.1, 0.2], params: 3))]
        let trainer = [J.outcome(.rung, "a", J.result([0.1, 0.2, 0.3, 0.4], params: 3))]
        let pruner = [J.pruned("a", at: 4)]
        for order in [
            planner + trainer + pruner, trainer + planner + pruner, pruner + trainer + planner,
            trainer + pruner + planner,
        ] {
            let state = SweepState(events: order)
            XCTAssertEqual(state.trials["a"]?.status, .pruned)
            XCTAssertEqual(state.trials["a"]?.epochsDone, 4)
            XCTAssertEqual(state.order, ["a"])
        }
        XCTAssertNil(SweepState(events: trainer).trials["a"], "no planned line: not a trial")
    }
}

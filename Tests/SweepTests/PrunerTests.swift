import XCTest

@testable import Sweep

/// The pruners on synthetic standings: no cache, no training, no journal (issue 17's scheduler tests).
/// Objectives are oriented to be minimised: (−accuracy, parameters).
final class PrunerTests: XCTestCase {
    func standing(
        _ id: String, accuracy: Double, params: Double = 1, paused: Bool = true, optimisticAccuracy: Double? = nil
    ) -> RungStanding {
        RungStanding(
            id: id, paused: paused, primary: -accuracy, objectives: [-accuracy, params],
            optimistic: optimisticAccuracy.map { [-$0, params] })
    }

    func testSuccessiveHalvingKeepsTheBestCeilingOfNOverEta() {
        let halving = SuccessiveHalving(reductionFactor: 3)
        let standings = [
            standing("a", accuracy: 0.5), standing("b", accuracy: 0.9), standing("c", accuracy: 0.7),
            standing("d", accuracy: 0.1), standing("e", accuracy: 0.8), standing("f", accuracy: 0.3),
            standing("g", accuracy: 0.6),
        ]
        XCTAssertEqual(halving.survivors(standings, finished: []), ["b", "e", "c"], "⌈7 / 3⌉ = 3, by accuracy")
        XCTAssertEqual(
            SuccessiveHalving(reductionFactor: 2).survivors(Array(standings.prefix(1)), finished: []), ["a"],
            "one always goes on")
        XCTAssertEqual(halving.survivors([], finished: []), [])
    }

    func testSuccessiveHalvingBreaksTiesByIdAndIgnoresOtherObjectives() {
        let halving = SuccessiveHalving(reductionFactor: 2)
        let tied = [
            standing("z", accuracy: 0.8, params: 1), standing("m", accuracy: 0.8, params: 100),
            standing("k", accuracy: 0.2, params: 1),
        ]
        XCTAssertEqual(halving.survivors(tied, finished: []), ["m", "z"], "⌈3 / 2⌉ = 2; parameters do not count")
        XCTAssertEqual(
            SuccessiveHalving(reductionFactor: 3).survivors(tied, finished: []), ["m"], "the tie goes to the smaller id"
        )
        // The order the runner lists them in does not matter.
        XCTAssertEqual(halving.survivors(tied.reversed(), finished: []), ["m", "z"])
    }

    func testParetoAwareKeepsTheFrontBeforeTheMostAccurate() {
        let pareto = ParetoAwareHalving(reductionFactor: 2)
        // a and b are on the front (accurate but large; small but less accurate); c and d are dominated by a.
        let standings = [
            standing("a", accuracy: 0.9, params: 100), standing("b", accuracy: 0.6, params: 1),
            standing("c", accuracy: 0.85, params: 200), standing("d", accuracy: 0.8, params: 150),
        ]
        XCTAssertEqual(pareto.survivors(standings, finished: []), ["a", "b"])
        XCTAssertEqual(
            SuccessiveHalving(reductionFactor: 2).survivors(standings, finished: []), ["a", "c"],
            "plain halving keeps the accurate large one")
        // Within a front, by the first objective: with η = 4 the one place goes to the more accurate.
        XCTAssertEqual(ParetoAwareHalving(reductionFactor: 4).survivors(standings, finished: []), ["a"])
    }

    func testParetoAwareStopsWhatCannotReachTheFinishedFront() {
        let pareto = ParetoAwareHalving(reductionFactor: 1)  // η = 1: everything in reach goes on
        let finished: [[Double]] = [[-0.9, 10]]
        let standings = [
            // Dominated by the finished one even at 0.7.
            standing("hopeless", accuracy: 0.5, params: 20, optimisticAccuracy: 0.7),
            // Fewer parameters: not dominated.
            standing("cheaper", accuracy: 0.5, params: 5, optimisticAccuracy: 0.7),
            // More accurate than the finished one at best.
            standing("could-win", accuracy: 0.5, params: 20, optimisticAccuracy: 0.95),
            // Equal at best: not strictly dominated.
            standing("equal", accuracy: 0.5, params: 10, optimisticAccuracy: 0.9),
            // No optimistic value: nothing known.
            standing("unknown", accuracy: 0.1, params: 20),
            // Finished: never stopped.
            standing("done", accuracy: 0.2, params: 20, paused: false, optimisticAccuracy: 0.2),
        ]
        XCTAssertEqual(
            pareto.survivors(standings, finished: finished), ["cheaper", "could-win", "equal", "unknown", "done"])
        XCTAssertEqual(
            pareto.survivors(standings, finished: []), Set(standings.map(\.id)),
            "no finished trial: nothing out of reach")
    }

    func testParetoAwarePlacesCountTheStoppedTrials() {
        // ⌈4 / 2⌉ = 2 places of all four, even though one is out of reach: the out-of-reach trial does not
        // make room for a third.
        let pareto = ParetoAwareHalving(reductionFactor: 2)
        let standings = [
            standing("a", accuracy: 0.8, params: 1, optimisticAccuracy: 0.95),
            standing("b", accuracy: 0.7, params: 1, optimisticAccuracy: 0.95),
            standing("c", accuracy: 0.6, params: 1, optimisticAccuracy: 0.95),
            standing("x", accuracy: 0.9, params: 50, optimisticAccuracy: 0.91),
        ]
        XCTAssertEqual(pareto.survivors(standings, finished: [[-0.92, 40]]), ["a", "b"])
    }

    func testEarlyStoppingSectionChoosesThePruner() {
        XCTAssertTrue(SearchSpec.EarlyStopping(rungs: [2], reductionFactor: 3).pruner is SuccessiveHalving)
        XCTAssertTrue(
            SearchSpec.EarlyStopping(rungs: [2], reductionFactor: 3, paretoAware: true).pruner is ParetoAwareHalving)
    }
}

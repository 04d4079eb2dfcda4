import Essentials
import Foundation
import SideTuning
import Sweep
import XCTest

/// `export --optuna` of a journal an editor (or another program) wrote: whatever values the trials
/// hold, every line is JSON Optuna can load, each distribution holds its trials' values, and a trial
/// whose objective is not finite fails, as Optuna fails it.
final class OptunaExportTests: XCTestCase {
    func result(_ accuracy: Float) -> TrialResult {
        TrialResult(
            status: .finished, epochsRun: 2, bestEpoch: 2, bestValAccuracy: accuracy, finalValAccuracy: accuracy,
            finalValLoss: 1, history: [EpochRecord(epoch: 1, trainLoss: 1, learningRate: 0.01, valAccuracy: .nan)],
            trainableParameters: 100, trainingFLOPs: 1, workingMemoryBytes: 1, trainSeconds: 1)
    }

    func testValuesNoDistributionDeclaredCanHoldAndNaNObjectivesExport() throws {
        var opened = SweepOpened(specSha256: "abc", time: 1)
        opened.objectives = ["val_acc:maximize", "params:minimize"]
        var events: [JournalEvent] = [.sweep(opened)]
        let params: [[String: ParameterValue]] = [
            ["lr": .number(0.01), "rank": .number(8)],
            ["lr": .text("x"), "rank": .number(2.5)],  // a word for a real, a fraction for an integer
            ["lr": .number(0.02), "rank": .number(4)],
        ]
        for (i, p) in params.enumerated() {
            events.append(
                .planned(
                    TrialPlan(
                        trial: "t\(i)", generation: 0, config: i, method: "last", params: p, seed: 0, trialSeed: 1,
                        key: nil, time: 2)))
            events.append(.finished(StretchOutcome(trial: "t\(i)", result: result(i == 2 ? .nan : 0.5), time: 3)))
        }
        let lines = try OptunaExport.lines(
            state: SweepState(events: events), studyName: "s", catalogue: SideTuningCatalogue.catalogue)
        XCTAssertEqual(lines.count, 4)
        let trials = try lines.dropFirst().map {
            try XCTUnwrap(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        for trial in trials {
            let distributions = try XCTUnwrap(trial["distributions"] as? [String: String])
            func distribution(_ name: String) throws -> [String: Any] {
                try XCTUnwrap(
                    try JSONSerialization.jsonObject(with: Data(try XCTUnwrap(distributions[name]).utf8))
                        as? [String: Any])
            }
            XCTAssertEqual(try distribution("lr")["name"] as? String, "CategoricalDistribution", "a word among reals")
            let rank = try distribution("rank")
            XCTAssertEqual(rank["name"] as? String, "FloatDistribution", "a fraction among integers")
            XCTAssertEqual((rank["attributes"] as? [String: Any])?["low"] as? Double, 2.5)
            XCTAssertEqual((rank["attributes"] as? [String: Any])?["high"] as? Double, 8)
            XCTAssertEqual((trial["intermediate_values"] as? [String: Any])?.count, 0, "NaN is no intermediate value")
        }
        XCTAssertEqual(trials.map { $0["state"] as? Int }, [1, 1, 3], "complete, complete, fail")
        XCTAssertEqual((trials[2]["user_attrs"] as? [String: Any])?["error"] as? String, "val_acc is nan")
        XCTAssertEqual((trials[2]["user_attrs"] as? [String: Any])?["best_val_acc"] as? String, "nan")
        XCTAssertNil(trials[2]["values"])
    }
}

import Essentials
import Foundation
import Sweep
import Training
import XCTest
import _TestSupport

final class JournalTests: XCTestCase {
    func event(_ kind: JournalEvent.Kind, _ trial: String) -> JournalEvent {
        var e = JournalEvent(kind, trial: trial, time: 1000)
        if kind == .planned {
            e.generation = 0; e.config = 0; e.method = "last"; e.params = ["lr": .number(0.01), "decay": .text("cosine")]
            e.seed = 0; e.trialSeed = 42
        }
        return e
    }

    func testRoundTripTornLastLineAndCorruption() throws {
        let path = temporaryDirectory(self).appendingPathComponent("journal.jsonl").path
        var finished = event(.finished, "a")
        finished.result = TrialResult(status: .finished, epochsRun: 2, bestEpoch: 1, bestValAccuracy: 0.75, finalValAccuracy: 0.5,
                                      finalValLoss: .nan, history: [EpochRecord(epoch: 1, trainLoss: 1.5, learningRate: 1e-3, valAccuracy: 0.75, valLoss: 0.3)],
                                      trainableParameters: 10, trainingFLOPs: 1e9, workingMemoryBytes: 100, trainSeconds: 1.25)
        do {
            let journal = try Journal(path: path)
            try journal.append(event(.planned, "a"))
            try journal.append(finished)
        }
        let events = try Journal.read(path)
        XCTAssertEqual(events.count, 2)
        XCTAssertEqual(events[0], event(.planned, "a"))
        var decoded = try XCTUnwrap(events[1].result), expected = try XCTUnwrap(finished.result)
        XCTAssertTrue(decoded.finalValLoss.isNaN, "NaN survives the round trip")
        decoded.finalValLoss = 0; expected.finalValLoss = 0
        XCTAssertEqual(decoded, expected, "every float bit for bit")

        // A torn final line (a kill during write) is ignored, and cut off when the journal reopens.
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile(); handle.write(Data("{\"event\":\"fini".utf8)); handle.closeFile()
        XCTAssertEqual(try Journal.read(path).count, 2)
        try Journal(path: path).append(event(.planned, "b"))
        XCTAssertEqual(try Journal.read(path).map(\.trial), ["a", "a", "b"])

        // Damage anywhere else is an error naming the line.
        var text = try String(contentsOfFile: path, encoding: .utf8)
        text = text.replacingOccurrences(of: "\"event\":\"finished\"", with: "\"event\":\"finishd\"")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Journal.read(path)) { error in
            XCTAssertEqual((error as? JournalError)?.line, 2, "\(error)")
            XCTAssertTrue("\(error)".hasPrefix(path + ":2: corrupt journal line"), "\(error)")
        }
    }

    func testStateReplaysTrialLifecycles() {
        var rung = event(.rung, "a"); rung.epochs = 2
        rung.result = TrialResult(status: .stopped, epochsRun: 2, bestEpoch: 2, bestValAccuracy: 0.5, finalValAccuracy: 0.5, finalValLoss: 1,
                                  history: [], trainableParameters: 1, trainingFLOPs: 1, workingMemoryBytes: 1, trainSeconds: 1)
        var failed = event(.failed, "b"); failed.error = "boom"
        let state = SweepState(events: [event(.planned, "a"), event(.planned, "b"), event(.planned, "c"), rung, failed,
                                        event(.pruned, "a"), event(.planned, "a")])
        XCTAssertEqual(state.records.map(\.id), ["a", "b", "c"], "a trial is planned once")
        XCTAssertEqual(state.records.map(\.status), [.pruned, .failed, .planned])
        XCTAssertEqual(state.trials["a"]!.epochsDone, 2)
        XCTAssertEqual(state.trials["b"]!.error, "boom")
    }
}

final class DuplicateResultTests: XCTestCase {
    func result(_ accuracy: Float) -> TrialResult {
        TrialResult(status: .finished, epochsRun: 2, bestEpoch: 2, bestValAccuracy: accuracy, finalValAccuracy: accuracy, finalValLoss: 1,
                    history: [], trainableParameters: 1, trainingFLOPs: 1, workingMemoryBytes: 1, trainSeconds: 1)
    }

    func finished(_ trial: String, _ accuracy: Float, lease: Int?) -> JournalEvent {
        var e = JournalEvent(.finished, trial: trial, time: 5)
        e.result = result(accuracy); e.lease = lease
        return e
    }

    /// The first result of a trial wins and later ones are counted as duplicates, in any order of the
    /// journals — except that a result under a newer lease fences out one under an older lease.
    func testFirstResultWinsAndNewerLeasesFenceOutOlderOnes() {
        var planned = JournalEvent(.planned, trial: "a", time: 1)
        planned.generation = 0; planned.config = 0; planned.method = "linear"; planned.params = [:]; planned.seed = 0; planned.trialSeed = 1
        var plannedB = planned; plannedB.trial = "b"
        let events = [planned, plannedB, finished("a", 0.5, lease: 1), finished("a", 0.7, lease: 1),
                      finished("b", 0.4, lease: 1), finished("b", 0.6, lease: 2)]
        let state = SweepState(events: events)
        XCTAssertEqual(state.trials["a"]?.result?.bestValAccuracy, 0.5, "first wins")
        XCTAssertEqual(state.trials["b"]?.result?.bestValAccuracy, 0.6, "the newer lease wins")
        XCTAssertEqual(state.duplicates, 2)
        let reversed = SweepState(events: [planned, plannedB] + events.dropFirst(2).reversed())
        XCTAssertEqual(reversed.trials["b"]?.result?.bestValAccuracy, 0.6, "whatever the order of the lines")
        XCTAssertEqual(reversed.trials["b"]?.lease, 2)
    }

    /// A complete line whose bytes changed fails its CRC-32 and is reported with its file and line.
    func testCRCCatchesAChangedLine() throws {
        let path = temporaryDirectory(self).appendingPathComponent("journal.jsonl").path
        let journal = try Journal(path: path)
        try journal.append(finished("a", 0.5, lease: 1))
        try journal.append(finished("a", 0.25, lease: 1))
        var text = try String(contentsOfFile: path, encoding: .utf8)
        text = text.replacingOccurrences(of: "0.25", with: "0.75")   // still valid JSON
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Journal.read(path)) { error in
            XCTAssertTrue("\(error)".hasPrefix(path + ":2: corrupt journal line (CRC-32"), "\(error)")
        }
    }
}

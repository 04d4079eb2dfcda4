import Essentials
import Foundation
import Training
import XCTest
import _TestSupport

@testable import Sweep

final class JournalTests: XCTestCase {
    func planned(_ trial: String) -> JournalEvent {
        .planned(
            TrialPlan(
                trial: trial, generation: 0, config: 0, method: "last",
                params: ["lr": .number(0.01), "decay": .text("cosine")],
                seed: 0, trialSeed: 42, key: nil, time: 1000))
    }

    func stopped(_ epochs: Int) -> TrialResult {
        TrialResult(
            status: .stopped, epochsRun: epochs, bestEpoch: epochs, bestValAccuracy: 0.5, finalValAccuracy: 0.5,
            finalValLoss: 1,
            history: [], trainableParameters: 1, trainingFLOPs: 1, workingMemoryBytes: 1, trainSeconds: 1)
    }

    func testRoundTripTornLastLineAndCorruption() throws {
        let path = temporaryDirectory(self).appendingPathComponent("journal.jsonl").path
        let result = TrialResult(
            status: .finished, epochsRun: 2, bestEpoch: 1, bestValAccuracy: 0.75, finalValAccuracy: 0.5,
            finalValLoss: .nan,
            history: [EpochRecord(epoch: 1, trainLoss: 1.5, learningRate: 1e-3, valAccuracy: 0.75, valLoss: 0.3)],
            trainableParameters: 10, trainingFLOPs: 1e9, workingMemoryBytes: 100, trainSeconds: 1.25)
        let finished = JournalEvent.finished(StretchOutcome(trial: "a", result: result, time: 1000))
        do {
            let journal = try Journal(path: path)
            try journal.append(planned("a"))
            try journal.append(finished)
        }
        let events = try Journal.read(path)
        XCTAssertEqual(events.count, 2)
        XCTAssertEqual(events[0], planned("a"))
        guard case .finished(let outcome) = events[1] else { return XCTFail("\(events[1])") }
        var decoded = outcome.result, expected = result
        XCTAssertTrue(decoded.finalValLoss.isNaN, "NaN survives the round trip")
        decoded.finalValLoss = 0; expected.finalValLoss = 0
        XCTAssertEqual(decoded, expected, "every float bit for bit")

        // A torn final line (a kill during write) is ignored, and cut off when the journal reopens.
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile(); handle.write(Data("{\"event\":\"fini".utf8)); handle.closeFile()
        XCTAssertEqual(try Journal.read(path).count, 2)
        try Journal(path: path).append(planned("b"))
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
        let rung = JournalEvent.rung(StretchOutcome(trial: "a", result: stopped(2), rung: 2, time: 1000))
        let failed = JournalEvent.failed(TrialFailure(trial: "b", error: "boom", time: 1000))
        let state = SweepState(events: [
            planned("a"), planned("b"), planned("c"), rung, failed,
            .pruned(TrialPruning(trial: "a", rung: 2, time: 1000)), planned("a"),
        ])
        XCTAssertEqual(state.records.map(\.id), ["a", "b", "c"], "a trial is planned once")
        XCTAssertEqual(state.records.map(\.status), [.pruned, .failed, .planned])
        XCTAssertEqual(state.trials["a"]!.epochsDone, 2)
        XCTAssertEqual(state.trials["b"]!.error, "boom")
    }
}

/// Each kind of journal line: what it carries, decoded back whole, and lines that hold no event.
final class JournalEventTests: XCTestCase {
    let result = TrialResult(
        status: .stopped, epochsRun: 2, bestEpoch: 1, bestValAccuracy: 0.5, finalValAccuracy: 0.25, finalValLoss: 1.5,
        history: [EpochRecord(epoch: 1, trainLoss: 2, learningRate: 0.01, valAccuracy: 0.5, valLoss: 1)],
        trainableParameters: 7, trainingFLOPs: 3e9, workingMemoryBytes: 11, trainSeconds: 0.5)
    let reporter = Reporter(lease: 3, host: "h", version: "0.1.0", cpu: "cpu", blas: "kernel")

    /// A header naming an objective this hpsweep does not know says so, not "no sweep header".
    func testAHeaderWithAnUnknownObjectiveSaysWhichOne() {
        var opened = SweepOpened(specSha256: "abc", time: 1)
        opened.objectives = ["val_acc:maximize", "energy:minimize"]
        let state = SweepState(events: [.sweep(opened)])
        XCTAssertEqual(state.unknownObjectives, ["energy:minimize"])
        XCTAssertTrue(
            state.headerProblem?.contains("does not know: energy:minimize") == true, "\(state.headerProblem ?? "")")
        XCTAssertEqual(SweepState(events: []).headerProblem, "the journal has no sweep header")
        opened.objectives = ["val_acc:maximize"]
        XCTAssertNil(SweepState(events: [.sweep(opened)]).headerProblem)
    }

    var everyKind: [JournalEvent] {
        var opened = SweepOpened(specSha256: "abc", time: 1)
        opened.hpsweepVersion = "0.1.0"; opened.cacheKey = "k"; opened.sweepName = "s"; opened.specFile = "s.json"
        opened.objectives = ["val_acc:maximize"]; opened.trialsPlanned = 4;
        opened.spec = .object(["trials": .number(4)])
        opened.revision = 2; opened.costBasis = ["cache_seconds": 1.5]
        let warm = WarmStart(
            sources: ["../a"], enqueued: [.init(method: "last", params: ["lr": .number(0.01)])], priors: [])
        return [
            .sweep(opened), .warmStart(warm, time: 2),
            .planned(
                TrialPlan(
                    trial: "t", generation: 1, config: 2, method: "last",
                    params: ["lr": .number(0.01), "decay": .text("cosine")],
                    seed: 3, trialSeed: 1 << 60, key: "key", time: 3)),
            .rejected(TrialRejection(trial: "t", reason: "params 9 > 8", costs: result, time: 4)),
            .started(TrialStart(trial: "t", towards: 2, lease: 3, host: "h", time: 5)),
            .epoch(TrialEpoch(trial: "t", record: result.history[0], time: 6)),
            .rung(StretchOutcome(trial: "t", result: result, rung: 2, reporter: reporter, time: 7)),
            .finished(
                StretchOutcome(
                    trial: "t", result: result, modelFile: "models/search/t.safetensors", reporter: reporter, time: 8)),
            .diverged(StretchOutcome(trial: "t", result: result, reporter: reporter, time: 9)),
            .failed(TrialFailure(trial: "t", error: "boom", reporter: reporter, time: 10)),
            .pruned(TrialPruning(trial: "t", rung: 2, time: 11)),
            .final(
                FinalScore(
                    trial: "t", testAccuracy: 0.75, testLoss: 0.5, confusion: [[1, 0], [0, 1]], result: result,
                    modelFile: "models/t.safetensors", reporter: reporter, time: 12)),
        ]
    }

    func testEveryKindComesBackWhole() throws {
        let path = temporaryDirectory(self).appendingPathComponent("journal.jsonl").path
        try Journal(path: path).append(contentsOf: everyKind)
        XCTAssertEqual(try Journal.read(path), everyKind)
        let kinds = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map { line in
            (try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["event"] as? String
        }
        XCTAssertEqual(
            kinds,
            [
                "sweep", "warm_start", "planned", "rejected", "started", "epoch", "rung", "finished", "diverged",
                "failed",
                "pruned", "final",
            ])
    }

    /// Journals written by hpsweep 0.1.0 before events were one case per kind (Fixtures/journal-0.1.0):
    /// every line decodes, and encodes again to the very same bytes, CRC included.
    func testJournalsOfVersion010ReadAndRewriteByteForByte() throws {
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/journal-0.1.0")
        var kinds = Set<String>()
        for name in ["search.jsonl", "failed.jsonl"] {
            let path = fixtures.appendingPathComponent(name).path
            let data = try XCTUnwrap(FileManager.default.contents(atPath: path), path)
            let lines = data.split(separator: UInt8(ascii: "\n"))
            let contents = try Journal.parseLines(data, path: path, firstLine: 1).contents
            XCTAssertEqual(contents.undecodable.map(\.description), [])
            XCTAssertEqual(contents.events.count, lines.count)
            for (event, line) in zip(contents.events, lines) {
                XCTAssertEqual(
                    String(decoding: try Journal.line(event), as: UTF8.self),
                    String(decoding: line, as: UTF8.self) + "\n")
                kinds.insert(JournalLineFields(event).event)
            }
        }
        XCTAssertEqual(
            kinds,
            [
                "sweep", "warm_start", "planned", "rejected", "started", "epoch", "rung", "pruned", "finished", "final",
                "failed",
            ])
        let search = SweepState(events: try Journal.read(fixtures.appendingPathComponent("search.jsonl").path))
        XCTAssertEqual(
            search.records.map(\.status.rawValue).sorted(),
            [
                "finished", "finished", "pruned", "pruned", "rejected", "rejected",
                "rejected", "rejected",
            ], "as that run's summary said")
        XCTAssertEqual(search.records.filter { $0.testAccuracy != nil }.count, 1)
        XCTAssertNotNil(search.warmStart)
    }

    /// A complete line that is JSON but holds no event this hpsweep reads (a field its kind needs missing
    /// or of another type, a kind it does not know: a newer hpsweep's line, or an edit) is skipped and
    /// counted with its file and line, and the lines around it still count. Damage is still an error.
    func testLinesThatHoldNoEventAreSkippedAndCounted() throws {
        let directory = temporaryDirectory(self).path
        let path = directory + "/journal.jsonl"
        try Journal(path: path).append(everyKind[2])
        let good = try String(contentsOfFile: path, encoding: .utf8)
        let bad = [
            #"{"config":0,"event":"planned","method":"last","params":{},"seed":0,"time":1,"trial":"b","trial_seed":1}"#,
            #"{"config":0,"event":"planned","generation":"one","method":"last","params":{},"seed":0,"time":1,"trial":"c","trial_seed":1}"#,
            #"{"event":"teleported","time":1,"trial":"t"}"#,
        ]
        try (good + bad.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        try Journal(path: path).append(.pruned(TrialPruning(trial: "t", rung: 2, time: 20)))
        let contents = try Journal.readAll(directory: directory)
        XCTAssertEqual(contents.events.map(\.trial), ["t", "t"])
        XCTAssertEqual(contents.undecodable.map(\.line), [2, 3, 4])
        let messages = contents.undecodable.map(\.description)
        XCTAssertTrue(messages[0].hasPrefix(path + ":2: skipped a 'planned' line without 'generation'"), messages[0])
        XCTAssertTrue(messages[1].contains("generation"), messages[1])
        XCTAssertTrue(messages[2].contains("unknown kind 'teleported'"), messages[2])
        let state = SweepState(contents)
        XCTAssertEqual(state.records.map(\.id), ["t"])
        XCTAssertEqual(state.records.map(\.status), [.pruned])
        XCTAssertEqual(state.undecodable.count, 3)
        XCTAssertEqual(try Journal.read(path).count, 2)
        try (good + "{\"event\":\"planned\",\"ti\n").write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Journal.read(path)) { error in
            XCTAssertEqual("\(error)", path + ":2: corrupt journal line (not JSON); the sweep cannot resume from it")
        }
    }
}

extension JournalEventTests {
    /// Numbers in a journal that size loops, tables or durations downstream are bounded where the line
    /// is read: a parameter that is not finite or beyond 10¹⁵, a time that is no Unix time, a confusion
    /// matrix that is not square or holds a count beyond 2⁴⁰. Such a line is skipped and reported with
    /// its file and line, as any line that holds no event; the lines around it still count.
    func testNumbersOutOfRangeMakeTheLineSkippedNamingTheField() throws {
        let directory = temporaryDirectory(self).path
        let path = directory + "/journal.jsonl"
        try Journal(path: path).append(everyKind[2])
        let good = try String(contentsOfFile: path, encoding: .utf8)
        let planned = { (params: String, time: String) in
            #"{"config":0,"event":"planned","generation":0,"method":"last","params":"# + params
                + #","seed":0,"time":"# + time + #","trial":"b","trial_seed":1}"#
        }
        let final = { (confusion: String) in
            #"{"confusion":"# + confusion + #","event":"final","test_acc":0.5,"test_loss":1,"time":3,"trial":"t"}"#
        }
        let finished = { (field: String) in
            let fields = [
                #""best_epoch":1"#, #""best_val_accuracy":0.5"#, #""epochs_run":2"#, #""final_val_accuracy":0.5"#,
                #""final_val_loss":1"#, #""history":[]"#, #""read_seconds":0"#, #""status":"finished""#,
                #""train_seconds":1"#,
                #""trainable_parameters":7"#, #""training_flops":1"#, #""working_memory_bytes":1"#,
            ].map { $0.hasPrefix(field.prefix { $0 != ":" }) ? field : $0 }
            return #"{"event":"finished","result":{"# + fields.joined(separator: ",") + #"},"time":3,"trial":"t"}"#
        }
        let bad: [(line: String, message: String)] = [
            (planned(#"{"lr":"nan"}"#, "1"), "params.lr: nan is not a finite number of magnitude at most 1e15"),
            (planned(#"{"rank":1e300}"#, "1"), "params.rank: 1e+300 is not a finite number of magnitude at most 1e15"),
            (planned(#"{"lr":"-inf"}"#, "1"), "params.lr: -inf is not a finite number"),
            (planned(#"{"lr":0.01}"#, "1e19"), "a 'planned' line whose time 1e+19 is not a Unix time"),
            (planned(#"{"lr":0.01}"#, #""nan""#), "a 'planned' line whose time nan is not a Unix time"),
            (planned(#"{"lr":0.01}"#, "-5"), "a 'planned' line whose time -5.0 is not a Unix time"),
            (final("[[1,2],[3]]"), "confusion matrix is not square (row 1 has 1 counts for 2 classes)"),
            (final("[[1,4611686018427387904],[0,1]]"), "holds 4611686018427387904 at [0][1] (counts are 0 to 2^40)"),
            (final("[[1,-1],[0,1]]"), "holds -1 at [0][1]"),
            (
                #"{"epochs":-1,"event":"started","time":2,"trial":"t"}"#,
                "a 'started' line whose epochs -1 is not from 0 to 1048576"
            ),
            (
                #"{"event":"epoch","record":{"epoch":2147483648,"learning_rate":0.1,"train_loss":1},"time":2,"trial":"t"}"#,
                "a 'epoch' line whose record's epoch 2147483648 is not from 1 to 1048576"
            ),
            (
                finished(#""epochs_run":4611686018427387904"#),
                "a 'finished' line whose result's epochs_run 4611686018427387904 is not from 0 to 1048576"
            ),
            (
                finished(#""trainable_parameters":-7"#),
                "a 'finished' line whose result's trainable_parameters -7 is not from 0 to 2^53"
            ),
            (
                finished(#""train_seconds":"inf""#),
                "a 'finished' line whose result's train_seconds inf is not a number from 0 to 1e30"
            ),
        ]
        try (good + bad.map(\.line).joined(separator: "\n") + "\n").write(
            toFile: path, atomically: true, encoding: .utf8)
        let contents = try Journal.readAll(directory: directory)
        XCTAssertEqual(contents.events.count, 1)
        XCTAssertEqual(contents.undecodable.map(\.line), Array(2...(bad.count + 1)))
        for (error, expected) in zip(contents.undecodable, bad) {
            XCTAssertTrue("\(error)".hasPrefix("\(path):\(error.line ?? 0): skipped "), "\(error)")
            XCTAssertTrue("\(error)".contains(expected.message), "\(error) lacks \(expected.message)")
        }
        let state = SweepState(contents)
        XCTAssertEqual(state.records.map(\.id), ["t"])
        XCTAssertNil(state.records[0].confusion)
    }
}

extension JournalEventTests {
    /// What hpsweep writes it reads back: a line that reading would skip is refused before it is
    /// written (a planned trial that never read back would be planned again for ever), and nothing of
    /// the batch is written.
    func testALineThatWouldNotReadBackIsNotWritten() throws {
        let path = temporaryDirectory(self).path + "/journal.jsonl"
        let journal = try Journal(path: path)
        let plan = { (lr: Double) in
            JournalEvent.planned(
                TrialPlan(
                    trial: "t", generation: 0, config: 0, method: "last", params: ["lr": .number(lr)], seed: 0,
                    trialSeed: 1, key: nil, time: 1))
        }
        XCTAssertThrowsError(try journal.append(contentsOf: [everyKind[0], plan(.nan)])) { error in
            XCTAssertTrue(
                "\(error)".hasPrefix(path + ": refusing to write a line this hpsweep could not read back"), "\(error)")
            XCTAssertTrue("\(error)".contains("params.lr"), "\(error)")
        }
        XCTAssertEqual(try Journal.read(path), [], "nothing of the batch")
        try journal.append(plan(0.01))
        XCTAssertEqual(try Journal.read(path), [plan(0.01)])
    }
}

final class DuplicateResultTests: XCTestCase {
    func result(_ accuracy: Float) -> TrialResult {
        TrialResult(
            status: .finished, epochsRun: 2, bestEpoch: 2, bestValAccuracy: accuracy, finalValAccuracy: accuracy,
            finalValLoss: 1,
            history: [], trainableParameters: 1, trainingFLOPs: 1, workingMemoryBytes: 1, trainSeconds: 1)
    }

    func finished(_ trial: String, _ accuracy: Float, lease: Int?) -> JournalEvent {
        .finished(StretchOutcome(trial: trial, result: result(accuracy), reporter: Reporter(lease: lease), time: 5))
    }

    /// The first result of a trial wins and later ones are counted as duplicates, in any order of the
    /// journals — except that a result under a newer lease fences out one under an older lease.
    func testFirstResultWinsAndNewerLeasesFenceOutOlderOnes() {
        let planned = JournalEvent.planned(
            TrialPlan(
                trial: "a", generation: 0, config: 0, method: "linear", params: [:], seed: 0,
                trialSeed: 1, key: nil, time: 1))
        let plannedB = JournalEvent.planned(
            TrialPlan(
                trial: "b", generation: 0, config: 0, method: "linear", params: [:], seed: 0,
                trialSeed: 1, key: nil, time: 1))
        let events = [
            planned, plannedB, finished("a", 0.5, lease: 1), finished("a", 0.7, lease: 1),
            finished("b", 0.4, lease: 1), finished("b", 0.6, lease: 2),
        ]
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
        text = text.replacingOccurrences(of: "0.25", with: "0.75")  // still valid JSON
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Journal.read(path)) { error in
            XCTAssertTrue("\(error)".hasPrefix(path + ":2: corrupt journal line (CRC-32"), "\(error)")
        }
    }
}

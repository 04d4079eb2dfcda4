import Essentials
import XCTest
import _TestSupport

@testable import Sweep

/// The synthetic objective's methods and hyperparameters in these tests: "narrow" and "wide" (with a width).
let syntheticCatalogue = SearchCatalogue(
    methods: ["narrow", "wide"],
    hyperparameters: [
        Hyperparameter(
            name: "lr", methods: nil, kind: .real(lower: 0, upper: 1, lowerOpen: true), defaultValue: .number(0.1)),
        Hyperparameter(name: "width", methods: ["wide"], kind: .integer(minimum: 1), defaultValue: .number(8)),
    ])

extension SyntheticObjective {
    convenience init(epochs: Int, slots: Int = 1) {
        self.init(epochs: epochs, methods: ["narrow", "wide"], slots: slots)
    }
}

final class SchedulerTests: XCTestCase {
    /// 12 configurations of two methods in generations of 6, 9 epochs with rungs at 1 and 3 (η 3),
    /// objectives accuracy and parameters, the best 1 of each method to the final phase.
    func search(extra: String = "", trials: Int = 12) throws -> SearchSpec {
        let text = """
            {"methods": {"narrow": {}, "wide": {"width": {"choice": [4, 8, 16]}}}, "space": {"lr": {"loguniform": [0.001, 0.5]}},
             "sampler": {"type": "tpe", "startup": \(trials / 2), "generation_size": \(trials / 2)}, "trials": \(trials), "epochs": 9, "seed": 3,
             "early_stopping": {"min_epochs": 1, "reduction_factor": 3\(extra)}, "objectives": ["val_acc", "params"]}
            """
        var reader = try SpecReader(file: "synthetic.json", json: Data(text.utf8))
        return try SearchSpec.parse(&reader, catalogue: syntheticCatalogue)
    }

    func runner(
        _ directory: String, _ search: SearchSpec, _ objective: SyntheticObjective, worker: String? = nil,
        leaseSeconds: Double = 60
    ) throws -> SweepRunner {
        let identity = SweepIdentity(
            name: "synthetic", file: "synthetic.json", contentHash: "0123", recorded: ["trials": .int(12)])
        return try SweepRunner(
            identity: identity, search: search, objective: objective, directory: directory, hpsweepVersion: "test",
            worker: worker, leaseSeconds: leaseSeconds, shouldStop: { objective.stopped }
        ) { _ in }
    }

    /// What a sweep decided: each trial's status, epochs, accuracy and test score (by trial id: workers
    /// may journal generations in another order).
    func outcome(_ state: SweepState) -> [String] {
        state.records.sorted { $0.id < $1.id }.map {
            "\($0.id) \($0.status.rawValue) \($0.epochsDone) \($0.result?.bestValAccuracy ?? -1) \($0.testAccuracy ?? -1)"
        }
    }

    func testHalvingKeepsACeilingOfNOverEtaAtEachRungAndTheFinalPhaseTakesTheBestOfEachMethod() throws {
        let directory = temporaryDirectory(self).path
        let search = try search()
        XCTAssertEqual(search.rungs, [1, 3, 9])
        let objective = SyntheticObjective(epochs: 9)
        let runner = try runner(directory, search, objective)
        XCTAssertEqual(try runner.run(), .completed)
        let state = runner.state
        XCTAssertEqual(state.records.count, 12)
        for g in 0..<2 {
            let trials = state.generation(g)
            XCTAssertEqual(trials.count, 6)
            XCTAssertEqual(trials.filter { $0.epochsDone >= 3 }.count, 2, "⌈6 / 3⌉ past rung 1")
            XCTAssertEqual(trials.filter { $0.status == .finished }.count, 1, "⌈2 / 3⌉ past rung 3")
            XCTAssertEqual(trials.filter { $0.status == .pruned }.count, 5)
        }
        // No trial trained a stretch twice, and none beyond where it was pruned.
        XCTAssertEqual(Set(objective.stretches.map { "\($0.id)@\($0.rung)" }).count, objective.stretches.count)
        for record in state.records where record.status == .pruned {
            XCTAssertEqual(objective.stretches.filter { $0.id == record.id }.last?.rung, record.epochsDone)
        }
        // Final phase: the most accurate finished trial of each method that finished any.
        for method in Set(state.records.filter { $0.status == .finished }.map(\.method)) {
            let best = state.records.filter { $0.method == method && $0.status == .finished }
                .max { ($0.result!.bestValAccuracy, $1.id) < ($1.result!.bestValAccuracy, $0.id) }!
            XCTAssertNotNil(best.testAccuracy, "\(method): \(best.id) was retrained")
        }
        XCTAssertEqual(objective.finals.count, state.records.filter { $0.testAccuracy != nil }.count)
        // A second run finds nothing to do.
        let again = SyntheticObjective(epochs: 9)
        XCTAssertEqual(try self.runner(directory, search, again).run(), .completed)
        XCTAssertTrue(again.stretches.isEmpty && again.finals.isEmpty)
    }

    func testAJournalCutAtEveryLineResumesToTheSameSweep() throws {
        // (Two generations of three: every line of a smaller sweep, each cut resumed to the end.)
        let search = try search(trials: 6)
        let whole = temporaryDirectory(self).path
        let reference = try runner(whole, search, SyntheticObjective(epochs: 9))
        XCTAssertEqual(try reference.run(), .completed)
        let expected = outcome(reference.state)
        let journal = try String(contentsOfFile: SweepRunner.journalPath(whole), encoding: .utf8)
        let lines = journal.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map { $0 + "\n" }
        XCTAssertGreaterThan(lines.count, 30)
        for cut in 0...lines.count {
            let directory = temporaryDirectory(self).appendingPathComponent("cut\(cut)").path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            // The lines written before the kill, and half of the next (a torn write).
            var text = lines.prefix(cut).joined()
            if cut < lines.count { text += lines[cut].prefix(lines[cut].count / 2) }
            try text.write(toFile: SweepRunner.journalPath(directory), atomically: false, encoding: .utf8)
            let resumed = try runner(directory, search, SyntheticObjective(epochs: 9))
            XCTAssertEqual(try resumed.run(), .completed, "cut at line \(cut)")
            XCTAssertEqual(outcome(resumed.state), expected, "cut at line \(cut)")
        }
    }

    func testInterruptedStretchesResumeWithoutRepeatingWork() throws {
        let search = try search()
        let directory = temporaryDirectory(self).path
        var trained: [String] = []
        var interrupts = 0
        while true {
            let objective = SyntheticObjective(epochs: 9)
            // Stop before every fourth stretch of this run (and then go on in a new run).
            var count = 0
            objective.interruptBefore = { _ in
                count += 1; return count % 4 == 0
            }
            let outcome = try runner(directory, search, objective).run()
            trained += objective.stretches.map { "\($0.id)@\($0.rung)" }
            if outcome == .completed { break }
            interrupts += 1
        }
        XCTAssertGreaterThan(interrupts, 3)
        XCTAssertEqual(Set(trained).count, trained.count, "no stretch trained twice across \(interrupts) interruptions")
        let reference = try runner(
            temporaryDirectory(self).appendingPathComponent("whole").path, search, SyntheticObjective(epochs: 9))
        try FileManager.default.createDirectory(atPath: reference.directory, withIntermediateDirectories: true)
        XCTAssertEqual(try reference.run(), .completed)
        let state = SweepState(try Journal.readAll(directory: directory))
        XCTAssertEqual(outcome(state), outcome(reference.state))
    }

    func testWorkersSharingTheDirectoryReachTheSingleRunsSweep() throws {
        let search = try search(extra: #", "type": "pareto""#)
        let single = try runner(temporaryDirectory(self).path, search, SyntheticObjective(epochs: 9))
        XCTAssertEqual(try single.run(), .completed)
        let shared = temporaryDirectory(self).appendingPathComponent("shared").path
        try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: true)
        let workers = try (0..<3).map {
            try runner(shared, search, SyntheticObjective(epochs: 9), worker: "w\($0)", leaseSeconds: 0.4)
        }
        final class Outcomes: @unchecked Sendable {
            let lock = NSLock()
            var values: [SweepRunner.Outcome?] = [nil, nil, nil]
            func set(_ k: Int, _ value: SweepRunner.Outcome?) { lock.lock(); values[k] = value; lock.unlock() }
        }
        let outcomes = Outcomes()
        let group = DispatchGroup()
        for (k, worker) in workers.enumerated() {
            nonisolated(unsafe) let worker = worker
            DispatchQueue.global().async(group: group) { outcomes.set(k, try? worker.run()) }
        }
        XCTAssertEqual(group.wait(timeout: .now() + 60), .success)
        XCTAssertEqual(outcomes.values, [.completed, .completed, .completed])
        let state = SweepState(try Journal.readAll(directory: shared))
        XCTAssertEqual(outcome(state), outcome(single.state))
        XCTAssertEqual(state.duplicates, 0)
    }

    // MARK: - Many slots decide as one

    /// 24 configurations in generations of 4 (TPE after 8, proposing from two generations back), rungs
    /// 1, 3 and 9: several generations train at once.
    func pipelinedSearch(pareto: Bool = false) throws -> SearchSpec {
        let text = """
            {"methods": {"narrow": {}, "wide": {"width": {"choice": [4, 8, 16]}}}, "space": {"lr": {"loguniform": [0.001, 0.5]}},
             "sampler": {"type": "tpe", "startup": 8, "generation_size": 4, "lag": 2}, "trials": 24, "epochs": 9, "seed": 5,
             "early_stopping": {"min_epochs": 1, "reduction_factor": 3\(pareto ? #", "type": "pareto""# : "")}, "objectives": ["val_acc", "params"]}
            """
        var reader = try SpecReader(file: "synthetic.json", json: Data(text.utf8))
        return try SearchSpec.parse(&reader, catalogue: syntheticCatalogue)
    }

    func testTheOutcomeIsTheSingleSlotRunsAtAnyNumberOfSlotsAndWorkers() throws {
        for pareto in [false, true] {
            let search = try pipelinedSearch(pareto: pareto)
            let single = try ScheduleMeasurement.run(
                search, directory: temporaryDirectory(self).appendingPathComponent("single").path)
            let expected = ScheduleMeasurement.outcome(single.state)
            XCTAssertEqual(single.state.records.count, 24)
            if !pareto {
                XCTAssertEqual(
                    single.state.records.filter { $0.status == .finished }.count, 6, "⌈⌈4 / 3⌉ / 3⌉ of each generation")
            }
            for (workers, slots) in [(1, 2), (1, 4), (1, 8), (1, 16), (2, 4), (4, 4)] {
                let directory = temporaryDirectory(self).appendingPathComponent("w\(workers)s\(slots)-\(pareto)").path
                // (Epochs of 2 ms: slots and workers really interleave.)
                let run = try ScheduleMeasurement.run(
                    search, directory: directory, workers: workers, slots: slots, epochSeconds: 0.002, leaseSeconds: 0.4
                )
                XCTAssertEqual(
                    ScheduleMeasurement.outcome(run.state), expected,
                    "\(workers) workers × \(slots) slots, pareto \(pareto)")
                XCTAssertEqual(run.state.duplicates, 0)
            }
        }
    }

    func testGenerationsOverlap() throws {
        // On 8 slots, a later generation starts before an earlier one has finished its top rung: the
        // barrier of whole generations is gone.
        let search = try pipelinedSearch()
        let run = try ScheduleMeasurement.run(
            search, directory: temporaryDirectory(self).path, slots: 8, epochSeconds: 0.002)
        let records = run.state.records
        let overlapping = records.contains { later in
            records.contains { earlier in
                earlier.generation < later.generation && earlier.status == .finished
                    && (later.startTime ?? .infinity) < (earlier.endTime ?? 0)
            }
        }
        XCTAssertTrue(overlapping, "no generation started before an earlier one finished")
    }

    func testKilledMultiSlotRunsResumeToTheSingleSlotRunsSweep() throws {
        let search = try pipelinedSearch(pareto: true)
        let expected = ScheduleMeasurement.outcome(
            try ScheduleMeasurement.run(
                search, directory: temporaryDirectory(self).appendingPathComponent("single").path
            ).state)
        for slots in [2, 4, 8, 16] {
            let directory = temporaryDirectory(self).appendingPathComponent("killed\(slots)").path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            var trained: [String] = []
            var runs = 0
            while runs < 100 {
                runs += 1
                let objective = SyntheticObjective(epochs: 9, slots: slots)
                // Stop after every fifth claim of this run (slots mid-stretch finish theirs; the rest stop).
                let count = Counter()
                objective.interruptBefore = { _ in count.next() % 5 == 4 }
                let outcome = try runner(directory, search, objective).run()
                trained += objective.stretches.map { "\($0.id)@\($0.rung)" }
                if outcome == .completed { break }
            }
            XCTAssertGreaterThan(runs, 3, "\(slots) slots")
            XCTAssertEqual(
                Set(trained).count, trained.count, "\(slots) slots: no stretch trained twice across \(runs) runs")
            XCTAssertEqual(
                ScheduleMeasurement.outcome(SweepState(try Journal.readAll(directory: directory))), expected,
                "\(slots) slots")
        }
    }

    func testAJournalOfAMultiSlotRunCutAnywhereResumesToTheSameSweep() throws {
        let search = try pipelinedSearch()
        let expected = ScheduleMeasurement.outcome(
            try ScheduleMeasurement.run(
                search, directory: temporaryDirectory(self).appendingPathComponent("single").path
            ).state)
        let whole = temporaryDirectory(self).appendingPathComponent("whole").path
        _ = try ScheduleMeasurement.run(search, directory: whole, slots: 4, epochSeconds: 0.001)
        let journal = try String(contentsOfFile: SweepRunner.journalPath(whole), encoding: .utf8)
        let lines = journal.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map { $0 + "\n" }
        XCTAssertGreaterThan(lines.count, 60)
        for cut in stride(from: 0, through: lines.count, by: max(1, lines.count / 40)) {
            let directory = temporaryDirectory(self).appendingPathComponent("cut\(cut)").path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            var text = lines.prefix(cut).joined()
            if cut < lines.count { text += lines[cut].prefix(lines[cut].count / 2) }
            try text.write(toFile: SweepRunner.journalPath(directory), atomically: false, encoding: .utf8)
            let resumed = try ScheduleMeasurement.run(search, directory: directory, slots: 4)
            XCTAssertEqual(ScheduleMeasurement.outcome(resumed.state), expected, "cut at line \(cut)")
        }
    }
}

/// A thread-safe count (slots call the objective's hooks from their own threads).
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func next() -> Int { lock.lock(); defer { lock.unlock() }; value += 1; return value - 1 }
}

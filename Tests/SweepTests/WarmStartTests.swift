import Essentials
import XCTest
import _TestSupport

@testable import Sweep

/// `warm_start`: an earlier sweep's best configurations come first, its trials (as ranks) inform TPE,
/// and what was taken is journaled once, so a resumed sweep proposes the same even when the earlier
/// sweep has changed or gone.
final class WarmStartTests: XCTestCase {
    func search(
        seed: Int, lrUpper: Double = 0.5, warmStart: String? = nil,
        sampler: String = #"{"type": "tpe", "startup": 6, "generation_size": 6}"#
    ) throws -> SearchSpec {
        let text = """
            {"methods": {"narrow": {}, "wide": {"width": {"choice": [4, 8, 16]}}}, "space": {"lr": {"loguniform": [0.001, \(lrUpper)]}},
             "sampler": \(sampler), "trials": 12, "epochs": 9, "seed": \(seed),
             "objectives": ["val_acc", "params"]\(warmStart.map { #", "warm_start": \#($0)"# } ?? "")}
            """
        var reader = try SpecReader(file: "/synthetic.json", json: Data(text.utf8))
        return try SearchSpec.parse(&reader, catalogue: syntheticCatalogue)
    }

    func runner(_ directory: String, _ search: SearchSpec, warmStartFrom: [String] = []) throws -> SweepRunner {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let objective = SyntheticObjective(epochs: 9)
        let identity = SweepIdentity(
            name: "synthetic", file: "synthetic.json", contentHash: "0123", recorded: ["trials": .int(12)])
        return try SweepRunner(
            identity: identity, search: search, objective: objective, directory: directory, hpsweepVersion: "test",
            warmStartFrom: warmStartFrom, shouldStop: { false }
        ) { _ in }
    }

    func testRanksAreQuantilesWithinTheirOwnSweepTiesSharingTheirMean() {
        XCTAssertEqual(
            WarmStart.rankTransform([[3, -1], [1, -1], [2, 5], [2, 7]]),
            [[1, 1.0 / 6], [0, 1.0 / 6], [0.5, 2.0 / 3], [0.5, 1]])
        XCTAssertEqual(WarmStart.rankTransform([[42]]), [[0.5]])
        XCTAssertEqual(WarmStart.rankTransform([]), [])
    }

    func testTheEarlierSweepsBestComeFirstAndTheJournaledSnapshotOutlivesTheSource() throws {
        let root = temporaryDirectory(self)
        let source = root.appendingPathComponent("source").path
        XCTAssertEqual(try runner(source, try search(seed: 1)).run(), .completed)
        let earlier = SweepState(try Journal.readAll(directory: source))

        // A narrower lr range: the earlier trials above 0.05 do not fit it and are left out.
        let warmSearch = try search(seed: 2, lrUpper: 0.05, warmStart: #"["\#(source)"]"#)
        XCTAssertEqual(warmSearch.warmStart, .sweeps([source]))
        let target = root.appendingPathComponent("target").path
        let warm = try runner(target, warmSearch, warmStartFrom: [source])
        XCTAssertEqual(try warm.run(), .completed)
        let snapshot = try XCTUnwrap(warm.state.warmStart)
        let fits = { (r: TrialRecord) in (r.values["lr"]?.number ?? 1) <= 0.05 }
        XCTAssertEqual(snapshot.priors.count, earlier.records.filter { $0.result != nil && fits($0) }.count)
        XCTAssertTrue(
            snapshot.priors.allSatisfy {
                $0.params["lr"]!.number! <= 0.05 && $0.ranks.allSatisfy { (0...1).contains($0) }
            })
        // Each method's best fitting trial of the earlier sweep (all finished here: no early stopping),
        // the more accurate first.
        let bests = warmSearch.methods.map { space in
            earlier.records.filter { $0.method == space.method && fits($0) }
                .max { ($0.result!.bestValAccuracy, $1.id) < ($1.result!.bestValAccuracy, $0.id) }!
        }.sorted { $0.result!.bestValAccuracy > $1.result!.bestValAccuracy }
        XCTAssertEqual(snapshot.enqueued.count, 2)
        for (k, best) in bests.enumerated() {
            let first = warm.state.records.first { $0.config == k }!
            XCTAssertEqual(first.method, best.method)
            XCTAssertEqual(first.values, best.values, "config \(k) is the earlier sweep's best \(best.method)")
        }
        let expected = warm.state.records.map { "\($0.id) \($0.status.rawValue) \($0.epochsDone)" }

        // Without the warm start the same seed proposes otherwise.
        let cold = try runner(root.appendingPathComponent("cold").path, try search(seed: 2, lrUpper: 0.05))
        XCTAssertEqual(try cold.run(), .completed)
        XCTAssertNotEqual(cold.state.records.map(\.id), warm.state.records.map(\.id))

        // Killed just after the warm_start line, with the earlier sweep deleted since: the resumed sweep
        // proposes from the journaled snapshot, the same trials.
        let lines = try String(contentsOfFile: SweepRunner.journalPath(target), encoding: .utf8).split(separator: "\n")
        let cut = try XCTUnwrap(lines.firstIndex { $0.contains(#""event":"warm_start""#) })
        XCTAssertFalse(
            lines[..<cut].contains { $0.contains(#""event":"planned""#) }, "the snapshot comes before the first plan")
        let resumedDirectory = root.appendingPathComponent("resumed").path
        try FileManager.default.createDirectory(atPath: resumedDirectory, withIntermediateDirectories: true)
        try (lines[...cut].joined(separator: "\n") + "\n").write(
            toFile: SweepRunner.journalPath(resumedDirectory), atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(atPath: source)
        let resumed = try runner(resumedDirectory, warmSearch, warmStartFrom: [source])
        XCTAssertEqual(try resumed.run(), .completed)
        XCTAssertEqual(resumed.state.records.map { "\($0.id) \($0.status.rawValue) \($0.epochsDone)" }, expected)
    }

    func testWithPriorsTPEModelsRightAfterTheEnqueuedTrials() throws {
        let search = try search(seed: 2)
        let enqueued = [WarmStart.Configuration(method: "narrow", params: ["lr": .number(0.04)])]
        var priors: [WarmStart.Prior] = []
        for k in 0..<8 {
            let narrow = k % 2 == 0
            let params: [String: ParameterValue] =
                narrow ? ["lr": .number(0.002 * Double(k + 1))] : ["lr": .number(0.01), "width": .number(8)]
            priors.append(
                WarmStart.Prior(
                    method: narrow ? "narrow" : "wide", params: params, ranks: [Double(k) / 7, 0.5], completed: true))
        }
        let sampler = Sampler(search)
        let coldProposals = sampler.propose(generation: 0, history: [])
        let warmProposals = sampler.propose(
            generation: 0, history: [], warmStart: WarmStart(sources: ["x"], enqueued: enqueued, priors: priors))
        XCTAssertEqual(warmProposals[0], Proposal(method: "narrow", values: ["lr": .number(0.04)]))
        // Sobol would give configuration k its k-th point; with priors, TPE proposes instead.
        XCTAssertNotEqual(Array(warmProposals[1...]), Array(coldProposals[1...]))
        // Enqueued trials alone (no priors: the earlier sweeps had nothing scored) keep the startup design.
        let enqueuedOnly = sampler.propose(
            generation: 0, history: [], warmStart: WarmStart(sources: ["x"], enqueued: enqueued))
        XCTAssertEqual(Array(enqueuedOnly[1...]), Array(coldProposals[1...]))
    }

    func testWarmStartMistakesNameTheField() throws {
        XCTAssertThrowsError(try search(seed: 0, warmStart: "[]")) {
            XCTAssertTrue("\($0)".contains("$.warm_start"), "\($0)")
        }
        XCTAssertThrowsError(try search(seed: 0, warmStart: #"["a", "a"]"#)) {
            XCTAssertTrue("\($0)".contains("lists a sweep twice"), "\($0)")
        }
        XCTAssertThrowsError(try search(seed: 0, warmStart: #"["a"]"#, sampler: #""grid""#)) {
            XCTAssertTrue("\($0)".contains("$.warm_start") || "\($0)".contains("grid"), "\($0)")
        }
        XCTAssertThrowsError(try WarmStart.gather(from: [temporaryDirectory(self).path], for: try search(seed: 0))) {
            XCTAssertTrue("\($0)".contains("not a sweep's results directory"), "\($0)")
        }
    }
}

import Foundation
import XCTest
import _TestSupport

@testable import Sweep

/// The sweep's store on its own: what opening it writes, and what it cleans.
final class SweepStoreTests: XCTestCase {
    func testARefusedCheckWritesNothing() throws {
        let directory = temporaryDirectory(self).appendingPathComponent("sweep").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        struct Refused: Error {}
        XCTAssertThrowsError(
            try SweepStore(directory: directory, worker: nil, leaseSeconds: 60, machinery: MachineryClock()) { _ in
                throw Refused()
            })
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: directory), [], "no journal, leases or checkpoints")
    }

    func testAPlainRunRemovesKilledWritersTemporariesAndAWorkerDoesNot() throws {
        let directory = temporaryDirectory(self).appendingPathComponent("sweep").path
        let checkpoints = directory + "/checkpoints"
        try FileManager.default.createDirectory(atPath: checkpoints, withIntermediateDirectories: true)
        for name in ["t1.ckpt", "t1.ckpt.tmp-4242", "t2.ckpt.tmp-77"] {
            try Data(name.utf8).write(to: URL(fileURLWithPath: checkpoints + "/" + name))
        }
        try FileManager.default.createDirectory(atPath: directory + "/models", withIntermediateDirectories: true)
        for name in [
            "leaderboard.csv", "leaderboard.csv.tmp-31337", "models/t1.safetensors", "models/t1.safetensors.tmp-9",
        ] {
            try Data(name.utf8).write(to: URL(fileURLWithPath: directory + "/" + name))
        }
        func names() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: checkpoints).sorted() }
        // A worker shares the directory with live writers on other hosts: it leaves temporaries alone.
        let worker = try SweepStore(directory: directory, worker: "w1", leaseSeconds: 60, machinery: MachineryClock()) {
            _ in
        }
        XCTAssertEqual(try names(), ["t1.ckpt", "t1.ckpt.tmp-4242", "t2.ckpt.tmp-77"])
        XCTAssertEqual(worker.checkpoint("t1"), checkpoints + "/t1.ckpt")
        // A plain run holds the directory's lock, so every other writer is dead.
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory + "/leaderboard.csv.tmp-31337"))
        _ = try SweepStore(directory: directory, worker: nil, leaseSeconds: 60, machinery: MachineryClock()) { _ in }
        XCTAssertEqual(try names(), ["t1.ckpt"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/leaderboard.csv.tmp-31337"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory + "/models"), ["t1.safetensors"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory + "/leaderboard.csv"))
    }

    func testRecordFoldsEventsIntoTheState() throws {
        let directory = temporaryDirectory(self).appendingPathComponent("sweep").path
        let store = try SweepStore(directory: directory, worker: nil, leaseSeconds: 60, machinery: MachineryClock()) {
            state in
            XCTAssertTrue(state.trials.isEmpty, "a new directory has no journal")
        }
        try store.record(
            .planned(
                TrialPlan(
                    trial: "t0000000001", generation: 0, config: 0, method: "linear", params: [:], seed: 0,
                    trialSeed: 7, key: nil)))
        XCTAssertEqual(store.state.trials["t0000000001"]?.status, .planned)
        // A second store over the same directory reads it back from the journal.
        let reopened = try SweepStore(directory: directory, worker: "w2", leaseSeconds: 60, machinery: MachineryClock())
        { _ in }
        XCTAssertEqual(reopened.state.trials["t0000000001"]?.method, "linear")
    }
}

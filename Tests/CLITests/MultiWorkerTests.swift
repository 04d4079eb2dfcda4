import Foundation
import XCTest
import _TestSupport

/// Several `hpsweep run --worker` processes on one sweep directory.
final class MultiWorkerTests: XCTestCase {
    let cli = CLI()

    func workerProcess(_ sweep: String, results: String, leaseSeconds: Int = 3) throws -> Subprocess {
        try cli.start(
            [
                "run", sweep, "--worker", "--results", results, "--workers", "1", "--lease-seconds",
                String(leaseSeconds),
            ], mergeOutput: true)
    }

    func text(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    func journal(_ p: Subprocess, in sweepDir: String) -> String {
        "\(sweepDir)/journal-\(ProcessInfo.processInfo.hostName)-\(p.pid).jsonl"
    }

    /// Sends `signal` to the first worker seen mid-trial (a trial started in its journal, its last line
    /// an epoch) and returns its index, or nil if none was caught within a minute.
    func signalFirstMidTrial(_ workers: [Subprocess], sweepDir: String, _ signal: Int32) -> Int? {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline && workers.contains(where: { $0.isRunning }) {
            for (i, process) in workers.enumerated() where process.isRunning {
                let lines = text(journal(process, in: sweepDir)).split(separator: "\n")
                if lines.contains(where: { $0.contains("\"event\":\"started\"") }),
                    lines.last?.contains("\"event\":\"epoch\"") == true
                {
                    process.signal(signal)
                    return i
                }
            }
            usleep(1_000)
        }
        return nil
    }

    /// Three workers, one killed with SIGKILL mid-trial: the other two finish the sweep, every trial
    /// ends exactly once, and the leaderboard equals a single process's.
    func testWorkersShareASweepAndSurviveAKilledWorker() throws {
        let dir = temporaryDirectory(self)
        let sweep = try writeSmallSweep(in: dir, epochs: 12)
        let single = try cli.run("run", sweep, "--results", dir.path + "/single")
        XCTAssertEqual(single.status, 0, single.stderr)

        let results = dir.path + "/shared", sweepDir = results + "/small"
        var workers = try (0..<3).map { _ in try workerProcess(sweep, results: results) }
        let index = try XCTUnwrap(
            signalFirstMidTrial(workers, sweepDir: sweepDir, SIGKILL), "a worker was caught mid-trial")
        let victim = workers.remove(at: index)
        try victim.wait()
        let victimJournal = journal(victim, in: sweepDir)
        for process in workers {
            let result = try process.wait()
            XCTAssertEqual(result.status, 0, result.stdout)
        }
        workers.removeAll()

        let journals = try FileManager.default.contentsOfDirectory(atPath: sweepDir).filter { $0.hasPrefix("journal-") }
        XCTAssertEqual(journals.count, 3, "one journal per worker: \(journals)")
        var ends: [String: Int] = [:], finals: [String: Int] = [:], trainedBy: [String: Set<String>] = [:]
        for journal in journals {
            for line in text("\(sweepDir)/\(journal)").split(separator: "\n") {
                let event = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                let trial = event["trial"] as? String ?? ""
                switch event["event"] as! String {
                case "finished", "pruned", "diverged", "failed": ends[trial, default: 0] += 1
                case "final": finals[trial, default: 0] += 1
                case "started": trainedBy[trial, default: []].insert(journal)
                default: break
                }
            }
        }
        XCTAssertEqual(ends.count, 8)
        XCTAssertEqual(Set(ends.values), [1], "every trial ended exactly once: \(ends)")
        XCTAssertEqual(Set(finals.values), [1])
        // The trials the victim had started and not ended in its own journal were taken over.
        let victimName = (victimJournal as NSString).lastPathComponent
        var victimStarted = Set<String>(), victimEnded = Set<String>()
        for line in text(victimJournal).split(separator: "\n") {
            let event = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            guard let trial = event["trial"] as? String else { continue }
            switch event["event"] as! String {
            case "started": victimStarted.insert(trial)
            case "rung", "finished", "pruned", "diverged", "failed": victimEnded.insert(trial)
            default: break
            }
        }
        let interrupted = victimStarted.subtracting(victimEnded)
        XCTAssertFalse(interrupted.isEmpty, "the victim was killed with a trial in progress")
        for trial in interrupted {
            XCTAssertTrue(
                trainedBy[trial, default: []].contains { $0 != victimName }, "\(trial) was taken over by another worker"
            )
        }
        XCTAssertEqual(
            try SweepCommandTests.deterministicLeaderboard(sweepDir),
            try SweepCommandTests.deterministicLeaderboard(dir.path + "/single/small"))
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: sweepDir + "/leases").filter { $0.hasSuffix(".lease") },
            [], "no lease left")
    }

    func testPlainRunAndWorkersExcludeEachOther() throws {
        let dir = temporaryDirectory(self)
        let sweep = try writeSmallSweep(in: dir, epochs: 30)
        let results = dir.path + "/results"
        let worker = try workerProcess(sweep, results: results)
        defer { worker.signal(SIGKILL); _ = try? worker.wait() }
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline && !text(results + "/.small.lock").contains("\(worker.pid)") { usleep(5_000) }
        cli.assertOneLineError(
            try cli.run("run", sweep, "--results", results), status: 1,
            containing: ["is being run by workers (pid \(worker.pid) among them)", "add --worker to join them"])
        while Date() < deadline && !FileManager.default.fileExists(atPath: results + "/small/leases") { usleep(5_000) }
        let second = try cli.run("status", results + "/small")
        XCTAssertEqual(second.status, 0, second.stderr)
    }

    /// Fencing between two live processes: a worker frozen mid-trial (SIGSTOP) stops renewing its
    /// lease; the other takes the trial over after the lease time and finishes the sweep. Thawed, the
    /// first finds its lease gone and reports nothing: every trial still ends exactly once.
    func testAFrozenWorkerIsFencedOut() throws {
        let dir = temporaryDirectory(self)
        let sweep = try writeSmallSweep(in: dir, epochs: 12)
        let single = try cli.run("run", sweep, "--results", dir.path + "/single")
        XCTAssertEqual(single.status, 0, single.stderr)
        let results = dir.path + "/shared", sweepDir = results + "/small"
        var workers = try (0..<2).map { _ in try workerProcess(sweep, results: results, leaseSeconds: 2) }
        let stopped = try XCTUnwrap(
            signalFirstMidTrial(workers, sweepDir: sweepDir, SIGSTOP).map { workers[$0] },
            "a worker was caught mid-trial")
        let other = try workers.first { $0 !== stopped }!.wait()
        XCTAssertEqual(other.status, 0, other.stdout)
        stopped.signal(SIGCONT)
        let thawed = try stopped.wait()
        XCTAssertEqual(thawed.status, 0, thawed.stdout)
        workers.removeAll()

        var ends: [String: Int] = [:], startedBy: [String: Set<String>] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: sweepDir) where name.hasPrefix("journal-") {
            for line in text("\(sweepDir)/\(name)").split(separator: "\n") {
                let event = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                let trial = event["trial"] as? String ?? ""
                switch event["event"] as! String {
                case "finished", "pruned", "diverged", "failed": ends[trial, default: 0] += 1
                case "started": startedBy[trial, default: []].insert(name)
                default: break
                }
            }
        }
        XCTAssertEqual(Set(ends.values), [1], "every trial ended exactly once: \(ends)")
        XCTAssertTrue(startedBy.values.contains { $0.count == 2 }, "the frozen worker's trial was taken over")
        XCTAssertEqual(
            try SweepCommandTests.deterministicLeaderboard(sweepDir),
            try SweepCommandTests.deterministicLeaderboard(dir.path + "/single/small"))
    }
}

import Foundation
import XCTest
import _TestSupport

/// `hpsweep run` as users run it: resumed after kill -9 at any point, Ctrl-C, the lock, changed specs.
final class SweepCommandTests: XCTestCase {
    let cli = CLI()

    func writeSweep(in dir: URL, epochs: Int = 6, extra: String = "") throws -> String {
        try writeSmallSweep(in: dir, epochs: epochs, extra: extra)
    }

    func deterministicLeaderboard(_ directory: String) throws -> [[String]] {
        try Self.deterministicLeaderboard(directory)
    }

    /// The leaderboard without its wall-time column, as rows of cells.
    static func deterministicLeaderboard(_ directory: String) throws -> [[String]] {
        let text = try String(contentsOfFile: directory + "/leaderboard.csv", encoding: .utf8)
        let rows = text.split(separator: "\n").map {
            $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        }
        // Wall times, and where and in how many attempts trials ran, differ from run to run.
        let drop = Set(
            ["train_seconds", "attempts", "host", "start_time", "end_time"].compactMap { rows[0].firstIndex(of: $0) })
        return rows.map { row in row.enumerated().filter { !drop.contains($0.offset) }.map(\.element) }
    }

    /// The demo sweep (sweeps/demo.json), killed with SIGKILL at five points and rerun until done,
    /// ends with the leaderboard of an uninterrupted run, every trial ended exactly once.
    func testKilledAtAnyPointTheDemoSweepResumesToTheSameLeaderboard() throws {
        let dir = temporaryDirectory(self)
        let demo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("sweeps/demo.json").path
        func arguments(_ name: String) -> [String] {
            ["run", demo, "--results", dir.path + "/\(name)/results", "--cache-dir", dir.path + "/\(name)/cache"]
        }
        let straight = try cli.run(arguments("straight"))
        XCTAssertEqual(straight.status, 0, straight.stderr)
        XCTAssertTrue(straight.stdout.contains("Pareto front (val_acc vs params)"), straight.stdout)

        let results = dir.path + "/killed/results/demo", journal = results + "/journal.jsonl",
            cache = dir.path + "/killed/cache"
        // Kill points: during the cache build, mid-trial (epochs journaled, no outcome yet), right after
        // trial outcomes, in the second generation, and in the last one (or the final retraining).
        let killPoints: [(String, () -> Bool)] = [
            (
                "cache build",
                {
                    ((try? FileManager.default.contentsOfDirectory(atPath: cache)) ?? []).contains {
                        $0.hasPrefix(".building-")
                    }
                }
            ),
            ("mid-trial", { self.lines(journal, containing: "\"event\":\"epoch\"") >= 5 }),
            ("between trials", { self.lines(journal, containing: "\"event\":\"rung\"") >= 5 }),
            (
                "second generation",
                {
                    self.lines(journal, containing: "\"generation\":1") >= 1
                        && self.lines(journal, containing: "\"event\":\"rung\"") >= 16
                }
            ),
            ("last generation", { self.lines(journal, containing: "\"event\":\"finished\"") >= 5 }),
            (
                "final phase",
                {
                    ((try? FileManager.default.contentsOfDirectory(atPath: results + "/models")) ?? []).contains {
                        $0.hasSuffix(".safetensors")
                    }
                }
            ),
        ]
        let killed = try kill(at: killPoints) { try cli.start(arguments("killed")) }
        XCTAssertGreaterThanOrEqual(killed.count, 4, "most kill points were hit: \(killed)")
        print("demo sweep killed with SIGKILL at: \(killed.joined(separator: ", "))")
        var finalRun = try cli.run(arguments("killed"))
        if finalRun.status != 0 { finalRun = try cli.run(arguments("killed")) }
        XCTAssertEqual(finalRun.status, 0, finalRun.stderr)

        let expected = try deterministicLeaderboard(dir.path + "/straight/results/demo")
        XCTAssertEqual(
            try deterministicLeaderboard(results), expected, "metrics bit for bit equal to the uninterrupted run")
        // Every trial ended exactly once; every final evaluation happened once.
        let events = try String(contentsOfFile: journal, encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        var ends: [String: Int] = [:], finals: [String: Int] = [:], planned: [String: Int] = [:]
        for e in events {
            let trial = e["trial"] as? String ?? ""
            switch e["event"] as! String {
            case "finished", "pruned", "diverged", "failed": ends[trial, default: 0] += 1
            case "final": finals[trial, default: 0] += 1
            case "planned": planned[trial, default: 0] += 1
            default: break
            }
        }
        XCTAssertEqual(planned.count, 24)
        XCTAssertEqual(Set(planned.values), [1], "each trial planned once")
        XCTAssertEqual(Set(ends.keys), Set(planned.keys), "every trial ended")
        XCTAssertEqual(Set(ends.values), [1], "…exactly once")
        XCTAssertFalse(finals.isEmpty)
        XCTAssertEqual(Set(finals.values), [1])
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: results + "/checkpoints"), [],
            "checkpoints of ended trials are removed")
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: cache).filter { $0.hasPrefix(".building-") }, [],
            "no abandoned cache build")
        // Every final model file is complete and byte for byte the uninterrupted run's, with no temporary left.
        let straightModels = dir.path + "/straight/results/demo/models"
        let modelNames = try FileManager.default.contentsOfDirectory(atPath: straightModels).sorted()
        XCTAssertEqual(modelNames.count, finals.count, "one model file per final configuration")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: results + "/models").sorted(), modelNames)
        for name in modelNames {
            XCTAssertEqual(
                FileManager.default.contents(atPath: results + "/models/" + name),
                FileManager.default.contents(atPath: straightModels + "/" + name), name)
        }

        // The leaderboard is rebuilt from the journal alone.
        try FileManager.default.removeItem(atPath: results + "/leaderboard.csv")
        let rebuilt = try cli.run("leaderboard", results)
        XCTAssertEqual(rebuilt.status, 0, rebuilt.stderr)
        XCTAssertEqual(try deterministicLeaderboard(results), expected)
        let status = try cli.run("status", results)
        XCTAssertTrue(status.stdout.contains("24 of 24 trials done"), status.stdout)
    }

    /// A kill while a generation's trials were being journaled leaves some planned: the rest are
    /// planned on resume (the same proposals), and the sweep ends as an uninterrupted one.
    func testPartlyPlannedGenerationIsCompletedOnResume() throws {
        let dir = temporaryDirectory(self)
        let sweep = try writeSweep(in: dir, epochs: 3)
        let whole = try cli.run("run", sweep, "--results", dir.path + "/whole")
        XCTAssertEqual(whole.status, 0, whole.stderr)
        let lines = try String(contentsOfFile: dir.path + "/whole/small/journal.jsonl", encoding: .utf8).split(
            separator: "\n")
        let firstPlanned = lines.firstIndex { $0.contains("\"event\":\"planned\"") }!
        try FileManager.default.createDirectory(atPath: dir.path + "/part/small", withIntermediateDirectories: true)
        try (lines[0..<(firstPlanned + 2)].joined(separator: "\n") + "\n" + lines[firstPlanned + 2].prefix(30))
            .write(toFile: dir.path + "/part/small/journal.jsonl", atomically: true, encoding: .utf8)
        let resumed = try cli.run("run", sweep, "--results", dir.path + "/part")
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertEqual(
            try deterministicLeaderboard(dir.path + "/part/small"),
            try deterministicLeaderboard(dir.path + "/whole/small"))
    }

    /// Lines that hold no event this hpsweep reads (a newer version's kind, a planned line missing a
    /// field) are skipped and said so by status and run; the sweep is the one its other lines describe.
    func testJournalLinesThatHoldNoEventAreReportedAndSkipped() throws {
        let dir = temporaryDirectory(self)
        let sweep = try writeSweep(in: dir, epochs: 3)
        let run = try cli.run("run", sweep, "--results", dir.path + "/results")
        XCTAssertEqual(run.status, 0, run.stderr)
        let results = dir.path + "/results/small"
        let expected = try deterministicLeaderboard(results)
        let journal = try XCTUnwrap(FileHandle(forWritingAtPath: results + "/journal.jsonl"))
        journal.seekToEndOfFile()
        journal.write(Data(#"{"event":"teleported","time":1,"trial":"x"}"#.utf8 + [10]))
        journal.write(
            Data(
                #"{"config":0,"event":"planned","method":"linear","params":{},"seed":0,"time":1,"trial":"y","trial_seed":1}"#
                    .utf8 + [10]))
        journal.closeFile()
        let status = try cli.run("status", results)
        XCTAssertEqual(status.status, 0, status.stderr)
        XCTAssertTrue(
            status.stdout.contains(
                "2 journal lines skipped: they hold no event this hpsweep reads (first: \(results)/journal.jsonl:"),
            status.stdout)
        XCTAssertTrue(status.stdout.contains("unknown kind 'teleported'"), status.stdout)
        let rerun = try cli.run("run", sweep, "--results", dir.path + "/results")
        XCTAssertEqual(rerun.status, 0, rerun.stderr)
        XCTAssertTrue(
            rerun.stdout.contains("skipping 2 journal line(s) that hold no event this hpsweep reads"), rerun.stdout)
        XCTAssertEqual(try deterministicLeaderboard(results), expected)
    }

    func testCtrlCStopsAtAnEpochBoundaryAndTheRunResumes() throws {
        let dir = temporaryDirectory(self)
        let sweep = try writeSweep(in: dir, epochs: 12)
        let journal = dir.path + "/results/small/journal.jsonl"
        let process = try cli.start(["run", sweep, "--results", dir.path + "/results"])
        XCTAssertTrue(wait(for: process) { self.lines(journal, containing: "\"event\":\"rung\"") >= 2 })
        process.signal(SIGINT)
        let interrupted = try process.wait()
        XCTAssertEqual(interrupted.status, 130)
        // The hint repeats the command as given, every option included.
        XCTAssertTrue(
            interrupted.stdout.contains(
                "interrupted: progress is saved; rerun the same command to resume: hpsweep run \(sweep) --results \(dir.path)/results"
            ),
            interrupted.stdout)
        // Mid-run, status shows what is known: the best so far and the front of the scored trials, provisional.
        let status = try cli.run("status", dir.path + "/results/small")
        XCTAssertEqual(status.status, 0, status.stderr)
        XCTAssertTrue(
            status.stdout.contains("best val_acc so far: ")
                && status.stdout.contains("provisional: paused at 2 of its epochs"), status.stdout)
        XCTAssertTrue(
            status.stdout.contains("front of finished trials (0, hypervolume 0.0000): none finished yet"), status.stdout
        )
        XCTAssertTrue(status.stdout.contains("provisional front of all "), status.stdout)
        let resumed = try cli.run("run", sweep, "--results", dir.path + "/results")
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stdout.contains("Pareto front"), resumed.stdout)
    }

    /// Cohorts that share each batch read change only the time: the leaderboard equals that of
    /// trials trained on their own, bit for bit.
    func testSharedReadsChangeOnlyTheTime() throws {
        let dir = temporaryDirectory(self)
        let sweep = try writeSweep(in: dir, epochs: 4)
        let text = try String(contentsOfFile: sweep, encoding: .utf8)
        let from = try XCTUnwrap(text.range(of: "\"methods\":")), to = try XCTUnwrap(text.range(of: "\"linear\": {}},"))
        try text.replacingCharacters(
            in: from.lowerBound..<to.upperBound,
            with: "\"methods\": {\"last\": {\"rank\": 4, \"heads\": 2}, \"adapter\": {\"bottleneck\": 8}},"
        )
        .write(toFile: sweep, atomically: true, encoding: .utf8)
        let shared = try cli.run("run", sweep, "--results", dir.path + "/on", "--shared-reads", "on")
        XCTAssertEqual(shared.status, 0, shared.stderr)
        XCTAssertTrue(shared.stdout.contains("trials in a cohort sharing each batch read"), shared.stdout)
        let alone = try cli.run("run", sweep, "--results", dir.path + "/off", "--shared-reads", "off")
        XCTAssertEqual(alone.status, 0, alone.stderr)
        XCTAssertFalse(alone.stdout.contains("sharing each batch read"), alone.stdout)
        XCTAssertEqual(
            try deterministicLeaderboard(dir.path + "/on/small"), try deterministicLeaderboard(dir.path + "/off/small"))
        // Killed mid-cohort, resumed: the same leaderboard again.
        let journal = dir.path + "/killed/small/journal.jsonl"
        let killed = try cli.start(["run", sweep, "--results", dir.path + "/killed", "--shared-reads", "on"])
        XCTAssertTrue(
            wait(for: killed) { self.lines(journal, containing: "\"event\":\"epoch\"") >= 5 }, "killed mid-run")
        killed.signal(SIGKILL)
        try killed.wait()
        let resumed = try cli.run("run", sweep, "--results", dir.path + "/killed", "--shared-reads", "on")
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertEqual(
            try deterministicLeaderboard(dir.path + "/killed/small"),
            try deterministicLeaderboard(dir.path + "/off/small"))
        let auto = try cli.run("run", sweep, "--results", dir.path + "/auto")
        XCTAssertTrue(auto.stdout.contains("reading cached batches took"), auto.stdout)
        cli.assertOneLineError(
            try cli.run("run", sweep, "--shared-reads", "maybe"), status: 2,
            containing: ["'--shared-reads' takes auto, on or off"])
    }

    /// `"compute": "bf16"` in the space: trials of their own (other keys, a `compute` column), the same
    /// leaderboard on a rerun; fp32 trials keep the keys they had before the hyperparameter existed.
    /// Where the CPU has no AVX512_BF16 the file is refused in one line.
    func testBFloat16TrialsAreTrialsOfTheirOwn() throws {
        let dir = temporaryDirectory(self)
        let sweep = try writeSweep(in: dir, epochs: 4)
        let text = try String(contentsOfFile: sweep, encoding: .utf8)
        let lr = #""space": {"lr": {"loguniform": [0.001, 0.03]}}"#
        XCTAssertTrue(text.contains(lr))
        let bf16 = dir.appendingPathComponent("bf16.json").path
        try text.replacingOccurrences(
            of: lr, with: #""space": {"lr": {"loguniform": [0.001, 0.03]}, "compute": "bf16"}"#
        )
        .write(toFile: bf16, atomically: true, encoding: .utf8)
        let explicit = dir.appendingPathComponent("fp32.json").path
        try text.replacingOccurrences(
            of: lr, with: #""space": {"lr": {"loguniform": [0.001, 0.03]}, "compute": "fp32"}"#
        )
        .write(toFile: explicit, atomically: true, encoding: .utf8)
        guard try !cli.run("version").stdout.contains("bf16 GEMM: none") else {
            cli.assertOneLineError(
                try cli.run("validate", bf16), status: 1, containing: [bf16, "compute bf16 needs AVX512_BF16"])
            return
        }
        for (file, results) in [(sweep, "plain"), (explicit, "explicit"), (bf16, "bf16"), (bf16, "again")] {
            let run = try cli.run("run", file, "--results", dir.path + "/" + results)
            XCTAssertEqual(run.status, 0, run.stderr)
        }
        let plain = try deterministicLeaderboard(dir.path + "/plain/small"),
            half = try deterministicLeaderboard(dir.path + "/bf16/small")
        XCTAssertEqual(
            try deterministicLeaderboard(dir.path + "/explicit/small"), plain, "compute fp32 is the trials of before")
        XCTAssertEqual(try deterministicLeaderboard(dir.path + "/again/small"), half, "bf16 trials are reproducible")
        let computeColumn = try XCTUnwrap(half[0].firstIndex(of: "compute")),
            trialColumn = try XCTUnwrap(half[0].firstIndex(of: "trial"))
        XCTAssertEqual(Set(half.dropFirst().map { $0[computeColumn] }), ["bf16"])
        XCTAssertEqual(Set(plain.dropFirst().map { $0[computeColumn] }), ["fp32"])
        XCTAssertTrue(
            Set(half.dropFirst().map { $0[trialColumn] }).isDisjoint(with: plain.dropFirst().map { $0[trialColumn] }),
            "a bf16 trial never takes an fp32 trial's result")
        // The cost account charges the backbone per image it really ran: the 1797 distinct ones.
        let journal = try String(contentsOfFile: dir.path + "/plain/small/journal.jsonl", encoding: .utf8)
        XCTAssertTrue(
            journal.split(separator: "\n").first!.contains(#""cache_images":1797"#), String(journal.prefix(400)))
    }

    func testSecondRunOnTheSameSweepIsRefused() throws {
        let dir = temporaryDirectory(self)
        let sweep = try writeSweep(in: dir, epochs: 20)
        let journal = dir.path + "/results/small/journal.jsonl"
        let first = try cli.start(["run", sweep, "--results", dir.path + "/results"])
        defer { first.signal(SIGKILL); _ = try? first.wait() }
        XCTAssertTrue(wait(for: first) { self.lines(journal, containing: "\"event\":\"planned\"") >= 1 })
        let second = try cli.run("run", sweep, "--results", dir.path + "/results")
        cli.assertOneLineError(
            second, status: 1, containing: ["results/small is in use by another hpsweep run (pid \(first.pid))"])
        // The hints agree: a plain run cannot be joined, so nothing suggests --worker, which says so too.
        XCTAssertFalse(second.stderr.contains("--worker"), second.stderr)
        cli.assertOneLineError(
            try cli.run("run", sweep, "--results", dir.path + "/results", "--worker"), status: 1,
            containing: ["is being run by a plain 'hpsweep run' (pid \(first.pid))", "started with --worker"])
    }

    /// Ctrl-C in the final phase: its retraining scores no validation split, so its progress line says
    /// it was interrupted and resumes, not "val_acc 0.0000 (paused)"; the rerun completes it.
    func testAnInterruptedFinalPhaseSaysWhatItIs() throws {
        let dir = temporaryDirectory(self)
        let sweep = try writeSmallSweep(in: dir, epochs: 30, extra: ", \"final_top\": 1")
        let checkpoints = dir.path + "/results/small/checkpoints"
        let run = try cli.start(["run", sweep, "--results", dir.path + "/results"])
        defer { run.signal(SIGKILL); _ = try? run.wait() }
        XCTAssertTrue(
            wait(for: run) {
                ((try? FileManager.default.contentsOfDirectory(atPath: checkpoints)) ?? []).contains {
                    $0.hasSuffix("-final.ckpt")
                }
            }, "the final phase checkpointed an epoch")
        run.signal(SIGINT)
        let stopped = try run.wait(timeout: 120)
        XCTAssertEqual(stopped.status, 130, stopped.stderr)
        XCTAssertTrue(stopped.stdout.contains("-final: interrupted after"), stopped.stdout)
        XCTAssertFalse(stopped.stdout.contains("-final: val_acc"), stopped.stdout)
        XCTAssertEqual(try cli.run("run", sweep, "--results", dir.path + "/results").status, 0)
    }

    func testChangedSpecIsRefusedUnlessFresh() throws {
        let dir = temporaryDirectory(self)
        let sweep = try writeSweep(in: dir, epochs: 3)
        XCTAssertEqual(try cli.run("run", sweep, "--results", dir.path + "/results").status, 0)
        _ = try writeSweep(in: dir, epochs: 4)
        let refused = try cli.run("run", sweep, "--results", dir.path + "/results")
        cli.assertOneLineError(
            refused, status: 1,
            containing: [
                "journal.jsonl", "changed in ways that make its old and new trials incomparable ($.epochs: 3 → 4)",
                "--fresh",
            ])
        // workers and memory may change freely between resumes.
        _ = try writeSweep(in: dir, epochs: 3, extra: ", \"workers\": 1, \"memory\": \"4GiB\"")
        XCTAssertEqual(try cli.run("run", sweep, "--results", dir.path + "/results").status, 0)
        _ = try writeSweep(in: dir, epochs: 4)
        let fresh = try cli.run("run", sweep, "--results", dir.path + "/results", "--fresh")
        XCTAssertEqual(fresh.status, 0, fresh.stderr)
        XCTAssertTrue(fresh.stdout.contains("moved the previous results aside"), fresh.stdout)
        let entries = try FileManager.default.contentsOfDirectory(atPath: dir.path + "/results")
        XCTAssertTrue(entries.contains { $0.hasPrefix("small.old-") }, "\(entries)")
    }

    /// A finished sweep extended with another grid value, another method and a second seed trains only
    /// the new trials and keeps every finished one.
    func testExtendingAFinishedSweepReusesItsTrials() throws {
        let dir = temporaryDirectory(self)
        // The small sweep as a grid over the given methods, fixed lr, no early stopping.
        func write(_ methods: String, seeds: Int) throws -> String {
            let path = try writeSmallSweep(in: dir, epochs: 3)
            var text = try String(contentsOfFile: path, encoding: .utf8)
            text = text.replacingOccurrences(
                of: #""sampler": {"type": "tpe", "startup": 4, "generation_size": 4}, "trials": 8"#,
                with: #""sampler": "grid""#)
            text = text.replacingOccurrences(
                of: #""early_stopping": {"min_epochs": 2, "reduction_factor": 2}, "#, with: "")
            text = text.replacingOccurrences(
                of: #""space": {"lr": {"loguniform": [0.001, 0.03]}}"#, with: #""space": {"lr": 0.01}"#)
            let start = text.range(of: #""methods": "#)!.lowerBound, end = text.range(of: #""space": "#)!.lowerBound
            text.replaceSubrange(start..<end, with: #""methods": \#(methods), "seeds": \#(seeds), "#)
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        func started(_ journal: String) throws -> [String] {
            try String(contentsOfFile: journal, encoding: .utf8).split(separator: "\n").filter {
                $0.contains("\"event\":\"started\"")
            }
            .map { String($0.split(separator: "\"trial\":\"")[1].prefix(11)) }
        }
        let sweep = try write(#"{"last": {"rank": {"grid": [4, 8]}, "heads": 2}}"#, seeds: 1)
        let first = try cli.run("run", sweep, "--results", dir.path + "/results")
        XCTAssertEqual(first.status, 0, first.stderr)
        let journal = dir.path + "/results/small/journal.jsonl"
        let before = try Set(started(journal))
        XCTAssertEqual(before.count, 2)

        _ = try write(#"{"last": {"rank": {"grid": [4, 8, 16]}, "heads": 2}, "linear": {}}"#, seeds: 2)
        let extended = try cli.run("run", sweep, "--results", dir.path + "/results")
        XCTAssertEqual(extended.status, 0, extended.stderr)
        XCTAssertTrue(extended.stdout.contains("extending the sweep (revision 2)"), extended.stdout)
        XCTAssertTrue(extended.stdout.contains("$.methods.linear: added {}"), extended.stdout)
        XCTAssertTrue(extended.stdout.contains("$.seeds: 1 → 2"), extended.stdout)
        let after = try started(journal)
        XCTAssertEqual(after.count, 2 + 6, "only the 6 new trials trained: (3 ranks + linear) × 2 seeds − the 2 done")
        XCTAssertTrue(before.isSubset(of: Set(after)))
        XCTAssertEqual(Set(after).count, after.count, "none trained twice")
        let board = try String(contentsOfFile: dir.path + "/results/small/leaderboard.csv", encoding: .utf8).split(
            separator: "\n")
        XCTAssertEqual(board.count, 1 + 8)
        let rerun = try cli.run("run", sweep, "--results", dir.path + "/results")
        XCTAssertEqual(try started(journal).count, 8, "a rerun of the finished sweep trains nothing")
        XCTAssertFalse(rerun.stdout.contains("extending"), rerun.stdout)
    }

    /// Configurations that break a declared constraint are rejected before training; Pareto-aware
    /// early stopping runs the sweep to the end.
    func testConstraintsRejectBeforeTrainingWithParetoAwareStopping() throws {
        let dir = temporaryDirectory(self)
        let path = try writeSmallSweep(in: dir, extra: #", "constraints": ["params <= 8000"]"#)
        var text = try String(contentsOfFile: path, encoding: .utf8)
        text = text.replacingOccurrences(
            of: #""early_stopping": {"min_epochs": 2"#, with: #""early_stopping": {"type": "pareto", "min_epochs": 2"#)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        // validate names the configurations (of those it can list) that run will reject.
        let validate = try cli.run("validate", path)
        XCTAssertEqual(validate.status, 0, validate.stderr)
        let foretold = Set(
            validate.stdout.split(separator: "\n").filter { $0.contains("→ rejected: params") }
                .compactMap { line in line.split(separator: " ").dropFirst().first.flatMap { Int($0) } })
        let run = try cli.run("run", path, "--results", dir.path + "/results")
        XCTAssertEqual(run.status, 0, run.stderr)
        let rows = try String(contentsOfFile: dir.path + "/results/small/leaderboard.csv", encoding: .utf8).split(
            separator: "\n"
        ).map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        let header = rows[0], status = header.firstIndex(of: "status")!, params = header.firstIndex(of: "params")!,
            epochs = header.firstIndex(of: "epochs_run")!
        let generation = header.firstIndex(of: "generation")!, config = header.firstIndex(of: "config")!
        let rejectedFirst = Set(
            rows.dropFirst().filter { $0[status] == "rejected" && $0[generation] == "1" }.compactMap { Int($0[config]) }
        )
        XCTAssertFalse(foretold.isEmpty, validate.stdout)
        XCTAssertEqual(foretold, rejectedFirst, "validate foretold exactly the first generation's rejections")
        let rejected = rows.dropFirst().filter { $0[status] == "rejected" }
        XCTAssertFalse(rejected.isEmpty, "some configurations are over 8000 parameters")
        for row in rejected {
            XCTAssertGreaterThan(Int(row[params])!, 8000)
            XCTAssertEqual(row[epochs], "0", "never trained")
        }
        for row in rows.dropFirst() where row[status] != "rejected" {
            XCTAssertLessThanOrEqual(Int(row[params])!, 8000)
        }
        let journal = try String(contentsOfFile: dir.path + "/results/small/journal.jsonl", encoding: .utf8)
        XCTAssertTrue(journal.contains("breaks the constraint 'params <= 8000'"))
        XCTAssertTrue(rows.dropFirst().contains { $0[status] == "finished" })
    }

    func testValidatePrintsThePlanAndCatchesErrors() throws {
        let dir = temporaryDirectory(self)
        let sweep = try writeSweep(in: dir)
        let ok = try cli.run("validate", sweep)
        XCTAssertEqual(ok.status, 0, ok.stderr)
        XCTAssertTrue(ok.stdout.contains("8 configurations × 1 seed"), ok.stdout)
        XCTAssertTrue(ok.stdout.contains("config 0    gen 1  adapter"), ok.stdout)
        XCTAssertTrue(ok.stdout.contains("generation 2: configurations 4…7 proposed by TPE"), ok.stdout)
        // The cost before the work: train800val200 is train800 and val200 again, and is not computed twice.
        XCTAssertTrue(
            ok.stdout.contains("cache: 1797 distinct images (of 2797 examples in 4 splits), 28.0 MiB, backbone ≈"),
            ok.stdout)
        XCTAssertTrue(ok.stdout.contains("images/s, measured on this machine), to build in"), ok.stdout)
        XCTAssertFalse(ok.stdout.contains("final phase: streams"), "the demo caches its test split")
        let streaming = dir.appendingPathComponent("streaming.json").path
        try String(contentsOfFile: sweep, encoding: .utf8)
            .replacingOccurrences(
                of: #""cache": {"dir": "cache"}"#,
                with: #""cache": {"dir": "cache", "splits": ["train800", "val200", "train800val200"]}"#
            )
            .write(toFile: streaming, atomically: true, encoding: .utf8)
        let streamed = try cli.run("validate", streaming)
        XCTAssertTrue(
            streamed.stdout.contains("cache: 1000 distinct images (of 2000 examples in 3 splits)"), streamed.stdout)
        XCTAssertTrue(
            streamed.stdout.contains("final phase: streams 797 images of test through the backbone once, backbone ≈"),
            streamed.stdout)
        // The values no sampler chooses are listed too, each method's own defaults among them.
        let lines = ok.stdout.split(separator: "\n").map(String.init)
        var fixed: [String: String] = [:]  // method → its fixed line
        for (line, next) in zip(lines, lines.dropFirst()) where next.hasPrefix("    fixed: ") {
            fixed[String(line.dropFirst(2).prefix { $0 != ":" })] = next
        }
        XCTAssertEqual(Set(fixed.keys), ["adapter", "last", "linear", "lst"], ok.stdout)
        XCTAssertTrue(
            fixed["last"]!.contains("heads=2") && fixed["last"]!.contains("init=xavier norm_affine=true"),
            fixed["last"]!)
        XCTAssertTrue(
            fixed["lst"]!.contains("init=xavier lst_init=random") && !fixed["lst"]!.contains("norm_affine"),
            fixed["lst"]!)
        XCTAssertTrue(fixed["linear"]!.contains("init=timm norm_affine=true"), fixed["linear"]!)
        XCTAssertTrue(fixed["adapter"]!.contains("init=fan_in norm_affine=true"), fixed["adapter"]!)
        _ = try writeSweep(in: dir, extra: ", \"sampler_\": 1")
        cli.assertOneLineError(
            try cli.run("validate", sweep), status: 1, containing: [sweep, "$.sampler_", "did you mean 'sampler'?"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.path + "/cache"), "validate does no work")
        // Once built, validate says so.
        _ = try writeSweep(in: dir)
        let built = try cli.run("cache", sweep)
        XCTAssertEqual(built.status, 0, built.stderr)
        XCTAssertTrue(built.stdout.contains("1797 distinct images (of 2797 examples in 4 splits)"), built.stdout)
        let again = try cli.run("validate", sweep)
        XCTAssertTrue(
            again.stdout.contains("  cache: built, ") && again.stdout.contains("1797 distinct images in test 797"),
            again.stdout)
    }

    /// sweeps/vtab.json without its weights or data says what to download and where to put it.
    func testVTABSweepSaysWhatToDownload() throws {
        let dir = temporaryDirectory(self)
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        try FileManager.default.createDirectory(
            at: dir.appendingPathComponent("sweeps"), withIntermediateDirectories: true)
        let sweep = dir.appendingPathComponent("sweeps/vtab.json").path
        try FileManager.default.copyItem(atPath: repo.appendingPathComponent("sweeps/vtab.json").path, toPath: sweep)
        cli.assertOneLineError(
            try cli.run("validate", sweep), status: 1,
            containing: [
                "$.backbone.weights",
                "download https://storage.googleapis.com/vit_models/imagenet21k/ViT-B_16.npz and save it as \(dir.path)/weights/ViT-B_16.npz",
            ])
        try FileManager.default.createDirectory(
            at: dir.appendingPathComponent("weights"), withIntermediateDirectories: true)
        XCTAssertTrue(
            FileManager.default.createFile(
                atPath: dir.appendingPathComponent("weights/ViT-B_16.npz").path, contents: Data()))
        cli.assertOneLineError(
            try cli.run("run", sweep, "--results", dir.path + "/results"), status: 1,
            containing: [
                "$.data.root", "no VTAB-1k task 'caltech101'",
                "so that \(dir.path)/data/vtab-1k/caltech101/train800.txt exists",
            ])
    }
}

let digitsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("sweeps/data/digits").path

/// A small sweep on the digits (all four methods, TPE, successive halving, two objectives) in `dir`.
func writeSmallSweep(in dir: URL, epochs: Int = 6, extra: String = "") throws -> String {
    let splits = ["train800", "val200", "train800val200", "test"].map {
        "\"\($0)\": {\"images\": \"\(digitsDirectory)/\($0)_images.npy\", \"labels\": \"\(digitsDirectory)/\($0)_labels.npy\"}"
    }.joined(separator: ", ")
    let text = """
        {"name": "small", "seed": 1, "backbone": {"random": "vit-tiny-test", "seed": 0},
         "data": {"format": "numpy", "classes": 10, "splits": {\(splits)}},
         "cache": {"dir": "cache"},
         "methods": {"last": {"rank": {"choice": [4, 8]}, "heads": 2}, "lst": {"reduction": {"choice": [4, 8]}},
                     "adapter": {"bottleneck": {"choice": [8, 16]}}, "linear": {}},
         "space": {"lr": {"loguniform": [0.001, 0.03]}},
         "sampler": {"type": "tpe", "startup": 4, "generation_size": 4}, "trials": 8, "epochs": \(epochs),
         "early_stopping": {"min_epochs": 2, "reduction_factor": 2}, "objectives": ["val_acc", "params"]\(extra)}
        """
    let path = dir.appendingPathComponent("small.json").path
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

/// Upgrading hpsweep mid-sweep: a journal written before `init` and `norm_affine` existed.
final class RecordedDefaultsTests: XCTestCase {
    let cli = CLI()

    func testSweepBegunBeforeInitAndNormAffineGoesOnAsItsTrialsTrained() throws {
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/legacy-sweep")
        let dir = temporaryDirectory(self), results = dir.appendingPathComponent("results/upgrade")
        try FileManager.default.createDirectory(at: results, withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            at: fixture.appendingPathComponent("journal.jsonl"), to: results.appendingPathComponent("journal.jsonl"))
        try FileManager.default.createSymbolicLink(
            atPath: dir.appendingPathComponent("digits").path, withDestinationPath: digitsDirectory)
        // The same file, extended from 4 trials to 8: a second generation for the sampler to propose.
        let text = try String(contentsOf: fixture.appendingPathComponent("sweep.json"), encoding: .utf8)
            .replacingOccurrences(of: #""trials": 4"#, with: #""trials": 8"#)
        let sweep = dir.appendingPathComponent("sweep.json").path
        try text.write(toFile: sweep, atomically: true, encoding: .utf8)

        let run = try cli.run("run", sweep, "--results", dir.appendingPathComponent("results").path)
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(
            run.stdout.contains(
                "goes on as its trials trained: init=timm (adapter, last, lst), norm_affine=false (adapter, last, linear)"
            ), run.stdout)
        XCTAssertTrue(run.stdout.contains("resuming: 4 of 8 trials already done"), run.stdout)

        let old = try leaderboardRows(fixture.appendingPathComponent("leaderboard.csv").path)
        let new = try leaderboardRows(results.appendingPathComponent("leaderboard.csv").path)
        XCTAssertEqual(new.count, 8)
        for row in old {
            let same = try XCTUnwrap(
                new.first { $0["trial"] == row["trial"] }, "old trial \(row["trial"]!) kept its id")
            XCTAssertEqual(same["val_acc"], row["val_acc"], "and its result: not retrained")
        }
        for row in new {
            let method = row["method"]!
            XCTAssertEqual(row["init"], "timm", "\(row): old and new trials train alike")
            XCTAssertEqual(row["norm_affine"], method == "lst" ? "" : "false", "\(row)")
        }
        let journal = try String(contentsOf: results.appendingPathComponent("journal.jsonl"), encoding: .utf8)
        XCTAssertEqual(
            journal.components(separatedBy: #""event":"started""#).count - 1, try startEvents(fixture) + 4,
            "only the 4 new trials started")

        // Extended once more: the journal now also holds trials recorded with init=timm; still one recipe.
        try text.replacingOccurrences(of: #""trials": 8"#, with: #""trials": 12"#).write(
            toFile: sweep, atomically: true, encoding: .utf8)
        let again = try cli.run("run", sweep, "--results", dir.appendingPathComponent("results").path)
        XCTAssertEqual(again.status, 0, again.stderr)
        let twelve = try leaderboardRows(results.appendingPathComponent("leaderboard.csv").path)
        XCTAssertEqual(twelve.count, 12)
        XCTAssertEqual(Set(twelve.map { $0["init"]! }), ["timm"], "\(twelve.map { $0["init"]! })")
    }

    private func startEvents(_ fixture: URL) throws -> Int {
        try String(contentsOf: fixture.appendingPathComponent("journal.jsonl"), encoding: .utf8).components(
            separatedBy: #""event":"started""#
        ).count - 1
    }

    private func leaderboardRows(_ path: String) throws -> [[String: String]] {
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
            $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        }
        return lines.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(lines[0], $0)) }
    }
}

import Foundation
import XCTest
import _TestSupport

/// A suite of VTAB-1k tasks: one ordinary sweep per task under results/<suite>/<task>/, and the
/// paper's table of them (two tiny tasks made from the fixture task, under VTAB-1k names).
final class SuiteTests: XCTestCase {
    let cli = CLI()

    func writeSuite(in dir: URL, tasks: String, extra: String = "") throws -> String {
        let root = dir.appendingPathComponent("vtab-1k")
        for task in ["eurosat", "kitti"]
        where !FileManager.default.fileExists(atPath: root.appendingPathComponent(task).path) {
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
            try FileManager.default.copyItem(
                atPath: fixturePath("vtab/tiny-task"), toPath: root.appendingPathComponent(task).path)
        }
        let text = """
            {"name": "mini", "seed": 1, "tasks": \(tasks),
             "backbone": {"random": "vit-tiny-test", "seed": 0},
             "data": {"format": "vtab", "root": "vtab-1k"},
             "methods": ["linear"], "space": {"lr": {"loguniform": [0.01, 0.1]}}, "trials": 2, "epochs": 2\(extra)}
            """
        let path = dir.appendingPathComponent("suite.json").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// A task's name is its own: an override that renames it (onto another task's results) is refused.
    func testAnOverrideCannotRenameATask() throws {
        let dir = temporaryDirectory(self)
        for name in ["eurosat", "other"] {
            let suite = try writeSuite(
                in: dir, tasks: #"["eurosat", "kitti"]"#, extra: #", "overrides": {"kitti": {"name": "\#(name)"}}"#)
            cli.assertOneLineError(
                try cli.run("validate", suite), status: 1, containing: ["$.overrides", "'kitti' may not set 'name'"])
        }
    }

    func testATaskListRunsAsOneSweepPerTaskAndTablesThem() throws {
        let dir = temporaryDirectory(self)
        let suite = try writeSuite(
            in: dir, tasks: #"["eurosat", "kitti"]"#, extra: #", "overrides": {"kitti": {"epochs": 3}}"#)
        let results = dir.path + "/results"
        // One task alone (a Slurm array task), then the whole suite: the first is resumed, not redone.
        let one = try cli.run("run", suite, "--results", results, "--task", "1")
        XCTAssertEqual(one.status, 0, one.stderr)
        XCTAssertTrue(one.stdout.contains("task 1/1, kitti"), one.stdout)
        let all = try cli.run("run", suite, "--results", results)
        XCTAssertEqual(all.status, 0, all.stderr)
        XCTAssertTrue(all.stdout.contains("task 1/2, eurosat") && all.stdout.contains("task 2/2, kitti"), all.stdout)
        // The two tasks share the digits' cache, which the single task built: nothing left to build.
        XCTAssertFalse(
            all.stdout.contains("suite caches to build") || one.stdout.contains("suite caches to build"), all.stdout)
        for task in ["eurosat", "kitti"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(results)/mini/\(task)/leaderboard.csv"), task)
        }
        let kitti = try String(contentsOfFile: "\(results)/mini/kitti/leaderboard.csv", encoding: .utf8)
        XCTAssertTrue(
            kitti.contains(",finished,")
                && kitti.split(separator: "\n").dropFirst().allSatisfy {
                    !$0.contains(",finished,") || $0.contains(",3,")
                },
            "kitti's override (3 epochs): \(kitti)")

        let table = try cli.run("table", "\(results)/mini")
        XCTAssertEqual(table.status, 0, table.stderr)
        let row = table.stdout.split(separator: "\n").first { $0.hasPrefix("| linear") }.map(String.init) ?? ""
        let cells = row.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
        let header =
            table.stdout.split(separator: "\n").first.map {
                $0.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            } ?? []
        XCTAssertEqual(cells.count, header.count, table.stdout)
        guard cells.count == header.count, let eurosat = header.firstIndex(of: "eurosat"),
            let kittiColumn = header.firstIndex(of: "kitti"),
            let groups = header.firstIndex(of: "mean of group means"), let cifar = header.firstIndex(of: "cifar")
        else { return }
        XCTAssertNotNil(Double(cells[eurosat]), row)
        XCTAssertNotNil(Double(cells[kittiColumn]), row)
        XCTAssertEqual(cells[cifar], "–", "a task never run is marked")
        XCTAssertEqual(cells[groups], "–", "no mean over an incomplete table")
        XCTAssertTrue(table.stdout.contains("linear: not run yet on cifar, caltech101, dtd"), table.stdout)
        for file in ["table.csv", "table.md", "table.tex"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(results)/mini/\(file)"), file)
        }
    }

    func testSuiteMistakesAreOneLineEach() throws {
        let dir = temporaryDirectory(self)
        let unknown = try writeSuite(in: dir, tasks: #"["eurosatt"]"#)
        let run = try cli.run("run", unknown, "--results", dir.path + "/r")
        XCTAssertEqual(run.status, 1)
        XCTAssertTrue(
            run.stderr.contains("$.tasks") && run.stderr.contains("unknown VTAB-1k task 'eurosatt'")
                && run.stderr.contains("eurosat"), run.stderr)
        let suite = try writeSuite(in: dir, tasks: #"["eurosat"]"#)
        let badTask = try cli.run("run", suite, "--results", dir.path + "/r", "--task", "dmlab")
        XCTAssertEqual(badTask.status, 2)
        XCTAssertTrue(badTask.stderr.contains("--task dmlab: not a task"), badTask.stderr)
        // warm_start: previous tasks belong to a suite; a listed sweep must have results.
        let single = dir.appendingPathComponent("single.json").path
        try
            #"{"name": "s", "backbone": {"random": "vit-tiny-test"}, "data": {"format": "vtab", "root": "vtab-1k", "task": "eurosat", "classes": 10}, "methods": ["linear"], "trials": 1, "warm_start": "previous_tasks"}"#
            .write(toFile: single, atomically: true, encoding: .utf8)
        cli.assertOneLineError(
            try cli.run("run", single, "--results", dir.path + "/r"), status: 1,
            containing: ["$.warm_start", "applies to a suite"])
        try
            #"{"name": "s", "backbone": {"random": "vit-tiny-test"}, "data": {"format": "vtab", "root": "vtab-1k", "task": "eurosat", "classes": 10}, "methods": ["linear"], "trials": 1, "warm_start": ["nowhere"]}"#
            .write(toFile: single, atomically: true, encoding: .utf8)
        cli.assertOneLineError(
            try cli.run("run", single, "--results", dir.path + "/r"), status: 1,
            containing: ["$.warm_start", "nowhere", "not a sweep's results directory"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.path + "/r/s"), "nothing written for a refused sweep")
        // compare takes leaderboards or suites, not a mixture.
        let board = try writeLeaderboardFixture(in: dir)
        cli.assertOneLineError(
            try cli.run("compare", board, dir.path), status: 2, containing: ["leaderboards or suites, not both"])
        let notSuite = try cli.run("table", dir.path)
        XCTAssertEqual(notSuite.status, 1)
        XCTAssertTrue(notSuite.stderr.contains("no VTAB-1k task results"), notSuite.stderr)
    }

    /// sweeps/suite-demo.json (three of its tasks, fewer trials and epochs), killed with SIGKILL in its
    /// second task — right after that task's warm_start line, and mid-search — then rerun: the table
    /// and every task's leaderboard equal an uninterrupted run's.
    func testTheSuiteDemoKilledInItsSecondTaskTablesAsAnUninterruptedRun() throws {
        let dir = temporaryDirectory(self)
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        var suite =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: repository.appendingPathComponent("sweeps/suite-demo.json"))) as! [String: Any]
        suite["tasks"] = Array((suite["tasks"] as! [Any]).prefix(3))
        var data = suite["data"] as! [String: Any]
        data["root"] = repository.appendingPathComponent("sweeps/data/digits-suite").path
        suite["data"] = data
        suite["trials"] = 6; suite["epochs"] = 4
        suite["sampler"] = ["type": "tpe", "startup": 3, "generation_size": 3]
        let file = dir.appendingPathComponent("suite.json").path
        try JSONSerialization.data(withJSONObject: suite).write(to: URL(fileURLWithPath: file))
        func arguments(_ name: String) -> [String] {
            ["run", file, "--results", "\(dir.path)/\(name)", "--cache-dir", "\(dir.path)/\(name)-cache"]
        }

        let straight = try cli.run(arguments("straight"))
        XCTAssertEqual(straight.status, 0, straight.stderr)
        // Before the first task, the caches the suite still needs against the free space of their root.
        XCTAssertTrue(
            straight.stdout.split(separator: "\n").first!.hasPrefix(
                "suite caches to build in \(dir.path)/straight-cache: ")
                && straight.stdout.contains(" free)"), straight.stdout)
        XCTAssertTrue(straight.stdout.contains("warm start from digits:"), straight.stdout)

        let second = "\(dir.path)/killed/suite-demo/digits_parity/journal.jsonl"
        let killPoints: [(String, () -> Bool)] = [
            (
                "after the second task's warm_start line",
                { self.lines(second, containing: #""event":"warm_start""#) >= 1 }
            ),
            ("mid-search of the second task", { self.lines(second, containing: #""event":"finished""#) >= 2 }),
        ]
        let killed = try kill(at: killPoints) { try cli.start(arguments("killed")) }
        XCTAssertEqual(killed.count, 2, "both kill points were hit: \(killed)")
        let resumed = try cli.run(arguments("killed"))
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        for task in ["digits", "digits_parity", "digits_rotated"] {
            XCTAssertEqual(
                try SweepCommandTests.deterministicLeaderboard("\(dir.path)/killed/suite-demo/\(task)"),
                try SweepCommandTests.deterministicLeaderboard("\(dir.path)/straight/suite-demo/\(task)"), task)
        }
        for name in ["straight", "killed"] {
            let table = try cli.run("table", "\(dir.path)/\(name)/suite-demo")
            XCTAssertEqual(table.status, 0, table.stderr)
        }
        let straightTable = try String(contentsOfFile: "\(dir.path)/straight/suite-demo/table.csv", encoding: .utf8)
        XCTAssertEqual(
            try String(contentsOfFile: "\(dir.path)/killed/suite-demo/table.csv", encoding: .utf8), straightTable)
        XCTAssertTrue(
            straightTable.hasPrefix("method,digits,digits_parity,digits_rotated,upright mean,transformed mean,"),
            straightTable)
        let compare = try cli.run("compare", "\(dir.path)/straight/suite-demo", "\(dir.path)/killed/suite-demo")
        XCTAssertEqual(compare.status, 0, compare.stderr)
        XCTAssertTrue(
            compare.stdout.contains("2 suites")
                && compare.stdout.contains("over the 3 tasks both scored: mean difference +0.00 points"), compare.stdout
        )
    }

    /// A minimal leaderboard file (a header and one trial) for argument checks.
    func writeLeaderboardFixture(in dir: URL) throws -> String {
        let path = dir.appendingPathComponent("board.csv").path
        try "trial,method,status,val_acc\nt1,linear,finished,0.5\n".write(
            toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}

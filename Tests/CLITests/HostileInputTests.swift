import Foundation
import XCTest
import _TestSupport

/// Commands given hostile arguments: one line, a non-zero exit, and nothing of a sweep touched.
final class HostileInputTests: XCTestCase {
    let cli = CLI()
    let demo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("sweeps/demo.json").path

    /// A results directory that looks like a sweep's (its journal is what marks it).
    func fakeSweep() throws -> URL {
        let sweep = temporaryDirectory(self).appendingPathComponent("results/demo")
        try FileManager.default.createDirectory(at: sweep, withIntermediateDirectories: true)
        try Data("the journal\n".utf8).write(to: sweep.appendingPathComponent("journal.jsonl"))
        return sweep
    }

    func testNoOutputOptionWritesOntoASweepsJournal() throws {
        let sweep = try fakeSweep()
        let journal = sweep.appendingPathComponent("journal.jsonl").path
        for arguments in [
            ["export", "--optuna", sweep.path, journal], ["report", sweep.path, "--output", journal],
            ["compare", "a.csv", "b.csv", "--csv", journal],
        ] {
            let result = try cli.run(arguments)
            cli.assertOneLineError(result, status: 1, containing: ["refusing to write", journal])
            XCTAssertEqual(
                try String(contentsOfFile: journal, encoding: .utf8), "the journal\n", arguments.joined(separator: " "))
        }
    }

    func testFreshMovesNothingWhenAnOptionIsRejected() throws {
        let sweep = try fakeSweep()
        let root = sweep.deletingLastPathComponent().path
        for bad in [
            ["--memory", "0.5B"], ["--memory", "1e12GiB"], ["--workers", "0"], ["--threads", "-1"],
            ["--shared-reads", "maybe"],
        ] {
            let result = try cli.run(["run", demo, "--results", root, "--fresh"] + bad)
            cli.assertOneLineError(result, status: 2, containing: [bad[0]])
            XCTAssertTrue(
                FileManager.default.fileExists(atPath: sweep.appendingPathComponent("journal.jsonl").path),
                bad.joined(separator: " "))
            let entries = try FileManager.default.contentsOfDirectory(atPath: root)
            XCTAssertFalse(entries.contains { $0.contains(".old-") }, "\(entries)")
        }
    }

    /// `--results` that is a file, or empty, is one line naming it, not a Foundation error dump.
    func testResultsThatIsNoDirectoryIsOneTrueLine() throws {
        let file = temporaryDirectory(self).appendingPathComponent("a-file").path
        try Data().write(to: URL(fileURLWithPath: file))
        cli.assertOneLineError(
            try cli.run("run", demo, "--results", file), status: 1,
            containing: ["--results: cannot use \(file) as the results directory: it is a file"])
        cli.assertOneLineError(try cli.run("run", demo, "--results", ""), status: 2, containing: ["'--results'"])
    }

    func testCompareNeedsAnObjective() throws {
        for list in ["", ","] {
            cli.assertOneLineError(
                try cli.run(["compare", "a.csv", "b.csv", "--objectives", list]), status: 2,
                containing: ["--objectives"])
        }
    }

    /// A trial that can never fit the memory budget is journaled as failed once (it was planned again
    /// for ever), and a sweep in which nothing trained says so and exits non-zero.
    func testTrialsLargerThanTheBudgetFailOnceAndTheRunSaysNothingTrained() throws {
        let dir = temporaryDirectory(self)
        let result = try cli.run(
            ["run", demo, "--results", dir.path + "/results", "--cache-dir", dir.path + "/cache", "--memory", "1KiB"],
            timeout: 300)
        cli.assertOneLineError(
            result, status: 1,
            containing: ["no trial of sweep 'demo' trained (24 failed)", "more than the whole budget of 0.0 MiB"])
        let journal = try String(contentsOfFile: dir.path + "/results/demo/journal.jsonl", encoding: .utf8)
        let events = journal.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        XCTAssertEqual(events.filter { $0["event"] as? String == "failed" }.count, 24, "each trial failed exactly once")
        XCTAssertTrue(
            FileManager.default.fileExists(atPath: dir.path + "/results/demo/leaderboard.csv"),
            "the leaderboard is still written")
    }

    /// `validate` of a large plan lists its first configurations and counts the rest.
    func testValidateSummarisesALargePlan() throws {
        let dir = temporaryDirectory(self)
        let path = try writeSmallSweep(in: dir)
        let text = try String(contentsOfFile: path, encoding: .utf8)
            .replacingOccurrences(of: "\"trials\": 8", with: "\"trials\": 100000, \"seeds\": 20")
            .replacingOccurrences(of: "{\"type\": \"tpe\", \"startup\": 4, \"generation_size\": 4}", with: "\"random\"")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let result = try cli.run("validate", path)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertLessThan(result.stdout.split(separator: "\n").count, 80, result.stdout)
        XCTAssertTrue(result.stdout.contains("… and 99940 more configurations, up to generation 1"), result.stdout)
        XCTAssertTrue(result.stdout.contains("× seeds 0…19 (20)"), result.stdout)
    }

    /// `--fresh` moves the old results aside under a name that is free, even when an earlier `--fresh`
    /// of the same second took the plain one.
    func testFreshNeverCollidesWithAnEarlierAside() throws {
        let sweep = try fakeSweep()
        let root = sweep.deletingLastPathComponent()
        let formatter = ISO8601DateFormatter()
        for second in 0..<4 {  // the asides of this second and the next few already exist
            let stamp = formatter.string(from: Date().addingTimeInterval(Double(second))).replacingOccurrences(
                of: ":", with: "")
            try FileManager.default.createDirectory(
                at: root.appendingPathComponent("demo.old-" + stamp), withIntermediateDirectories: true)
        }
        let result = try cli.run(
            [
                "run", demo, "--results", root.path, "--cache-dir", root.path + "/../cache", "--fresh", "--memory",
                "1KiB",
            ], timeout: 300)
        XCTAssertEqual(result.status, 1, result.stderr)
        XCTAssertTrue(result.stderr.contains("no trial of sweep 'demo' trained"), result.stderr)
        let asides = try FileManager.default.contentsOfDirectory(atPath: root.path).filter {
            $0.hasPrefix("demo.old-") && $0.hasSuffix("-2")
        }
        let entries = try FileManager.default.contentsOfDirectory(atPath: root.path)
        XCTAssertEqual(asides.count, 1, "\(entries)")
        XCTAssertEqual(
            try String(contentsOfFile: root.path + "/" + asides[0] + "/journal.jsonl", encoding: .utf8), "the journal\n"
        )
    }
}

/// No output option writes onto a file the command reads, nor two outputs onto one file, whatever the
/// name it is given by (a link, another spelling): files are compared by identity.
final class OutputOntoInputTests: XCTestCase {
    let cli = CLI()

    func testNoOutputLandsOnAnInputOrAnotherOutput() throws {
        let dir = temporaryDirectory(self)
        let images = dir.appendingPathComponent("imgs.npy").path, link = dir.appendingPathComponent("link.npy").path
        try FileManager.default.copyItem(atPath: "\(digitsDirectory)/val200_images.npy", toPath: images)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: images)
        let model = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/models/linear.safetensors").path
        let before = try Data(contentsOf: URL(fileURLWithPath: images))
        let csv = dir.appendingPathComponent("out.csv").path
        let a = dir.appendingPathComponent("a.csv").path
        try Data("trial,method\n".utf8).write(to: URL(fileURLWithPath: a))
        for (arguments, text) in [
            (["predict", model, images, "--out", images], "one of this command's inputs"),
            (["predict", model, images, "--out", link], "one of this command's inputs"),
            (["predict", model, images, "--out", model], "one of this command's inputs"),
            (["predict", model, images, "--out", csv, "--confusion", csv], "--confusion writes it too"),
            (["compare", a, a, "--csv", a], "one of this command's inputs"),
        ] {
            cli.assertOneLineError(try cli.run(arguments), status: 1, containing: [text])
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: images)), before)
        XCTAssertFalse(FileManager.default.fileExists(atPath: csv))
    }
}

/// Every numeric option of every command, given 0, −1, 2³¹, 2⁶³−1, 1e300, nan and inf: a usage error
/// (status 2) or a refusal in one line, never a trap (status ≥ 128) or a hang.
final class NumericOptionTests: XCTestCase {
    let cli = CLI()

    func testNoNumericOptionTrapsOrHangs() throws {
        let help = try cli.run("help")
        var commands: [[String]] = []
        for line in help.stdout.split(separator: "\n") where line.hasPrefix("  ") {
            let words = line.split(separator: " ").map(String.init)
            if let first = words.first, first.allSatisfy({ $0.isLetter }) {
                commands.append(words.count > 1 && words[1].allSatisfy({ $0.isLetter }) ? [first, words[1]] : [first])
            }
        }
        XCTAssertGreaterThan(commands.count, 10, help.stdout)
        var tried = 0
        for command in commands {
            let text = try cli.run(command + ["--help"]).stdout
            // Options whose value name is a number's (N, K, S, …) take numbers.
            let numeric = text.split(separator: "\n").compactMap { line -> String? in
                let words = line.split(separator: " ")
                guard words.count >= 2, words[0].hasPrefix("--"), words[1].count <= 2,
                    words[1].allSatisfy({ $0.isUppercase })
                else { return nil }
                return String(words[0])
            }
            for option in numeric {
                for value in ["0", "-1", "2147483648", "9223372036854775807", "1e300", "nan", "inf"] {
                    let result = try cli.run(command + ["x", option, value], timeout: 60)
                    XCTAssertLessThan(result.status, 128, "\(command) \(option) \(value): \(result.stderr)")
                    XCTAssertNotEqual(result.status, 0, "\(command) \(option) \(value)")
                    tried += 1
                }
            }
        }
        XCTAssertGreaterThan(tried, 100)
    }
}

import Foundation
import SideTuning
import Sweep
import XCTest
import _TestSupport

/// Writes a leaderboard CSV (hpsweep's columns, or `columns`) of `rows` into `dir/name/leaderboard.csv`,
/// with a summary.json naming `objectives` when given.
func writeLeaderboard(
    _ rows: [[String: String]], in dir: URL, name: String,
    columns: [String] = Leaderboard.columns(SideTuningCatalogue.catalogue),
    objectives: [String]? = nil
) throws -> String {
    let folder = dir.appendingPathComponent(name)
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    var text = columns.joined(separator: ",") + "\n"
    for row in rows { text += columns.map { row[$0] ?? "" }.joined(separator: ",") + "\n" }
    try text.write(to: folder.appendingPathComponent("leaderboard.csv"), atomically: true, encoding: .utf8)
    if let objectives {
        let summary = [
            "objectives": objectives.map { ["metric": $0, "direction": $0 == "val_acc" ? "maximize" : "minimize"] }
        ]
        try JSONSerialization.data(withJSONObject: summary).write(to: folder.appendingPathComponent("summary.json"))
    }
    return folder.appendingPathComponent("leaderboard.csv").path
}

/// A finished trial of `method` with its hyperparameters.
func trial(
    _ id: String, _ method: String, seed: Int, acc: Double, params: Int, status: String = "finished",
    _ values: [String: String]
) -> [String: String] {
    var row = [
        "trial": id, "method": method, "status": status, "seed": String(seed), "val_acc": String(acc),
        "params": String(params),
        "train_seconds": "1.0", "weight_decay": "0.0001", "batch_size": "64", "warmup": "0.1", "decay": "cosine",
        "lr_floor": "0", "label_smoothing": "0", "gradient_clip": "0",
    ]
    if method == "last" { row["heads"] = "1"; row["gap"] = "1"; row["modules_per_group"] = "1" }
    for (k, v) in values { row[k] = v }
    return row
}

final class ComparisonTests: XCTestCase {
    func files() throws -> (String, String) {
        let dir = temporaryDirectory(self)
        let a = try writeLeaderboard(
            [
                trial("t0", "last", seed: 0, acc: 0.81, params: 13258, ["lr": "0.01", "rank": "8"]),
                trial("t1", "last", seed: 1, acc: 0.79, params: 13258, ["lr": "0.01", "rank": "8"]),
                trial("t2", "last", seed: 2, acc: 0.84, params: 13258, ["lr": "0.01", "rank": "8"]),
                trial("t3", "last", seed: 0, acc: 0.76, params: 13258, ["lr": "0.001", "rank": "8"]),
                trial("t4", "linear", seed: 0, acc: 0.30, params: 970, ["lr": "0.1"]),
                trial(
                    "t5", "adapter", seed: 0, acc: 0.2, params: 5000, status: "pruned",
                    ["lr": "0.01", "bottleneck": "8"]),
            ], in: dir, name: "a", objectives: ["val_acc", "params"])
        // B: written without the gradient_clip and test_acc columns, swept on three objectives;
        // 1e-2 is the same learning rate as A's 0.01.
        let columns = Leaderboard.columns(SideTuningCatalogue.catalogue).filter {
            $0 != "gradient_clip" && $0 != "test_acc"
        }
        let b = try writeLeaderboard(
            [
                trial("u0", "last", seed: 0, acc: 0.84, params: 13258, ["lr": "1e-2", "rank": "8"]),
                trial("u1", "last", seed: 1, acc: 0.80, params: 13258, ["lr": "1e-2", "rank": "8"]),
                trial("u2", "last", seed: 2, acc: 0.86, params: 13258, ["lr": "1e-2", "rank": "8"]),
                trial("u3", "last", seed: 0, acc: 0.78, params: 13258, ["lr": "0.001", "rank": "8"]),
                trial("u4", "last", seed: 0, acc: 0.83, params: 7114, ["lr": "0.01", "rank": "4"]),
            ], in: dir, name: "b", columns: columns, objectives: ["val_acc", "params", "train_seconds"])
        return (a, b)
    }

    func testAlignmentStatisticsAndFronts() throws {
        let (a, b) = try files()
        let c = try Comparison(files: [
            try LeaderboardFile(path: a, catalogue: SideTuningCatalogue.catalogue),
            try LeaderboardFile(path: b, catalogue: SideTuningCatalogue.catalogue),
        ])
        XCTAssertEqual(c.objectives.map(\.name), ["val_acc", "params"], "the first file's objectives")
        XCTAssertTrue(c.notes.contains { $0.contains("was swept on val_acc, params, train_seconds") }, "\(c.notes)")
        XCTAssertTrue(
            c.notes.contains { $0.contains("has no column gradient_clip: taken as the default value") }, "\(c.notes)")
        XCTAssertEqual(
            c.configurations.count, 4,
            "last lr .01 r8 (both), last lr .001 r8 (both), linear (A), last r4 (B); pruned trials ignored")
        XCTAssertEqual(c.varying, ["lr", "rank"])
        let shared = try XCTUnwrap(c.configurations.first { c.value($0, "lr") == "0.01" && c.value($0, "rank") == "8" })
        XCTAssertEqual(c.cells[0][shared]?.bySeed.count, 3)
        XCTAssertEqual(c.cells[1][shared]?.bySeed.count, 3)

        // Aligned rows: deltas of B against A.
        let row = try XCTUnwrap(c.alignedRows.first { $0[0] == "last" && $0[1] == "0.01" && $0[2] == "8" })
        let header = c.alignedHeader
        XCTAssertEqual(Double(row[header.firstIndex(of: "delta_val_acc_2")!])!, 0.02, accuracy: 1e-9)
        XCTAssertEqual(row[header.firstIndex(of: "delta_params_2")!], "0")
        XCTAssertEqual(
            Double(row[header.firstIndex(of: "val_acc_std_1")!])!, Statistics.standardDeviation([0.81, 0.79, 0.84]),
            accuracy: 1e-5)

        // Seeds: scipy.stats.ttest_rel([.84, .80, .86], [.81, .79, .84]) = (3.4641016, p 0.0741799).
        let seedTest = try XCTUnwrap(c.seedTests.first { $0.configuration == shared }?.test)
        XCTAssertEqual(seedTest.t, 3.464101615137767, accuracy: 1e-6)
        XCTAssertEqual(seedTest.p, 0.07417990022744808, accuracy: 1e-6)
        XCTAssertNil(c.acrossConfigurations[0].test, "two shared configurations are too few")
        XCTAssertEqual(c.acrossConfigurations[0].shared, 2)

        // Best per file.
        // B's best configuration (0.01, 8: mean 0.8333 over u0, u1, u2) and its best single trial (u2, 0.86).
        let bestB = try XCTUnwrap(c.best.first { $0.file == 1 && $0.objective == 0 })
        XCTAssertEqual(bestB.trials, ["u0", "u1", "u2"])
        XCTAssertEqual(bestB.value, (0.84 + 0.80 + 0.86) / 3, accuracy: 1e-6)
        XCTAssertEqual(bestB.seeds, 3)
        XCTAssertEqual(bestB.bestTrial, "u2")
        XCTAssertEqual(bestB.bestTrialValue, 0.86, accuracy: 1e-6)
        XCTAssertEqual(c.best.first { $0.file == 0 && $0.objective == 1 }?.value, 970)

        // Fronts: A {last .01 r8, linear}, B {last .01 r8, last r4}. B's r8 covers A's; nothing covers linear.
        XCTAssertEqual(c.fronts[0].count, 2)
        XCTAssertEqual(c.fronts[1].count, 2)
        XCTAssertEqual(c.relations[0].coverageAB, 0)
        XCTAssertEqual(c.relations[0].coverageBA, 0.5)
        XCTAssertEqual(c.relations[0].verdict, "neither dominates")
        // Hypervolume of A against the common reference (accuracy 0, params 1.1 × 13258), by hand.
        let scale = 1.1 * 13258, meanA = (0.81 + 0.79 + 0.84) / 3
        let expected = 0.30 * (13258 / scale - 970 / scale) + meanA * (1 - 13258 / scale)
        XCTAssertEqual(c.hypervolumes[0], expected, accuracy: 1e-9)
    }

    func testNonHpsweepCSVIsRefused() throws {
        let dir = temporaryDirectory(self)
        let other = dir.appendingPathComponent("other.csv").path
        try "name,score\nx,1\n".write(toFile: other, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try LeaderboardFile(path: other, catalogue: SideTuningCatalogue.catalogue)) { error in
            XCTAssertTrue("\(error)".hasPrefix(other + ": not an hpsweep leaderboard (no column 'trial'"), "\(error)")
        }
        try "trial,method,status,seed,val_acc,params,pareto_rank\n\"t0,last\n".write(
            toFile: other, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try LeaderboardFile(path: other, catalogue: SideTuningCatalogue.catalogue)) {
            XCTAssertTrue("\($0)".contains("quoted field is not closed"), "\($0)")
        }
        try "trial,method,status,seed,val_acc,params,pareto_rank\nt0,last\n".write(
            toFile: other, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try LeaderboardFile(path: other, catalogue: SideTuningCatalogue.catalogue)) {
            XCTAssertTrue("\($0)".contains("line 2 has 2 fields, the header 7"), "\($0)")
        }
    }

    /// Rows whose objective is NaN (what a leaderboard writes for a trial that has none) are left out,
    /// and the reader is told how many; and files from different BLAS kernels are flagged.
    func testUnusableValuesAndDifferentKernelsAreNoted() throws {
        let dir = temporaryDirectory(self)
        var good = trial("t0", "last", seed: 0, acc: 0.81, params: 13258, ["lr": "0.01", "rank": "8"])
        good["blas"] = "OpenBLAS 0.3.21 Zen"
        var nan = trial("t1", "last", seed: 1, acc: 0.79, params: 13258, ["lr": "0.01", "rank": "8"]);
        nan["val_acc"] = "nan"
        var nanAgain = trial("t2", "last", seed: 2, acc: 0.79, params: 13258, ["lr": "0.01", "rank": "8"]);
        nanAgain["val_acc"] = "nan"
        let a = try writeLeaderboard([good, nan, nanAgain], in: dir, name: "a")
        var other = good; other["blas"] = "OpenBLAS 0.3.21 SkylakeX"
        let b = try writeLeaderboard([other], in: dir, name: "b")
        let c = try Comparison(files: [
            try LeaderboardFile(path: a, catalogue: SideTuningCatalogue.catalogue),
            try LeaderboardFile(path: b, catalogue: SideTuningCatalogue.catalogue),
        ])
        XCTAssertTrue(
            c.notes.contains { $0.hasPrefix("\(a): 2 finished rows have") && $0.contains("left out") }, "\(c.notes)")
        XCTAssertTrue(
            c.notes.contains { $0.contains("different BLAS kernels") && $0.contains("SkylakeX") && $0.contains("Zen") },
            "\(c.notes)")
        XCTAssertEqual(c.cells[0].values.first?.bySeed.count, 1, "only the finite row counts")
    }

    /// A hand-edited leaderboard follows the journal's rules: a trial's first row wins and repeats are
    /// counted in a note; a value no trial can have (an accuracy of 1e308, a negative count, a learning
    /// rate its catalogue refuses, a word where a count belongs) is refused, naming the file and line.
    func testRepeatedTrialsAreIgnoredAndImpossibleValuesRefused() throws {
        let dir = temporaryDirectory(self)
        let first = trial("t0", "last", seed: 0, acc: 0.81, params: 13258, ["lr": "0.01", "rank": "8"])
        let again = trial("t0", "last", seed: 1, acc: 0.99, params: 13258, ["lr": "0.01", "rank": "8"])
        let a = try writeLeaderboard([first, again, again], in: dir, name: "a")
        let file = try LeaderboardFile(path: a, catalogue: SideTuningCatalogue.catalogue)
        XCTAssertEqual(file.rows.map { $0.value("seed") }, ["0"], "the first row of a trial wins")
        XCTAssertEqual(file.repeatedTrials, 2)
        let c = try Comparison(files: [file])
        XCTAssertEqual(c.cells[0].values.first?.bySeed.count, 1, "a repeat is not a second seed")
        XCTAssertTrue(
            c.notes.contains {
                $0 == "\(a): 2 rows repeat an earlier row's trial id: ignored (a trial's first row wins)"
            },
            "\(c.notes)")

        let impossible: [(column: String, value: String, message: String)] = [
            ("val_acc", "1e308", "val_acc '1e308' is not an accuracy (0 to 1, or nan)"),
            ("val_acc", "inf", "val_acc 'inf' is not an accuracy (0 to 1, or nan)"),
            ("test_acc", "-0.5", "test_acc '-0.5' is not an accuracy (0 to 1, or nan)"),
            ("params", "-5", "params '-5' is not a count (an integer from 0 to 2^53)"),
            ("params", "2.5", "params '2.5' is not a count (an integer from 0 to 2^53)"),
            ("seed", "1e300", "seed '1e300' is not a count (an integer from 0 to 2^53)"),
            ("generation", "n/a", "generation 'n/a' is not a count (an integer from 0 to 2^53)"),
            ("train_seconds", "-1", "train_seconds '-1' is not a non-negative number (up to 1e30, or nan)"),
            ("flops", "1e300", "flops '1e300' is not a non-negative number (up to 1e30, or nan)"),
            ("lr", "-0.1", "lr must be > 0 and <= 10, got -0.1"),
            ("rank", "1e9", "rank must be at most 1048576, got 1000000000"),
            ("rank", "eight", "rank 'eight' is not a number"),
        ]
        for (column, value, message) in impossible {
            var row = first
            row[column] = value
            let path = try writeLeaderboard([first, row], in: dir, name: "bad")
            XCTAssertThrowsError(try LeaderboardFile(path: path, catalogue: SideTuningCatalogue.catalogue)) {
                XCTAssertEqual("\($0)", "\(path): line 3: \(message)")
            }
        }
        // What a leaderboard does write stays readable: NaN and infinite losses, empty cells.
        var diverged = trial("t1", "last", seed: 1, acc: 0, params: 13258, status: "diverged", ["lr": "0.01"])
        diverged["val_acc"] = "nan"; diverged["val_loss"] = "inf"; diverged["test_loss"] = "nan"
        diverged["rank"] = ""
        let path = try writeLeaderboard([first, diverged], in: dir, name: "good")
        XCTAssertEqual(try LeaderboardFile(path: path, catalogue: SideTuningCatalogue.catalogue).rows.count, 2)
    }
}

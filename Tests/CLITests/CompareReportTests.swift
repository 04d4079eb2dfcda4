import Datasets
import Foundation
import XCTest
import _TestSupport

/// `hpsweep compare` and `hpsweep report` as users run them.
final class CompareReportTests: XCTestCase {
    let cli = CLI()

    func leaderboard(_ dir: URL, _ name: String, header: String, rows: [String]) throws -> String {
        let path = dir.appendingPathComponent("\(name).csv").path
        try ([header] + rows).joined(separator: "\n").appending("\n").write(
            toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func testCompareTablesCSVAndJSON() throws {
        let dir = temporaryDirectory(self)
        let header = "trial,method,status,seed,lr,rank,val_acc,params,train_seconds,pareto_rank"
        let a = try leaderboard(
            dir, "a", header: header,
            rows: [
                "t0,last,finished,0,0.01,8,0.81,13258,1.0,1", "t1,last,finished,1,0.01,8,0.79,13258,1.0,1",
                "t2,last,finished,2,0.01,8,0.84,13258,1.0,1",
                "t3,last,finished,0,0.001,4,0.70,7114,1.0,1",
            ])
        let b = try leaderboard(
            dir, "b", header: header,
            rows: [
                "u0,last,finished,0,0.01,8,0.84,13258,1.0,1", "u1,last,finished,1,0.01,8,0.80,13258,1.0,1",
                "u2,last,finished,2,0.01,8,0.86,13258,1.0,1",
                "u3,last,finished,0,0.003,4,0.75,7114,1.0,1",
            ])
        let out = dir.appendingPathComponent("aligned.csv").path
        let result = try cli.run("compare", a, b, "--csv", out)
        XCTAssertEqual(result.status, 0, result.stderr)
        for text in [
            "hpsweep compare: 2 leaderboards, objectives val_acc (max), params (min)",
            "aligned configurations: 3 (1 in every file)",
            "best per file",
            "val_acc [2]: configuration mean over 3 seeds 0.8333 (last lr=0.01 rank=8; u0, u1, u2); best single trial 0.86 (u2)",
            "paired t-test over shared seeds",
            "mean difference +0.02, t = 3.46, df 2, p = 0.0742", "too few shared configurations",
            "Pareto fronts (val_acc vs params)",
            "[1] is dominated by [2]: C([1],[2]) = 0.00, C([2],[1]) = 1.00",
        ] {
            XCTAssertTrue(result.stdout.contains(text), "'\(text)' not in:\n\(result.stdout)")
        }
        let csv = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(csv.count, 4, "header and three configurations")
        XCTAssertTrue(csv[0].hasPrefix("method,lr,rank,n_1,val_acc_1,val_acc_std_1,params_1"), String(csv[0]))

        let json = try cli.run("compare", a, b, "--json", "--objectives", "val_acc")
        XCTAssertEqual(json.status, 0, json.stderr)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        XCTAssertEqual((object["objectives"] as? [[String: String]])?.map { $0["metric"]! }, ["val_acc"])
        let seedTests = try XCTUnwrap(object["seed_tests"] as? [[String: Any]])
        let test = try XCTUnwrap(seedTests.first?["result"] as? [String: Any])
        XCTAssertEqual(test["p"] as! Double, 0.07417990022744808, accuracy: 1e-6)
        XCTAssertEqual(test["test"] as? String, "paired t-test (two-sided)")

        let single = try leaderboard(
            dir, "c", header: header,
            rows: ["v0,last,finished,0,0.01,8,0.8,13258,1.0,1", "v1,last,finished,1,0.01,8,0.82,13258,1.0,1"])
        let twoSeeds = try cli.run("compare", a, single)
        XCTAssertTrue(twoSeeds.stdout.contains("not enough seeds for a test (2 shared, need 3)"), twoSeeds.stdout)
    }

    /// Sweeps that changed one hyperparameter on purpose align once it is ignored (and compare says so).
    func testIgnoringTheChangedHyperparameterAlignsTheRest() throws {
        let dir = temporaryDirectory(self)
        let header = "trial,method,status,seed,lr,label_smoothing,val_acc,params,pareto_rank"
        let a = try leaderboard(
            dir, "a", header: header,
            rows: ["t0,linear,finished,0,0.01,0,0.5,970,1", "t1,linear,finished,0,0.1,0,0.6,970,1"])
        let b = try leaderboard(
            dir, "b", header: header,
            rows: ["u0,linear,finished,0,0.01,0.1,0.55,970,1", "u1,linear,finished,0,0.1,0.1,0.58,970,1"])
        let plain = try cli.run("compare", a, b)
        XCTAssertTrue(plain.stdout.contains("aligned configurations: 4 (0 in every file)"), plain.stdout)
        XCTAssertTrue(plain.stdout.contains("to align the rest, add --ignore label_smoothing"), plain.stdout)
        let ignoring = try cli.run("compare", a, b, "--ignore", "label_smoothing")
        XCTAssertTrue(ignoring.stdout.contains("aligned configurations: 2 (2 in every file)"), ignoring.stdout)
        XCTAssertTrue(ignoring.stdout.contains("aligned without label_smoothing"), ignoring.stdout)
        cli.assertOneLineError(
            try cli.run("compare", a, b, "--ignore", "smoothing"), status: 2,
            containing: ["unknown hyperparameter 'smoothing'"])
    }

    func testCompareRefusesFilesThatAreNotLeaderboards() throws {
        let dir = temporaryDirectory(self)
        let a = try leaderboard(
            dir, "a", header: "trial,method,status,seed,val_acc,params,pareto_rank",
            rows: ["t0,last,finished,0,0.8,10,1"])
        let other = try leaderboard(dir, "scores", header: "name,score", rows: ["x,1"])
        cli.assertOneLineError(
            try cli.run("compare", a, other), status: 1, containing: [other, "not an hpsweep leaderboard"])
        cli.assertOneLineError(
            try cli.run("compare", a), status: 2, containing: ["needs at least two leaderboard files"])
        cli.assertOneLineError(
            try cli.run("compare", a, a, "--objectives", "acc"), status: 2, containing: ["unknown metric 'acc'"])
        cli.assertOneLineError(
            try cli.run("compare", a, dir.appendingPathComponent("missing.csv").path), status: 1,
            containing: ["missing.csv", "cannot read"])
    }

    /// The report of a real (small) sweep renders in headless Chromium to a PNG that is not blank.
    func testReportRendersInHeadlessChromium() throws {
        let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
        let dir = temporaryDirectory(self)
        let sweep = try writeSmallSweep(in: dir, epochs: 3)
        XCTAssertEqual(try cli.run("run", sweep, "--results", dir.path + "/results").status, 0)
        let report = try cli.run("report", dir.path + "/results/small")
        XCTAssertEqual(report.status, 0, report.stderr)
        let status = try cli.run("status", dir.path + "/results/small")
        XCTAssertTrue(status.stdout.contains("% busy so far ("), status.stdout)
        let html = try String(contentsOfFile: dir.path + "/results/small/report.html", encoding: .utf8)
        for part in [
            "<svg", "Finished trials: val_acc vs parameters", "<table>", "Sweep settings", "&quot;sampler&quot;",
            "Computed on ",
            "<h3>Schedule</h3>", "slots busy", "to 3 epochs",
        ] {
            XCTAssertTrue(html.contains(part), "report lacks \(part)")
        }
        // The curves' title counts the curves drawn.
        let finished =
            try String(contentsOfFile: dir.path + "/results/small/leaderboard.csv", encoding: .utf8).components(
                separatedBy: ",finished,"
            ).count - 1
        XCTAssertTrue(
            html.contains(
                finished == 1
                    ? "Learning curve of the one finished trial"
                    : "Learning curves of the \(min(finished, 5)) best finished trials by val_acc"),
            "\(finished) finished")
        // Fronts are attainment staircases: each segment of the black front line is horizontal or vertical.
        let fronts = html.components(separatedBy: "<polyline points=\"").dropFirst().filter {
            $0.contains("stroke=\"#000000\"")
        }
        XCTAssertFalse(fronts.isEmpty, "the front is drawn as a line")
        for front in fronts {
            let corners = front.prefix { $0 != "\"" }.split(separator: " ").map {
                $0.split(separator: ",").map { Double($0)! }
            }
            for (a, b) in zip(corners, corners.dropFirst()) {
                XCTAssertTrue(a[0] == b[0] || a[1] == b[1], "a diagonal segment \(a) → \(b) in a front")
            }
        }
        XCTAssertFalse(html.contains("<script"), "no scripts")
        XCTAssertFalse(html.range(of: "(src|href)=\"https?:", options: .regularExpression) != nil, "no external assets")

        guard let chromium else {
            throw XCTSkip(
                "chromium is not installed (scripts/setup installs it); the HTML was checked, not its rendering")
        }
        let png = dir.appendingPathComponent("report.png").path
        let rendering = try Subprocess(
            chromium,
            [
                "--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars", "--window-size=1200,1600",
                "--user-data-dir=\(dir.path)/chromium-profile", "--screenshot=\(png)",
                "file://\(dir.path)/results/small/report.html",
            ]
        ).wait(timeout: 120)
        XCTAssertEqual(rendering.status, 0, rendering.stderr)
        let image = try RGBImage.decode(contentsOf: png)
        XCTAssertEqual(image.width, 1200)
        var nonWhite = 0, blueish = 0
        for i in stride(from: 0, to: image.pixels.count, by: 3) {
            let (r, g, b) = (Int(image.pixels[i]), Int(image.pixels[i + 1]), Int(image.pixels[i + 2]))
            if r < 240 || g < 240 || b < 240 { nonWhite += 1 }
            // `last` points and curves
            if abs(r - 0x1f) < 40 && abs(g - 0x77) < 40 && abs(b - 0xb4) < 40 { blueish += 1 }
        }
        let total = image.width * image.height
        XCTAssertGreaterThan(Double(nonWhite) / Double(total), 0.02, "text, axes and points are drawn")
        XCTAssertGreaterThan(blueish, 50, "the charts' coloured points are drawn")
    }
}

import Foundation
import XCTest
import _TestSupport

/// The sweep's product: model files kept by the final phase (and, if asked, the search), and
/// `hpsweep predict` reproducing their recorded test accuracy from the cache.
final class ModelCommandTests: XCTestCase {
    let cli = CLI()

    func leaderboard(_ directory: String) throws -> [[String: String]] { try leaderboardRows(directory) }

    func testFinalModelsAreKeptAndPredictReproducesTheirTestAccuracy() throws {
        let dir = temporaryDirectory(self)
        let sweep = try writeSmallSweep(in: dir, epochs: 4, extra: ", \"keep_models\": \"finished\"")
        let results = dir.path + "/results"
        let run = try cli.run("run", sweep, "--results", results)
        XCTAssertEqual(run.status, 0, run.stderr)
        let sweepDir = results + "/small"
        let rows = try leaderboard(sweepDir)
        let finals = rows.filter { !($0["test_acc"] ?? "").isEmpty }
        XCTAssertFalse(finals.isEmpty, "the final phase ran")
        for row in rows {
            let file = row["model_file"] ?? ""
            switch (row["status"], row["test_acc"]?.isEmpty == false) {
            case (_, true): XCTAssertEqual(file, "models/\(row["trial"]!).safetensors", "a final model")
            case ("finished", false):
                XCTAssertEqual(file, "models/search/\(row["trial"]!).safetensors", "keep_models finished")
            default: XCTAssertEqual(file, "", "\(row["trial"]!) \(row["status"]!): no model")
            }
            if !file.isEmpty { XCTAssertTrue(FileManager.default.fileExists(atPath: sweepDir + "/" + file), file) }
        }
        // The final lines carry each model's confusion matrix; its diagonal is the test accuracy.
        for line in try String(contentsOfFile: sweepDir + "/journal.jsonl", encoding: .utf8).split(separator: "\n")
        where line.contains("\"event\":\"final\"") {
            let event = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let matrix = try XCTUnwrap(event["confusion"] as? [[Int]])
            let total = matrix.joined().reduce(0, +), diagonal = matrix.indices.map { matrix[$0][$0] }.reduce(0, +)
            XCTAssertEqual(matrix.count, 10)
            XCTAssertEqual(Float(diagonal) / Float(total), (event["test_acc"] as? NSNumber)?.floatValue)
        }
        let report = dir.path + "/report.html"
        let reported = try cli.run("report", sweepDir, "--output", report)
        XCTAssertEqual(reported.status, 0, reported.stderr)
        let html = try String(contentsOfFile: report, encoding: .utf8)
        XCTAssertTrue(
            html.contains("<h3>Final models</h3>") && html.contains("true \\ predicted"),
            "the report shows the final models' confusion")
        for row in finals {
            let model = sweepDir + "/" + row["model_file"]!, out = dir.path + "/\(row["trial"]!).csv"
            let predicted = try cli.run(
                "predict", model, "--cache", dir.path + "/cache/" + row["cache_key"]!, "--split", "test", "--out", out,
                "--top", "3")
            XCTAssertEqual(predicted.status, 0, predicted.stderr)
            let lines = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n")
            XCTAssertEqual(lines[0], "example,label,predicted,probability,top2,probability2,top3,probability3")
            let cells = lines.dropFirst().map { $0.split(separator: ",").map(String.init) }
            let correct = cells.filter { $0[1] == $0[2] }.count
            XCTAssertEqual(
                Float(correct) / Float(cells.count), Float(row["test_acc"]!)!,
                "\(row["trial"]!): the model file gives the final phase's test accuracy")
            XCTAssertTrue(cells.allSatisfy { Double($0[3])! >= Double($0[5])! }, "classes listed most probable first")
            XCTAssertTrue(
                predicted.stdout.contains("confusion (rows: true class, columns: predicted)"), predicted.stdout)
        }
    }

    func testPredictRunsImagesThroughTheRecordedBackbone() throws {
        let dir = temporaryDirectory(self)
        let sweep = try writeSmallSweep(in: dir, epochs: 3, extra: ", \"final_top\": 1")
        XCTAssertEqual(try cli.run("run", sweep, "--results", dir.path + "/results").status, 0)
        let finals = try leaderboard(dir.path + "/results/small").filter { $0["model_file"] != "" }
        XCTAssertFalse(finals.isEmpty)
        // The test images as a NumPy array with labels: the random backbone is rebuilt from each model's
        // metadata, and the streamed taps give the final phase's test accuracy, exactly.
        for row in finals {
            let out = dir.path + "/npy-\(row["trial"]!).csv"
            let npy = try cli.run(
                "predict", dir.path + "/results/small/" + row["model_file"]!, digitsDirectory + "/test_images.npy",
                "--labels", digitsDirectory + "/test_labels.npy", "--out", out)
            XCTAssertEqual(npy.status, 0, npy.stderr)
            let cells = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n").dropFirst().map {
                $0.split(separator: ",").map(String.init)
            }
            XCTAssertEqual(
                Float(cells.filter { $0[1] == $0[2] }.count) / Float(cells.count), Float(row["test_acc"]!)!,
                row["trial"]!)
        }
        let row = finals.first { $0["method"] != "linear" && $0["method"] != "adapter" } ?? finals[0]
        let model = dir.path + "/results/small/" + row["model_file"]!
        // Image files and a directory of them: one row each, named by path, no labels and no accuracy.
        let images = fixturePath("vtab/tiny-task/images/train800")
        let files = try cli.run(
            "predict", model, images, fixturePath("vtab/tiny-task/images/test/g.png"), "--out", dir.path + "/files.csv",
            "--top", "2")
        XCTAssertEqual(files.status, 0, files.stderr)
        XCTAssertFalse(files.stdout.contains("accuracy"), files.stdout)
        let lines = try String(contentsOfFile: dir.path + "/files.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 1 + 5, "four images in the directory and one file")
        XCTAssertTrue(lines[1].hasPrefix(images + "/a.jpg,,"), String(lines[1]))
        // A VTAB-1k list file: its images, named by path, and its labels (so an accuracy line).
        let listed = try cli.run(
            "predict", model, fixturePath("vtab/tiny-task/test.txt"), "--out", dir.path + "/list.csv")
        XCTAssertEqual(listed.status, 0, listed.stderr)
        XCTAssertTrue(listed.stdout.contains("accuracy"), listed.stdout)
        XCTAssertTrue(
            try String(contentsOfFile: dir.path + "/list.csv", encoding: .utf8).contains("images/test/g.png,"))
        // Another backbone (the same shape, other weights) is refused by its hash.
        cli.assertOneLineError(
            try cli.run(
                "predict", model, images, "--weights", fixturePath("vit_tiny_f32.safetensors"), "--out",
                dir.path + "/x.csv"),
            status: 1, containing: ["backbone differs", "--allow-other-backbone"])
        // A backbone of fewer blocks than the model's reads (the micro ViT has two) is another backbone,
        // and is named as such, not as a tap missing from some cache.
        cli.assertOneLineError(
            try cli.run(
                "predict", model, images, "--weights", fixturePath("vit_micro_hf.safetensors"), "--out",
                dir.path + "/x.csv"),
            status: 1,
            containing: [
                model, "the backbone of --weights", "differs from the one the model was trained on: it has 2 blocks",
            ])
        // A cache without a tap the model reads (z4 only) is refused when the model reads others.
        XCTAssertTrue(
            ["last", "lst"].contains(row["method"]),
            "a final model that reads more taps than z4: \(finals.map { $0["method"]! })")
        do {
            let text = try String(contentsOfFile: sweep, encoding: .utf8).replacingOccurrences(
                of: "\"cache\": {\"dir\": \"cache\"}", with: "\"cache\": {\"dir\": \"cache4\", \"taps\": [4]}")
            let sweep4 = dir.path + "/small4.json"
            try text.write(toFile: sweep4, atomically: true, encoding: .utf8)
            let built = try cli.run("cache", sweep4)
            XCTAssertEqual(built.status, 0, built.stderr)
            let cache4 =
                dir.path + "/cache4/"
                + (try FileManager.default.contentsOfDirectory(atPath: dir.path + "/cache4").first {
                    !$0.hasPrefix(".")
                })!
            cli.assertOneLineError(
                try cli.run("predict", model, "--cache", cache4, "--split", "test", "--out", dir.path + "/x.csv"),
                status: 1,
                containing: ["reads tap z0, which the cache does not hold"])
        }
        cli.assertOneLineError(
            try cli.run("predict", model, dir.path + "/nothing.png", "--out", dir.path + "/x.csv"), status: 1,
            containing: ["nothing.png"])
        cli.assertOneLineError(
            try cli.run("predict", model, digitsDirectory + "/test_images.npy"), status: 2, containing: ["--labels"])
    }

    func testKeepModelsNoneKeepsNothing() throws {
        let dir = temporaryDirectory(self)
        let sweep = try writeSmallSweep(in: dir, epochs: 3, extra: ", \"keep_models\": \"none\"")
        let run = try cli.run("run", sweep, "--results", dir.path + "/results")
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.path + "/results/small/models"))
        XCTAssertTrue(try leaderboard(dir.path + "/results/small").allSatisfy { $0["model_file"] == "" })
    }

    func testPredictRefusesWhatItCannotUse() throws {
        let dir = temporaryDirectory(self)
        let weights = fixturePath("vit_tiny_f32.safetensors")
        cli.assertOneLineError(
            try cli.run("predict", weights, "--cache", dir.path, "--split", "test"), status: 1,
            containing: [weights, "not an hpsweep model file"])
        cli.assertOneLineError(
            try cli.run("predict", weights, "--cache", dir.path), status: 2, containing: ["--split NAME"])
        cli.assertOneLineError(
            try cli.run("predict", dir.path + "/missing.safetensors", "--cache", dir.path, "--split", "test"),
            status: 1,
            containing: ["missing.safetensors"])
        let sweep = try writeSmallSweep(in: dir, epochs: 3, extra: ", \"final_top\": 1")
        XCTAssertEqual(try cli.run("run", sweep, "--results", dir.path + "/results").status, 0)
        let row = try XCTUnwrap(try leaderboard(dir.path + "/results/small").first { $0["model_file"] != "" })
        let model = dir.path + "/results/small/" + row["model_file"]!, cache = dir.path + "/cache/" + row["cache_key"]!
        cli.assertOneLineError(
            try cli.run("predict", model, "--cache", cache, "--split", "nope"), status: 1,
            containing: ["split 'nope' is not in the cache"])
        cli.assertOneLineError(
            try cli.run(
                "predict", model, "--cache", cache, "--split", "test", "--out",
                dir.path + "/results/small/leaderboard.csv"),
            status: 1, containing: ["refusing to write"])
    }
}

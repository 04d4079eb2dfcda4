import Foundation
import XCTest
import _TestSupport

/// Data in the user's own layouts: class folders (`<root>/<split>/<class>/<image>`), VTAB-1k list
/// files under any split names, and errors that name the field (or the default) a split name came from.
final class FolderDataTests: XCTestCase {
    let cli = CLI()
    let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// A copy of sweeps/folders-demo.json and its digit folders in `dir` (the folders writable).
    func folderSweep(in dir: URL) throws -> (sweep: String, data: String) {
        let sweeps = dir.appendingPathComponent("sweeps")
        try FileManager.default.createDirectory(
            at: sweeps.appendingPathComponent("data"), withIntermediateDirectories: true)
        // Its cache beside it, not in the directory the tests run in.
        try String(contentsOf: repository.appendingPathComponent("sweeps/folders-demo.json"), encoding: .utf8)
            .replacingOccurrences(of: "\"sampler\"", with: "\"cache\": {\"dir\": \"cache\"},\n  \"sampler\"")
            .write(to: sweeps.appendingPathComponent("folders-demo.json"), atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(
            atPath: repository.appendingPathComponent("sweeps/data/digit-folders").path,
            toPath: sweeps.appendingPathComponent("data/digit-folders").path)
        return (sweeps.appendingPathComponent("folders-demo.json").path, sweeps.path + "/data/digit-folders")
    }

    /// The folder demo runs from a sweep file of under 20 lines; the class names reach the model files,
    /// and `predict` on the test folder (labels from its class folders) and on the results directory
    /// (its best final model) gives the final phase's accuracy, by class name.
    func testAClassFolderSweepRunsAndPredictNamesTheClasses() throws {
        let dir = temporaryDirectory(self)
        let (sweep, data) = try folderSweep(in: dir)
        XCTAssertLessThan(try String(contentsOfFile: sweep, encoding: .utf8).split(separator: "\n").count, 20)
        let run = try cli.run("run", sweep, "--results", dir.path + "/results")
        XCTAssertEqual(run.status, 0, run.stderr)
        let rows = try leaderboardRows(dir.path + "/results/folders-demo")
        let final = try XCTUnwrap(rows.first { $0["test_acc"] != "" && $0["model_file"] != "" })
        let out = dir.path + "/predictions.csv", confusion = dir.path + "/confusion.csv"
        let predicted = try cli.run(
            "predict", dir.path + "/results/folders-demo", data + "/test", "--out", out, "--confusion", confusion)
        XCTAssertEqual(predicted.status, 0, predicted.stderr)
        XCTAssertTrue(
            predicted.stdout.contains("using \(final["model_file"]!), trial \(final["trial"]!)"), predicted.stdout)
        XCTAssertTrue(predicted.stdout.contains("per class (true class: accuracy, examples): one: "), predicted.stdout)
        let lines = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n")
        XCTAssertTrue(lines[0].hasSuffix(",label_name,predicted_name"), String(lines[0]))
        XCTAssertEqual(lines.count, 1 + 30)
        let cells = lines.dropFirst().map { $0.split(separator: ",").map(String.init) }
        // Classes in sorted order, as torchvision's ImageFolder numbers them: one, two, zero.
        for row in cells {
            let folder = URL(fileURLWithPath: row[0]).deletingLastPathComponent().lastPathComponent
            XCTAssertEqual(row[row.count - 2], folder)
            XCTAssertEqual(row[1], String(["one", "two", "zero"].firstIndex(of: folder)!))
        }
        let accuracy = Float(cells.filter { $0[1] == $0[2] }.count) / Float(cells.count)
        XCTAssertEqual(accuracy, Float(final["test_acc"]!)!, "the final phase's test accuracy, streamed")
        XCTAssertTrue(
            try String(contentsOfFile: confusion, encoding: .utf8).hasPrefix("true\\predicted,one,two,zero\n"))
        let caches = try FileManager.default.contentsOfDirectory(atPath: dir.path + "/sweeps/cache").filter {
            !$0.hasPrefix(".")
        }
        let header = try XCTUnwrap(
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: dir.path + "/sweeps/cache/\(caches[0])/header.json")))
                as? [String: Any])
        XCTAssertEqual(header["class_names"] as? [String], ["one", "two", "zero"])
        // The report's confusion matrix by name; one objective: no Pareto front drawn or counted.
        let html = dir.path + "/report.html"
        let report = try cli.run("report", dir.path + "/results/folders-demo", "--output", html)
        XCTAssertEqual(report.status, 0, report.stderr)
        let page = try String(contentsOfFile: html, encoding: .utf8)
        XCTAssertTrue(page.contains("<th>one</th><th>two</th><th>zero</th>"), "class names in the confusion matrix")
        XCTAssertTrue(page.contains("one objective: no Pareto front"))
        XCTAssertFalse(page.contains("Pareto front</"), "no front section or series")
    }

    /// What a class-folder dataset can get wrong is refused in one line naming the folder or file: a
    /// split folder missing (named with the default that named it), a class folder without images, a
    /// class present in one split and not another, an image that does not decode; `imagefolder` is
    /// the same format, and a misspelt format gets a suggestion.
    func testClassFolderMistakesAreNamed() throws {
        let dir = temporaryDirectory(self)
        let (sweep, data) = try folderSweep(in: dir)
        let text = try String(contentsOfFile: sweep, encoding: .utf8)
        func write(_ edited: String) throws { try edited.write(toFile: sweep, atomically: true, encoding: .utf8) }
        let fm = FileManager.default

        try write(text.replacingOccurrences(of: "\"folders\"", with: "\"imagefolder\""))
        let valid = try cli.run("validate", sweep)
        XCTAssertEqual(valid.status, 0, valid.stderr)
        XCTAssertTrue(
            valid.stdout.contains(
                "data: 3 classes (one, two, zero); search trains on train (90), scores on val (30); final retrains on train (90), scores on test (30)"
            ), valid.stdout)
        try write(text.replacingOccurrences(of: "\"folders\"", with: "\"folder\""))
        cli.assertOneLineError(
            try cli.run("validate", sweep), status: 1, containing: ["$.data.format", "did you mean 'folders'"])
        try write(text)

        try fm.moveItem(atPath: data + "/val", toPath: data + "/validation")
        cli.assertOneLineError(
            try cli.run("validate", sweep), status: 1,
            containing: ["$.data.root", "\(data)/val: no folder for split 'val' (named by data.search.eval's default)"])
        try fm.moveItem(atPath: data + "/validation", toPath: data + "/val")

        try fm.createDirectory(atPath: data + "/test/three", withIntermediateDirectories: false)
        cli.assertOneLineError(
            try cli.run("run", sweep, "--results", dir.path + "/results"), status: 1,
            containing: [
                "\(data)/test: has class folder 'three' that split 'train' lacks (every split needs the same classes)"
            ])
        try fm.removeItem(atPath: data + "/test/three")

        for file in try fm.contentsOfDirectory(atPath: data + "/val/two") {
            try fm.removeItem(atPath: data + "/val/two/" + file)
        }
        cli.assertOneLineError(
            try cli.run("run", sweep, "--results", dir.path + "/results"), status: 1,
            containing: ["\(data)/val/two: the class folder holds no JPEG or PNG image"])
        try Data("not a png".utf8).write(to: URL(fileURLWithPath: data + "/val/two/000.png"))
        cli.assertOneLineError(
            try cli.run("run", sweep, "--results", dir.path + "/results"), status: 1,
            containing: ["\(data)/val/two/000.png: cannot decode image"])
        XCTAssertFalse(fm.fileExists(atPath: dir.path + "/results/folders-demo/leaderboard.csv"))
    }

    /// The vtab format reads the list files of the splits the sweep names (train.txt, not a hard-coded
    /// train800.txt); a split left to its default is named with that default.
    func testVTABListFilesUnderAnySplitNames() throws {
        let dir = temporaryDirectory(self)
        let task = dir.appendingPathComponent("vtab/task")
        try FileManager.default.createDirectory(at: task, withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            atPath: fixturePath("vtab/tiny-task/images"), toPath: task.appendingPathComponent("images").path)
        for (mine, theirs) in [("train", "train800"), ("val", "val200"), ("test", "test")] {
            try FileManager.default.copyItem(
                atPath: fixturePath("vtab/tiny-task/\(theirs).txt"),
                toPath: task.appendingPathComponent("\(mine).txt").path)
        }
        let sweep = dir.appendingPathComponent("sweep.json").path
        func write(final: String) throws {
            try """
            {"name": "mine", "backbone": {"random": "vit-tiny-test", "seed": 0},
             "data": {"format": "vtab", "root": "vtab", "task": "task", "classes": 4,
                      "search": {"train": "train", "eval": "val"}\(final)},
             "cache": {"dir": "cache"}, "methods": {"linear": {"lr": 0.01}}, "trials": 1, "epochs": 1}
            """.write(toFile: sweep, atomically: true, encoding: .utf8)
        }
        try write(final: #", "final": {"train": "train", "eval": "test"}"#)
        let valid = try cli.run("validate", sweep)
        XCTAssertEqual(valid.status, 0, valid.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: task.appendingPathComponent("train800.txt").path))
        // Names for the list files' classes: <task>/classes.txt, into the cache header.
        try "cat\ndog\nfox\nowl\n".write(
            to: task.appendingPathComponent("classes.txt"), atomically: true, encoding: .utf8)
        let cached = try cli.run("cache", sweep)
        XCTAssertEqual(cached.status, 0, cached.stderr)
        let cacheRoot = dir.appendingPathComponent("cache").path
        let headers = try FileManager.default.contentsOfDirectory(atPath: cacheRoot).filter { !$0.hasPrefix(".") }
            .compactMap { try? Data(contentsOf: URL(fileURLWithPath: cacheRoot + "/" + $0 + "/header.json")) }
            .compactMap { try JSONSerialization.jsonObject(with: $0) as? [String: Any] }
        XCTAssertTrue(
            headers.contains { $0["class_names"] as? [String] == ["cat", "dog", "fox", "owl"] }, "\(headers)")
        try "cat\ndog\ncat\nowl\n".write(
            to: task.appendingPathComponent("classes.txt"), atomically: true, encoding: .utf8)
        cli.assertOneLineError(
            try cli.run("validate", sweep), status: 1,
            containing: ["$.data.class_names", "classes.txt names a class twice"])
        try "cat\ndog\n".write(to: task.appendingPathComponent("classes.txt"), atomically: true, encoding: .utf8)
        cli.assertOneLineError(
            try cli.run("validate", sweep), status: 1, containing: ["classes.txt has 2 names for 4 classes"])
        try FileManager.default.removeItem(at: task.appendingPathComponent("classes.txt"))
        try write(final: "")
        cli.assertOneLineError(
            try cli.run("validate", sweep), status: 1,
            containing: [
                "$.data.task",
                "has no list file train800val200.txt for split 'train800val200' (named by data.final.train's default)",
            ])
    }

    /// NumPy splits: a split left to its default is named with it.
    func testAMissingNumpySplitNamesTheDefaultThatNamedIt() throws {
        let dir = temporaryDirectory(self)
        let sweep = dir.appendingPathComponent("sweep.json").path
        try """
        {"name": "np", "backbone": {"random": "vit-tiny-test", "seed": 0},
         "data": {"format": "numpy", "classes": 10, "splits": {
            "train800": {"images": "\(digitsDirectory)/train800_images.npy", "labels": "\(digitsDirectory)/train800_labels.npy"},
            "val200": {"images": "\(digitsDirectory)/val200_images.npy", "labels": "\(digitsDirectory)/val200_labels.npy"},
            "test": {"images": "\(digitsDirectory)/test_images.npy", "labels": "\(digitsDirectory)/test_labels.npy"}}},
         "methods": {"linear": {"lr": 0.01}}, "trials": 1, "epochs": 1}
        """.write(toFile: sweep, atomically: true, encoding: .utf8)
        cli.assertOneLineError(
            try cli.run("validate", sweep), status: 1,
            containing: [
                "$.data.splits",
                "has no split 'train800val200' (named by data.final.train's default); it has test, train800, val200",
            ])
    }

    /// `run` takes its default memory budget from the cgroup limit (here a fake one) and says so.
    func testRunSaysWhichMemoryLimitItsBudgetComesFrom() throws {
        let dir = temporaryDirectory(self)
        let (sweep, _) = try folderSweep(in: dir)
        let root = dir.appendingPathComponent("fake-sys").path
        try FileManager.default.createDirectory(atPath: root + "/proc/self", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/sys/fs/cgroup", withIntermediateDirectories: true)
        try "0::/\n".write(toFile: root + "/proc/self/cgroup", atomically: true, encoding: .utf8)
        try "1073741824\n".write(toFile: root + "/sys/fs/cgroup/memory.max", atomically: true, encoding: .utf8)
        let run = try cli.run(
            ["run", sweep, "--results", dir.path + "/results"], environment: ["HPSWEEP_SYS_ROOT": root],
            unsetting: ["SLURM_MEM_PER_NODE", "SLURM_MEM_PER_CPU"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stdout.contains("memory budget 0.7 GiB"), run.stdout)
        XCTAssertTrue(
            run.stdout.contains("memory budget: 70% of the cgroup limit (\(root)/sys/fs/cgroup/memory.max), 1.0 GiB"),
            run.stdout)
    }
}

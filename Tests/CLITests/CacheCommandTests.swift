import Foundation
import XCTest
import _TestSupport

/// `hpsweep cache` as a user runs it: errors in sweep files, and a build killed with SIGKILL.
final class CacheCommandTests: XCTestCase {
    let cli = CLI()

    /// A sweep file over a numpy split of `count` random 8×8 images, in `dir`.
    func writeSweep(in dir: URL, count: Int, extra: String = "") throws -> String {
        var pixels = [UInt8](repeating: 0, count: count * 8 * 8 * 3)
        var state: UInt32 = 12345
        for i in 0..<pixels.count {
            state = state &* 1_664_525 &+ 1_013_904_223; pixels[i] = UInt8(truncatingIfNeeded: state >> 24)
        }
        let labels = (0..<count).map { Int64($0 % 2) }
        try npyFile(descr: "|u1", shape: [count, 8, 8, 3], data: Data(pixels)).write(
            to: dir.appendingPathComponent("x.npy"))
        try npyFile(descr: "<i8", shape: [count], data: labels.withUnsafeBytes { Data($0) }).write(
            to: dir.appendingPathComponent("y.npy"))
        let sweep = """
            {"name": "t", "backbone": {"random": "vit-tiny-test"},
             "data": {"format": "numpy", "classes": 2, "splits": {"train800": {"images": "x.npy", "labels": "y.npy"}},
                      "search": {"train": "train800", "eval": "train800"}, "final": {"train": "train800", "eval": "train800"}},
             "cache": {"dir": "cache", "batch_size": 1\(extra)}}
            """
        let path = dir.appendingPathComponent("sweep.json").path
        try sweep.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func testSweepFileErrorsNameTheJSONPath() throws {
        let dir = temporaryDirectory(self)
        let good = try writeSweep(in: dir, count: 4)
        let text = try String(contentsOfFile: good, encoding: .utf8)
        func check(_ edited: String, _ expected: String, namesSweep: Bool = true, line: UInt = #line) throws {
            let path = dir.appendingPathComponent("edited.json").path
            try edited.write(toFile: path, atomically: true, encoding: .utf8)
            cli.assertOneLineError(
                try cli.run("cache", path), status: 1, containing: (namesSweep ? [path] : []) + [expected], line: line)
        }
        try check(
            text.replacingOccurrences(of: "\"batch_size\"", with: "\"batch_sise\""),
            "$.cache.batch_sise: unknown field; did you mean 'batch_size'?")
        try check(
            text.replacingOccurrences(of: "\"classes\": 2", with: "\"classes\": \"two\""),
            "$.data.classes: must be an integer")
        try check(
            text.replacingOccurrences(of: "vit-tiny-test", with: "vit-huge"),
            "$.backbone.random: unknown ViT config 'vit-huge'")
        try check(text.replacingOccurrences(of: "{\"name\"", with: "{{\"name\""), "$: not valid JSON")
        try check(
            text.replacingOccurrences(of: "x.npy", with: "missing.npy"), dir.path + "/missing.npy: no such file",
            namesSweep: false)
        try check(
            text.replacingOccurrences(
                of: "\"eval\": \"train800\"}, \"final\"", with: "\"eval\": \"val200\"}, \"final\""),
            "$.data.splits: has no split 'val200'")
    }

    func testKilledBuildLeavesNoCacheAndRebuildSucceeds() throws {
        let dir = temporaryDirectory(self)
        let sweep = try writeSweep(in: dir, count: 15_000)
        let process = try cli.start(["cache", sweep])
        // Wait until the build is under way (its staging directory exists), then kill -9.
        let cacheRoot = dir.appendingPathComponent("cache").path
        let deadline = Date().addingTimeInterval(20)
        var staging: String?
        while Date() < deadline, staging == nil {
            staging = (try? FileManager.default.contentsOfDirectory(atPath: cacheRoot))?.first {
                $0.hasPrefix(".building-")
            }
            usleep(20_000)
        }
        XCTAssertNotNil(staging, "the build started")
        usleep(300_000)
        XCTAssertTrue(
            process.isRunning, "the build is still running when killed (make the dataset larger if this fails)")
        process.signal(SIGKILL)
        try process.wait()
        let entries = try FileManager.default.contentsOfDirectory(atPath: cacheRoot)
        XCTAssertEqual(entries.filter { !$0.hasPrefix(".") }, [], "no directory that looks like a finished cache")

        let rerun = try cli.run("cache", sweep, "--batch", "256")
        XCTAssertEqual(rerun.status, 0, rerun.stderr)
        XCTAssertTrue(rerun.stdout.contains("building"), rerun.stdout)
        let after = try FileManager.default.contentsOfDirectory(atPath: cacheRoot).filter { !$0.hasPrefix(".lock-") }
        XCTAssertEqual(after.count, 1, "the dead build's staging directory was removed: \(after)")
        let verify = try cli.run("cache", "verify", cacheRoot + "/" + after[0])
        XCTAssertEqual(verify.status, 0, verify.stderr)
        XCTAssertTrue(verify.stdout.contains("ok, key \(after[0])"), verify.stdout)
        let reuse = try cli.run("cache", sweep)
        XCTAssertTrue(reuse.stdout.contains("reusing"), reuse.stdout)
    }
}

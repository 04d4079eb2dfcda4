import Foundation
import XCTest
import _TestSupport

/// Errors that say what is really wrong: a directory where a file belongs, a key given twice, a tap
/// past the backbone's depth found by validate as run finds it, and a cache directory missing its
/// header rebuilt in place.
final class TruthfulErrorTests: XCTestCase {
    let cli = CLI()

    func testADirectoryWhereAFileBelongsIsNamedAsSuch() throws {
        let dir = temporaryDirectory(self)
        cli.assertOneLineError(
            try cli.run("validate", dir.path), status: 1,
            containing: ["\(dir.path): $: cannot read the file: is a directory, not a file"])
        let images = dir.appendingPathComponent("images.npy")
        try FileManager.default.createDirectory(at: images, withIntermediateDirectories: true)
        let sweep = dir.appendingPathComponent("s.json").path
        try
            #"{"name": "s", "backbone": {"random": "vit-tiny-test"}, "data": {"format": "numpy", "classes": 10, "splits": {"train800": {"images": "images.npy", "labels": "images.npy"}, "val200": {"images": "images.npy", "labels": "images.npy"}}, "search": {"train": "train800", "eval": "val200"}, "final": {"train": "train800", "eval": "val200"}}}"#
            .write(toFile: sweep, atomically: true, encoding: .utf8)
        cli.assertOneLineError(
            try cli.run("validate", sweep), status: 1, containing: ["images.npy: is a directory, not a file"])
    }

    func testAKeyGivenTwiceIsRefusedWithItsPath() throws {
        let dir = temporaryDirectory(self)
        let sweep = dir.appendingPathComponent("s.json").path
        try
            #"{"name": "s", "backbone": {"random": "vit-tiny-test"}, "methods": {"last": {"rank": 4, "heads": 2, "rank": 8}}}"#
            .write(toFile: sweep, atomically: true, encoding: .utf8)
        cli.assertOneLineError(
            try cli.run("validate", sweep), status: 1, containing: ["$.methods.last.rank: is given twice in one object"]
        )
        cli.assertOneLineError(
            try cli.run("run", sweep, "--results", dir.path + "/r"), status: 1,
            containing: ["$.methods.last.rank: is given twice"])
        // The same key in different objects is no duplicate.
        try
            #"{"name": "s", "backbone": {"random": "vit-tiny-test", "seed": 0}, "seed": 0, "data": {"format": "numpy", "classes": 10, "splits": {}}}"#
            .write(toFile: sweep, atomically: true, encoding: .utf8)
        XCTAssertFalse(try cli.run("validate", sweep).stderr.contains("given twice"))
    }

    func testValidateRefusesATapPastTheBackboneAsRunDoes() throws {
        let dir = temporaryDirectory(self)
        let sweep = try writeSmallSweep(in: dir)
        var text = try String(contentsOfFile: sweep, encoding: .utf8)
        text = text.replacingOccurrences(
            of: #""cache": {"dir": "cache"}"#, with: #""cache": {"dir": "cache", "taps": [0, 99]}"#)
        try text.write(toFile: sweep, atomically: true, encoding: .utf8)
        for arguments in [["validate", sweep], ["run", sweep, "--results", dir.path + "/r"]] {
            cli.assertOneLineError(
                try cli.run(arguments), status: 1,
                containing: ["$.cache.taps: block 99 is past the backbone's last (depth 4"])
        }
    }

    func testACacheDirectoryWithoutItsHeaderIsRebuilt() throws {
        let dir = temporaryDirectory(self)
        let sweep = try writeSmallSweep(in: dir)
        XCTAssertEqual(try cli.run("cache", sweep).status, 0)
        let cacheRoot = dir.appendingPathComponent("cache").path
        let key = try XCTUnwrap(
            try FileManager.default.contentsOfDirectory(atPath: cacheRoot).first { !$0.hasPrefix(".") })
        try FileManager.default.removeItem(atPath: "\(cacheRoot)/\(key)/header.json")
        let rebuilt = try cli.run("cache", sweep)
        XCTAssertEqual(rebuilt.status, 0, rebuilt.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(cacheRoot)/\(key)/header.json"))
        XCTAssertEqual(try cli.run("cache", "verify", "\(cacheRoot)/\(key)").status, 0)
    }
}

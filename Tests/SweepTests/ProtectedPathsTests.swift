import Foundation
import Sweep
import XCTest
import _TestSupport

/// Output options may write reports and exports anywhere except onto a sweep's own files or into a cache.
final class ProtectedPathsTests: XCTestCase {
    func testASweepsOwnFilesAndCachesAreRefused() throws {
        let root = temporaryDirectory(self)
        let sweep = root.appendingPathComponent("results/demo")
        try FileManager.default.createDirectory(
            at: sweep.appendingPathComponent("leases"), withIntermediateDirectories: true)
        try Data("{}\n".utf8).write(to: sweep.appendingPathComponent("journal.jsonl"))
        let cache = root.appendingPathComponent(".hpsweep-cache/2da48535")
        try FileManager.default.createDirectory(at: cache, withIntermediateDirectories: true)
        try Data("{\"magic\": \"hpsweep-activation-cache\", \"version\": 1}".utf8).write(
            to: cache.appendingPathComponent("header.json"))
        let link = root.appendingPathComponent("innocent.jsonl")
        try FileManager.default.createSymbolicLink(
            at: link, withDestinationURL: sweep.appendingPathComponent("journal.jsonl"))

        for refused in [
            "results/demo/journal.jsonl", "results/demo/journal-host-12.jsonl", "results/demo/leaderboard.csv",
            "results/demo/pareto.csv", "results/demo/summary.json", "results/demo/leases/t1.lease",
            "results/demo/checkpoints/t1.ckpt", "results/demo/models/t1.safetensors", "results/.demo.lock",
            ".hpsweep-cache/2da48535/train800.bin", ".hpsweep-cache/2da48535/header.json", "innocent.jsonl",
            "results/demo/../demo/journal.jsonl",
        ] {
            XCTAssertNotNil(ProtectedPaths.reason(forWriting: root.path + "/" + refused), refused)
        }
        for allowed in [
            "results/demo/report.html", "results/demo/optuna.log", "results/compare.csv", "elsewhere/journal.jsonl",
            ".hpsweep-cache/notes.txt",
        ] {
            XCTAssertNil(ProtectedPaths.reason(forWriting: root.path + "/" + allowed), allowed)
        }
        XCTAssertThrowsError(
            try ProtectedPaths.checkWritable(root.path + "/results/demo/journal.jsonl", option: "--csv")
        ) { error in
            XCTAssertTrue("\(error)".hasPrefix("--csv: refusing to write "), "\(error)")
            XCTAssertFalse("\(error)".contains("\n"))
        }
    }
}

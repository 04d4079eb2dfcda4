import Foundation
import XCTest
import _TestSupport

/// Ctrl-C or SIGTERM during a cache build stops it between batches with status 130 and one line saying
/// so, keeping nothing of the build, even when hpsweep was started with SIGINT ignored (as a shell
/// starts a background job).
final class CacheInterruptTests: XCTestCase {
    let cli = CLI()

    func testASignalDuringTheCacheBuildStopsItKeepingNothing() throws {
        for (command, signal) in [("cache", SIGINT), ("run", SIGINT), ("run", SIGTERM)] {
            let dir = temporaryDirectory(self)
            // ViT-S/16 at 224 px: a build of seconds, long enough to be interrupted part-way.
            let path = try writeSmallSweep(in: dir).replacingOccurrences(of: "small.json", with: "slow.json")
            let text = try String(contentsOfFile: dir.appendingPathComponent("small.json").path, encoding: .utf8)
                .replacingOccurrences(of: "\"vit-tiny-test\"", with: "\"vit-s16\"")
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            let cacheRoot = dir.appendingPathComponent("cache").path
            let previous = Glibc.signal(SIGINT, SIG_IGN)  // inherited through exec, as from `sh -c 'hpsweep … &'`
            let process = try cli.start(
                [command, path, "--cache-dir", cacheRoot] + (command == "run" ? ["--results", dir.path + "/r"] : []))
            Glibc.signal(SIGINT, previous)
            XCTAssertTrue(
                wait(for: process) {
                    ((try? FileManager.default.contentsOfDirectory(atPath: cacheRoot)) ?? []).contains {
                        $0.hasPrefix(".building-")
                    }
                }, "\(command): the build started")
            process.signal(signal)
            let result = try process.wait(timeout: 120)
            XCTAssertEqual(result.status, 130, "\(command) \(signal): \(result.stderr)")
            XCTAssertTrue(
                result.stderr.contains("the cache build was interrupted; nothing of it is kept"), result.stderr)
            let left = try FileManager.default.contentsOfDirectory(atPath: cacheRoot)
            XCTAssertTrue(left.allSatisfy { $0.hasPrefix(".lock-") }, "\(command): \(left)")
        }
    }
}

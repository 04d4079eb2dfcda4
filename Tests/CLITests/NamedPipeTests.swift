import Foundation
import XCTest
import _TestSupport

/// A named pipe given as any file a command reads (sweep file, arrays, images, weights, model files,
/// leaderboards, cache headers) is refused with one line naming it; no command waits on it.
final class NamedPipeTests: XCTestCase {
    let cli = CLI()

    func testEveryReaderRefusesANamedPipe() throws {
        let dir = temporaryDirectory(self)
        let fifo = dir.appendingPathComponent("pipe").path, png = dir.appendingPathComponent("image.png").path
        let cache = dir.appendingPathComponent("cache")
        try FileManager.default.createDirectory(at: cache, withIntermediateDirectories: true)
        for path in [fifo, png, cache.appendingPathComponent("header.json").path] {
            XCTAssertEqual(mkfifo(path, 0o644), 0)
        }
        let sweep = try writeSmallSweep(in: dir)
        let text = try String(contentsOfFile: sweep, encoding: .utf8)
            .replacingOccurrences(of: "\(digitsDirectory)/val200_images.npy", with: fifo)
        try text.write(toFile: sweep, atomically: true, encoding: .utf8)
        let model = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/models/linear.safetensors").path
        for arguments in [
            ["validate", fifo], ["validate", sweep], ["predict", fifo, png],
            ["inspect", "weights", fifo], ["compare", fifo, fifo], ["cache", "verify", cache.path],
            ["predict", model, "--cache", cache.path, "--split", "test"],
        ] {
            let result = try cli.run(arguments, timeout: 30)
            cli.assertOneLineError(result, status: 1, containing: ["named pipe (FIFO)"])
        }
    }
}

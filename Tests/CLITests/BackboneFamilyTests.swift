import Foundation
import XCTest
import _TestSupport

/// A sweep runs end to end on each ViT family's checkpoint (the timm fixtures of
/// scripts/make_family_fixtures.py): DINOv2 resized to another image size, DINOv2 with registers
/// (dropped from the cache), CLIP, DeiT III.
final class BackboneFamilyTests: XCTestCase {
    let cli = CLI()

    func sweep(_ family: String, backbone extra: String, cache: String, in dir: URL) throws -> String {
        let splits = ["train800", "val200", "train800val200", "test"].map {
            "\"\($0)\": {\"images\": \"\(digitsDirectory)/\($0)_images.npy\", \"labels\": \"\(digitsDirectory)/\($0)_labels.npy\"}"
        }.joined(separator: ", ")
        let text = """
            {"name": "\(family)", "seed": 1,
             "backbone": {"weights": "\(fixturePath("families/\(family).safetensors"))", "heads": 2\(extra)},
             "data": {"format": "numpy", "classes": 10, "splits": {\(splits)}},
             "cache": {"dir": "cache"\(cache)},
             "methods": ["linear", "last"], "space": {"lr": {"loguniform": [0.003, 0.03]}, "rank": 4, "heads": 2},
             "trials": 2, "epochs": 2, "objectives": ["val_acc", "params"]}
            """
        let path = dir.appendingPathComponent("\(family).json").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func testEachFamilySweepsEndToEnd() throws {
        let dir = temporaryDirectory(self)
        let cases: [(family: String, backbone: String, cache: String, tokens: Int)] = [
            ("dinov2", #", "image_size": 28"#, "", 1 + 16),  // resampled: 4×4 patches
            ("dinov2_reg4", "", #", "token_policy": "all_no_registers""#, 1 + 9),
            ("clip", "", "", 1 + 9),
            ("deit3", "", "", 1 + 9),
        ]
        for c in cases {
            let file = try sweep(c.family, backbone: c.backbone, cache: c.cache, in: dir)
            let run = try cli.run("run", file, "--results", dir.path + "/results", "--workers", "2")
            XCTAssertEqual(run.status, 0, "\(c.family): \(run.stderr)")
            let board = try String(contentsOfFile: dir.path + "/results/\(c.family)/leaderboard.csv", encoding: .utf8)
            XCTAssertEqual(
                board.split(separator: "\n").filter { $0.contains(",finished,") }.count, 2, "\(c.family): \(board)")
            let caches = try FileManager.default.contentsOfDirectory(atPath: dir.path + "/cache").filter {
                !$0.hasPrefix(".")
            }
            let tokens = try caches.compactMap { name -> Int? in
                let data = try Data(contentsOf: dir.appendingPathComponent("cache/\(name)/header.json"))
                return (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["tokens"] as? Int
            }
            XCTAssertTrue(
                tokens.contains(c.tokens), "\(c.family): a cache of \(c.tokens) tokens per image among \(tokens)")
        }
        // A size the patches do not divide is refused in one line naming the key.
        let bad = try sweep("dinov2", backbone: #", "image_size": 30"#, cache: "", in: dir)
        let refused = try cli.run("validate", bad)
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("image_size") && refused.stderr.contains("multiple"), refused.stderr)
    }
}

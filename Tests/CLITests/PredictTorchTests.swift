import Foundation
import XCTest
import _TestSupport

/// From images to probabilities, hpsweep against PyTorch: scripts/predict_torch.py (timm's ViT as the
/// backbone, the side network of scripts/sidenet_torch.py, docs/formats.md's preprocessing) computed
/// every class's probability for the digit folders' test images with a committed model file
/// (scripts/make_predict_torch_fixture.py); `hpsweep predict` must give the same within 1e-4.
final class PredictTorchTests: XCTestCase {
    let cli = CLI()

    func testPredictMatchesTheTorchPipelineFromImages() throws {
        let dir = temporaryDirectory(self)
        let fixture = fixturePath("predict-torch")
        let expected = try XCTUnwrap(
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: fixture + "/expected.json"))) as? [String: Any])
        let examples = try XCTUnwrap(expected["examples"] as? [String])
        let labels = try XCTUnwrap(expected["labels"] as? [Int])
        let probabilities = try XCTUnwrap(expected["probabilities"] as? [[Double]])
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let out = dir.path + "/predictions.csv"
        let predicted = try cli.run(
            "predict", fixture + "/model.safetensors", repository.path + "/sweeps/data/digit-folders/test",
            "--weights", fixturePath("vit_tiny_f32.safetensors"), "--out", out, "--top", "3")
        XCTAssertEqual(predicted.status, 0, predicted.stderr)
        let rows = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n").dropFirst().map {
            $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        }
        XCTAssertEqual(rows.count, examples.count)
        var worst = 0.0
        for (i, row) in rows.enumerated() {
            let relative = examples[i].split(separator: "/").suffix(2).joined(separator: "/")
            XCTAssertTrue(row[0].hasSuffix("/" + relative), "\(row[0]) vs \(examples[i])")
            XCTAssertEqual(Int(row[1]), labels[i], row[0])
            for k in 0..<3 {
                let c = try XCTUnwrap(Int(row[2 + 2 * k])), p = try XCTUnwrap(Double(row[3 + 2 * k]))
                worst = max(worst, abs(p - probabilities[i][c]))
            }
        }
        XCTAssertLessThan(worst, 1e-4, "largest difference of a probability from PyTorch's")
    }
}

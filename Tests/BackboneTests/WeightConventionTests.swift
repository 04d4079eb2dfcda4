import Backbone
import Numerics
import XCTest
import _TestSupport

/// One set of weights saved under timm, HuggingFace and Google .npz names: each loads to the same
/// model, says which convention it found, and reproduces the reference taps.
final class WeightConventionTests: XCTestCase {
    let micro = ViTConfig(imageSize: 16, patchSize: 8, width: 48, depth: 2, heads: 4)

    func check(
        _ file: String, heads: Int?, convention: WeightConvention, taps prefix: String, eps: Float,
        line: UInt = #line
    ) throws {
        let loaded = try LoadedViT(path: fixturePath(file), heads: heads)
        XCTAssertEqual(loaded.convention, convention, line: line)
        var expected = micro
        expected.layerNormEps = eps
        XCTAssertEqual(loaded.config, expected, line: line)
        let reference = try SafeTensorsFile(path: fixturePath("vit_micro_taps.safetensors"))
        let output = ViT(loaded).forward(
            images: try reference.tensor("images"), taps: [0, 1, 2], normalizedFinal: true)
        for i in 0...2 {
            assertClose(
                output.taps[i]!, try reference.tensor("\(prefix).z\(i)"), rtol: 1e-4, "\(file) z\(i)", line: line)
        }
        assertClose(
            output.normalizedFinal!, try reference.tensor("\(prefix).norm"), rtol: 1e-4, "\(file) norm", line: line)
    }

    func testTimmNames() throws {
        try check("vit_micro_timm.safetensors", heads: 4, convention: .timm, taps: "timm", eps: 1e-6)
    }

    func testHuggingFaceNamesWithPrefix() throws {
        try check("vit_micro_hf.safetensors", heads: 4, convention: .huggingface, taps: "hf", eps: 1e-12)
    }

    func testGoogleNPZStoredInfersHeads() throws {
        try check("vit_micro_google.npz", heads: nil, convention: .googleNPZ, taps: "timm", eps: 1e-6)
    }

    func testGoogleNPZDeflated() throws {
        try check("vit_micro_google_deflate.npz", heads: nil, convention: .googleNPZ, taps: "timm", eps: 1e-6)
    }

    func testUnknownWidthNeedsHeads() {
        XCTAssertThrowsError(try LoadedViT(path: fixturePath("vit_micro_timm.safetensors"))) { error in
            XCTAssertTrue("\(error)".contains("head count"), "\(error)")
            XCTAssertTrue("\(error)".contains("vit_micro_timm.safetensors"), "\(error)")
        }
    }

    func testGoogleHeadsConflict() {
        XCTAssertThrowsError(try LoadedViT(path: fixturePath("vit_micro_google.npz"), heads: 3)) { error in
            XCTAssertTrue("\(error)".contains("4 heads"), "\(error)")
        }
    }

    func testNonViTFileIsRejected() throws {
        let dir = temporaryDirectory(self)
        let path = dir.appendingPathComponent("other.safetensors").path
        try SafeTensorsWriter.write([("encoder.weight", Tensor(shape: [2, 2]))], to: path)
        XCTAssertThrowsError(try LoadedViT(path: path)) { error in
            guard case WeightsError.unknownConvention(let p, let keys) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(p, path)
            XCTAssertEqual(keys, ["encoder.weight"])
        }
    }
}

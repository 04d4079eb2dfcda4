import Backbone
import Numerics
import XCTest
import _TestSupport

/// The ViT families people side-tune (DINOv2 with and without registers, CLIP with GELU and
/// QuickGELU, DeiT III), read from timm and HuggingFace state dicts and run tap by tap against timm's (or transformers') own modules in
/// float64 (scripts/make_family_fixtures.py): every tap within 1e-5 relative on F32 weights.
final class ViTFamilyTests: XCTestCase {
    func check(
        _ family: String, taps tapsFile: String? = nil, imageSize: Int? = nil, activation: ViTConfig.Activation? = nil,
        convention: WeightConvention = .timm, expect: (ViTConfig) -> Void
    ) throws {
        let loaded = try LoadedViT(
            path: fixturePath("families/\(family).safetensors"), heads: 2, imageSize: imageSize, activation: activation)
        XCTAssertEqual(loaded.convention, convention)
        expect(loaded.config)
        let reference = try SafeTensorsFile(path: fixturePath("families/\(tapsFile ?? family)_taps.safetensors"))
        let output = ViT(loaded).forward(
            images: try reference.tensor("images"), taps: Array(0...loaded.config.depth), normalizedFinal: true,
            threads: 2)
        var worst: Float = 0
        for i in 0...loaded.config.depth {
            let expected = try reference.tensor("z\(i)")
            XCTAssertEqual(output.taps[i]!.shape, expected.shape, "\(family) z\(i)")
            guard output.taps[i]!.shape == expected.shape else { return }
            worst = max(worst, output.taps[i]!.relativeError(to: expected))
            assertClose(output.taps[i]!, expected, rtol: 1e-5, "\(family) tap z\(i)")
        }
        assertClose(output.normalizedFinal!, try reference.tensor("norm"), rtol: 1e-5, "\(family) final norm")
        print("\(family) vs its reference: worst relative error over z0…z\(loaded.config.depth) = \(worst)")
    }

    func testDINOv2HasLayerScaleAndAClassPosition() throws {
        try check("dinov2") { c in
            XCTAssertTrue(c.layerScale); XCTAssertTrue(c.embedsPrefix); XCTAssertEqual(c.registers, 0)
            XCTAssertEqual(c.imageSize, 21); XCTAssertEqual(c.tokens, 10)
        }
    }

    func testDINOv2WithRegistersCarriesThemAfterTheClassToken() throws {
        try check("dinov2_reg4") { c in
            XCTAssertEqual(c.registers, 4); XCTAssertFalse(c.embedsPrefix); XCTAssertEqual(c.tokens, 1 + 4 + 9)
        }
    }

    func testDINOv2AtAnotherImageSizeResamplesThePositionEmbeddingAsTimmDoes() throws {
        try check("dinov2", taps: "dinov2_resized", imageSize: 35) { c in
            XCTAssertEqual(c.imageSize, 35); XCTAssertEqual(c.gridSize, 5); XCTAssertEqual(c.tokens, 26)
        }
        XCTAssertThrowsError(try LoadedViT(path: fixturePath("families/dinov2.safetensors"), heads: 2, imageSize: 30)) {
            XCTAssertTrue("\($0)".contains("not a positive multiple"), "\($0)")
        }
    }

    func testCLIPHasAPreNormNoPatchBiasAndPyTorchsEps() throws {
        try check("clip") { c in
            XCTAssertTrue(c.preNorm); XCTAssertFalse(c.layerScale); XCTAssertEqual(c.layerNormEps, 1e-5);
            XCTAssertEqual(c.activation, .gelu)
        }
    }

    func testCLIPWithQuickGELU() throws {
        try check("clip_quickgelu", activation: .quickGELU) { c in XCTAssertEqual(c.activation, .quickGELU) }
        // The same weights with exact GELU are measurably another network.
        let loaded = try LoadedViT(path: fixturePath("families/clip_quickgelu.safetensors"), heads: 2)
        let reference = try SafeTensorsFile(path: fixturePath("families/clip_quickgelu_taps.safetensors"))
        let wrong = ViT(loaded).forward(images: try reference.tensor("images"), taps: [2])
        XCTAssertGreaterThan(wrong.taps[2]!.relativeError(to: try reference.tensor("z2")), 1e-3)
    }

    func testDeiT3HasNoClassPositionAndLayerScale() throws {
        try check("deit3") { c in
            XCTAssertFalse(c.embedsPrefix); XCTAssertTrue(c.layerScale); XCTAssertEqual(c.tokens, 10)
        }
    }

    func testHuggingFaceDINOv2UnderTransformers5AndTransformers4Names() throws {
        for file in ["hf_dinov2", "hf_dinov2_legacy"] {
            try check(file, taps: "hf_dinov2", convention: .huggingfaceDINOv2) { c in
                XCTAssertTrue(c.layerScale); XCTAssertEqual(c.layerNormEps, 1e-6); XCTAssertEqual(c.tokens, 10)
            }
        }
    }

    func testHuggingFaceDINOv2WithRegistersGivesThemNoPosition() throws {
        try check("hf_dinov2_reg4", convention: .huggingfaceDINOv2) { c in
            XCTAssertEqual(c.registers, 4); XCTAssertTrue(c.embedsPrefix); XCTAssertFalse(c.embedsRegisters)
            XCTAssertEqual(c.positionTokens, 10); XCTAssertEqual(c.tokens, 14)
        }
    }

    func testHuggingFaceCLIPVisionModel() throws {
        try check("hf_clip", activation: .quickGELU, convention: .huggingfaceCLIP) { c in
            XCTAssertTrue(c.preNorm); XCTAssertEqual(c.layerNormEps, 1e-5); XCTAssertEqual(c.tokens, 10)
        }
    }
}

/// Architectures outside the ViT family are refused in one line naming the tensor that shows them.
final class UnsupportedArchitectureTests: XCTestCase {
    func testEachIsNamedWithItsTensor() throws {
        let source = try SafeTensorsFile(path: fixturePath("families/dinov2.safetensors"))
        let tensors = try source.names.map { (name: $0, tensor: try source.tensor($0)) }
        let dir = temporaryDirectory(self)
        for (k, (extra, architecture)) in [
            ("rope.periods", "rotary position embeddings"),
            ("blocks.0.attn.relative_position_bias_table", "relative position bias"),
            ("blocks.0.mlp.fc1_g.weight", "SwiGLU"), ("blocks.0.attn.q_norm.weight", "query/key normalisation"),
        ].enumerated() {
            let path = dir.appendingPathComponent("variant\(k).safetensors").path
            try SafeTensorsWriter.write(tensors + [(name: extra, tensor: Tensor(shape: [4], repeating: 1))], to: path)
            XCTAssertThrowsError(try LoadedViT(path: path, heads: 2)) { error in
                let text = "\(error)"
                XCTAssertTrue(
                    text.contains(architecture) && text.contains(extra) && text.contains(path) && !text.contains("\n"),
                    text)
            }
        }
    }
}

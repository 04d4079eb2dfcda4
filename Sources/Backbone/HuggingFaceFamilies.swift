import Numerics

// HuggingFace's DINOv2 and CLIP image towers, mapped onto timm's parameters (the ViT they are).
extension ConventionMapper {
    /// The first of `candidates` (name stems) the file holds.
    private func first(_ candidates: [String]) throws -> String {
        guard let found = candidates.first(where: { archive.contains($0 + ".weight") }) else {
            throw WeightsError.missingTensor(path: archive.path, tensor: candidates[0] + ".weight")
        }
        return found
    }

    // MARK: - Dinov2Model, Dinov2WithRegistersModel

    mutating func huggingfaceDINOv2(heads: Int?) throws -> (ViTConfig, ViTParameters) {
        let p = prefix
        if archive.names.contains(where: {
            $0.hasPrefix(p + "encoder.layer.0.mlp.weights_in") || $0.hasPrefix(p + "encoder.layer.0.mlp.w12")
        }) {
            throw fail(
                "a SwiGLU MLP (tensor '\(p)encoder.layer.0.mlp.weights_in'): an architecture hpsweep cannot run (DINOv2-giant); use a ViT-S/B/L DINOv2"
            )
        }
        patchKey = p + "embeddings.patch_embeddings.projection.weight"
        let (patchShape, pos) = try embeddingShapes(patch: patchKey, position: p + "embeddings.position_embeddings")
        let d = patchShape[0]
        let depth = countBlocks { "\(p)encoder.layer.\($0).norm1.weight" }
        let hidden = try shape("\(p)encoder.layer.0.mlp.fc1.weight").first ?? 0
        var registers = 0
        if archive.contains(p + "embeddings.register_tokens") {
            registers = try shape(p + "embeddings.register_tokens")[1]
        }
        // HuggingFace gives the class token a position and inserts the registers after it, without one.
        guard let (grid, _) = Self.grid(positionTokens: pos[1], prefix: 1), grid * grid == pos[1] - 1 else {
            throw fail("position embedding has \(pos[1]) tokens; expected a class token plus a square grid of patches")
        }
        var config = try makeConfig(
            width: d, channels: patchShape[1], patch: patchShape[2], tokens: grid * grid + 1, depth: depth,
            hidden: hidden, heads: heads, eps: 1e-6)
        config.registers = registers
        config.embedsPrefix = true
        config.embedsRegisters = registers == 0
        config.layerScale = archive.contains(p + "encoder.layer.0.layer_scale1.lambda1")
        let h = config.hiddenWidth
        let blocks = try (0..<depth).map { i -> ViTParameters.Block in
            let b = "\(p)encoder.layer.\(i)."
            // Written by transformers 4 (attention.attention.query, attention.output.dense) or 5 (attention.q_proj, attention.o_proj).
            let legacy = archive.contains(b + "attention.attention.query.weight")
            let qkv = try stackedQKV(
                legacy
                    ? ["query", "key", "value"].map { b + "attention.attention." + $0 }
                    : ["q_proj", "k_proj", "v_proj"].map { b + "attention." + $0 }, width: d)
            let out = try first([b + "attention.output.dense", b + "attention.o_proj"])
            var block = try pytorchBlock(
                norm1: b + "norm1", qkv: qkv, proj: out, norm2: b + "norm2",
                fc1: b + "mlp.fc1", fc2: b + "mlp.fc2", width: d, hidden: h)
            if config.layerScale {
                block.ls1 = try vector(b + "layer_scale1.lambda1", d)
                block.ls2 = try vector(b + "layer_scale2.lambda1", d)
            }
            return block
        }
        var parameters = ViTParameters(
            patchWeight: try tensor(patchKey, stored: patchShape, as: [d, config.patchFeatures]),
            patchBias: try vector(p + "embeddings.patch_embeddings.projection.bias", d),
            classToken: try tensor(p + "embeddings.cls_token", stored: [1, 1, d], as: [d]),
            positionEmbedding: try tensor(
                p + "embeddings.position_embeddings", stored: pos, as: [config.positionTokens, d]),
            blocks: blocks,
            normWeight: try vector(p + "layernorm.weight", d), normBias: try vector(p + "layernorm.bias", d))
        if registers > 0 {
            parameters.registerTokens = try tensor(
                p + "embeddings.register_tokens", stored: [1, registers, d], as: [registers, d])
        }
        return (config, parameters)
    }

    // MARK: - CLIPVisionModel

    mutating func huggingfaceCLIP(heads: Int?) throws -> (ViTConfig, ViTParameters) {
        let p = prefix
        patchKey = p + "embeddings.patch_embedding.weight"
        let patchShape = try shape(patchKey)
        guard patchShape.count == 4, patchShape[2] == patchShape[3] else {
            throw WeightsError.shapeMismatch(
                path: archive.path, tensor: patchKey, expected: [-1, 3, -1, -1], found: patchShape)
        }
        let d = patchShape[0]
        let posKey = p + "embeddings.position_embedding.weight"
        let pos = try shape(posKey)
        guard pos.count == 2, pos[1] == d else {
            throw WeightsError.shapeMismatch(path: archive.path, tensor: posKey, expected: [-1, d], found: pos)
        }
        let depth = countBlocks { "\(p)encoder.layers.\($0).layer_norm1.weight" }
        let hidden = try shape("\(p)encoder.layers.0.mlp.fc1.weight").first ?? 0
        var config = try makeConfig(
            width: d, channels: patchShape[1], patch: patchShape[2], tokens: pos[0], depth: depth,
            hidden: hidden, heads: heads, eps: 1e-5)
        config.preNorm = true
        let h = config.hiddenWidth
        let blocks = try (0..<depth).map { i -> ViTParameters.Block in
            let b = "\(p)encoder.layers.\(i)."
            let qkv = try stackedQKV(["q_proj", "k_proj", "v_proj"].map { b + "self_attn." + $0 }, width: d)
            return try pytorchBlock(
                norm1: b + "layer_norm1", qkv: qkv, proj: b + "self_attn.out_proj", norm2: b + "layer_norm2",
                fc1: b + "mlp.fc1", fc2: b + "mlp.fc2", width: d, hidden: h)
        }
        var parameters = ViTParameters(
            patchWeight: try tensor(patchKey, stored: patchShape, as: [d, config.patchFeatures]),
            patchBias: Tensor(shape: [d]),
            classToken: try vector(p + "embeddings.class_embedding", d),
            positionEmbedding: try archive.tensor(posKey, shape: pos),
            blocks: blocks,
            normWeight: try vector(p + "post_layernorm.weight", d), normBias: try vector(p + "post_layernorm.bias", d))
        // (transformers spells it "pre_layrnorm".)
        parameters.preNormWeight = try vector(p + "pre_layrnorm.weight", d)
        parameters.preNormBias = try vector(p + "pre_layrnorm.bias", d)
        return (config, parameters)
    }
}

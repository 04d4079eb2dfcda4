import Essentials
import Numerics

/// The frozen backbone's weights in timm's layout, whatever file convention they came from.
/// Legend: D width, Hd hidden (MLP) width, F = channels·P·P, N tokens.
public struct ViTParameters {
    public struct Block {
        public var norm1Weight, norm1Bias: Tensor  // (D)
        public var qkvWeight: Tensor  // (3D, D): rows q | k | v
        public var qkvBias: Tensor  // (3D)
        public var projWeight: Tensor  // (D, D)
        public var projBias: Tensor  // (D)
        public var norm2Weight, norm2Bias: Tensor  // (D)
        public var fc1Weight: Tensor  // (Hd, D)
        public var fc1Bias: Tensor  // (Hd)
        public var fc2Weight: Tensor  // (D, Hd)
        public var fc2Bias: Tensor  // (D)
        /// Layer-scale gammas of the attention and MLP branches (D), when the config has them.
        public var ls1: Tensor? = nil, ls2: Tensor? = nil

        /// The same block with its layer scales folded into the branches' output rows (γ ⊙ (W x + b)
        /// = (diag γ W) x + γ ⊙ b): what a reader of the weights that knows no γ (LST's pruning) takes.
        public func foldingLayerScale() -> Block {
            func scaled(_ t: Tensor, by gamma: Tensor?) -> Tensor {
                guard let gamma else { return t }
                var out = t
                let columns = t.count / gamma.count
                for r in 0..<gamma.count { for c in 0..<columns { out.storage[r * columns + c] *= gamma.storage[r] } }
                return out
            }
            var folded = self
            folded.projWeight = scaled(projWeight, by: ls1); folded.projBias = scaled(projBias, by: ls1)
            folded.fc2Weight = scaled(fc2Weight, by: ls2); folded.fc2Bias = scaled(fc2Bias, by: ls2)
            folded.ls1 = nil; folded.ls2 = nil
            return folded
        }
    }

    public var patchWeight: Tensor  // (D, F): the conv kernel (D, C, P, P) flattened
    public var patchBias: Tensor  // (D)
    public var classToken: Tensor  // (D)
    public var positionEmbedding: Tensor  // (config.positionTokens, D)
    public var blocks: [Block]
    public var normWeight, normBias: Tensor  // (D)
    /// Register tokens (R, D), when the config has them.
    public var registerTokens: Tensor? = nil
    /// The LayerNorm before the blocks (D), when the config has it.
    public var preNormWeight: Tensor? = nil, preNormBias: Tensor? = nil

    /// Random weights with timm's initialisation (truncated normal, std 0.02; LayerNorm 1/0; biases 0;
    /// position embedding std 0.02; class token std 1e-6). For benchmarks and tests.
    public static func random(_ config: ViTConfig, seed: UInt64) -> ViTParameters {
        var rng = SeededRNG(seed: seed)
        let d = config.width, h = config.hiddenWidth
        func normal(_ shape: [Int], std: Float) -> Tensor {
            var t = Tensor(shape: shape)
            for i in 0..<t.count { t.storage[i] = rng.nextTruncatedNormal(std: std) }
            return t
        }
        func ones(_ n: Int) -> Tensor { Tensor(shape: [n], repeating: 1) }
        func zeros(_ n: Int) -> Tensor { Tensor(shape: [n]) }
        let blocks = (0..<config.depth).map { _ in
            var block = Block(
                norm1Weight: ones(d), norm1Bias: zeros(d),
                qkvWeight: normal([3 * d, d], std: 0.02), qkvBias: zeros(3 * d),
                projWeight: normal([d, d], std: 0.02), projBias: zeros(d),
                norm2Weight: ones(d), norm2Bias: zeros(d),
                fc1Weight: normal([h, d], std: 0.02), fc1Bias: zeros(h),
                fc2Weight: normal([d, h], std: 0.02), fc2Bias: zeros(d))
            if config.layerScale { block.ls1 = Tensor(shape: [d], repeating: 1e-5); block.ls2 = block.ls1 }
            return block
        }
        var parameters = ViTParameters(
            patchWeight: normal([d, config.patchFeatures], std: 0.02), patchBias: zeros(d),
            classToken: normal([d], std: 1e-6), positionEmbedding: normal([config.positionTokens, d], std: 0.02),
            blocks: blocks, normWeight: ones(d), normBias: zeros(d))
        if config.registers > 0 { parameters.registerTokens = normal([config.registers, d], std: 1e-6) }
        if config.preNorm { parameters.preNormWeight = ones(d); parameters.preNormBias = zeros(d) }
        return parameters
    }

    /// Checks every tensor against `config`; returns the first mismatch as (name, expected, found).
    public func shapeMismatch(for config: ViTConfig) -> (String, [Int], [Int])? {
        let d = config.width, h = config.hiddenWidth
        var expected: [(String, Tensor, [Int])] = [
            ("patch_embed.proj.weight", patchWeight, [d, config.patchFeatures]),
            ("patch_embed.proj.bias", patchBias, [d]),
            ("cls_token", classToken, [d]),
            ("pos_embed", positionEmbedding, [config.positionTokens, d]),
            ("norm.weight", normWeight, [d]), ("norm.bias", normBias, [d]),
        ]
        func optional(_ name: String, _ tensor: Tensor?, _ shape: [Int], wanted: Bool) -> (String, [Int], [Int])? {
            switch (tensor, wanted) {
            case (nil, false): return nil
            case (nil, true): return (name, shape, [])
            case (let t?, false): return (name, [], t.shape)
            case (let t?, true): return t.shape == shape ? nil : (name, shape, t.shape)
            }
        }
        if let m = optional("reg_token", registerTokens, [config.registers, d], wanted: config.registers > 0) {
            return m
        }
        if let m = optional("norm_pre.weight", preNormWeight, [d], wanted: config.preNorm) { return m }
        if let m = optional("norm_pre.bias", preNormBias, [d], wanted: config.preNorm) { return m }
        if blocks.count != config.depth { return ("blocks", [config.depth], [blocks.count]) }
        for (i, b) in blocks.enumerated() {
            let p = "blocks.\(i)."
            expected += [
                (p + "norm1.weight", b.norm1Weight, [d]), (p + "norm1.bias", b.norm1Bias, [d]),
                (p + "attn.qkv.weight", b.qkvWeight, [3 * d, d]), (p + "attn.qkv.bias", b.qkvBias, [3 * d]),
                (p + "attn.proj.weight", b.projWeight, [d, d]), (p + "attn.proj.bias", b.projBias, [d]),
                (p + "norm2.weight", b.norm2Weight, [d]), (p + "norm2.bias", b.norm2Bias, [d]),
                (p + "mlp.fc1.weight", b.fc1Weight, [h, d]), (p + "mlp.fc1.bias", b.fc1Bias, [h]),
                (p + "mlp.fc2.weight", b.fc2Weight, [d, h]), (p + "mlp.fc2.bias", b.fc2Bias, [d]),
            ]
        }
        for (i, b) in blocks.enumerated() {
            if let m = optional("blocks.\(i).ls1.gamma", b.ls1, [d], wanted: config.layerScale) { return m }
            if let m = optional("blocks.\(i).ls2.gamma", b.ls2, [d], wanted: config.layerScale) { return m }
        }
        for (name, tensor, shape) in expected where tensor.shape != shape { return (name, shape, tensor.shape) }
        return nil
    }
}

import Numerics

/// A pre-norm transformer block of width d for the ladder side network (LST), forward and backward
/// side by side — timm's Block at a smaller width:
///   h₂ = h + proj(attn(LN₁(h))),  out = h₂ + fc2(GELU(fc1(LN₂(h₂))))
/// Legend: B batch, N tokens, d width, H heads, F = 4d MLP width, M = B·N rows.
struct SideTransformerBlock {
    let width: Int, heads: Int, hidden: Int
    let norm1Weight, norm1Bias, qkvWeight, qkvBias, projWeight, projBias: Int
    let norm2Weight, norm2Bias, fc1Weight, fc1Bias, fc2Weight, fc2Bias: Int
    static let eps: Float = 1e-6

    init(prefix: String, width d: Int, heads: Int, layout: inout ParameterLayout) {
        precondition(d % heads == 0, "SideTransformerBlock: width \(d) not divisible by \(heads) heads")
        width = d; self.heads = heads; hidden = 4 * d
        norm1Weight = layout.add(prefix + ".norm1.weight", [d], decays: false)
        norm1Bias = layout.add(prefix + ".norm1.bias", [d], decays: false)
        qkvWeight = layout.add(prefix + ".attn.qkv.weight", [3 * d, d], decays: true)
        qkvBias = layout.add(prefix + ".attn.qkv.bias", [3 * d], decays: false)
        projWeight = layout.add(prefix + ".attn.proj.weight", [d, d], decays: true)
        projBias = layout.add(prefix + ".attn.proj.bias", [d], decays: false)
        norm2Weight = layout.add(prefix + ".norm2.weight", [d], decays: false)
        norm2Bias = layout.add(prefix + ".norm2.bias", [d], decays: false)
        fc1Weight = layout.add(prefix + ".mlp.fc1.weight", [4 * d, d], decays: true)
        fc1Bias = layout.add(prefix + ".mlp.fc1.bias", [4 * d], decays: false)
        fc2Weight = layout.add(prefix + ".mlp.fc2.weight", [d, 4 * d], decays: true)
        fc2Bias = layout.add(prefix + ".mlp.fc2.bias", [d], decays: false)
    }

    var parameterCount: Int { 4 * width + (3 * width * width + 3 * width) + (width * width + width) + 2 * (4 * width * width) + 4 * width + width }

    func flopsPerToken(tokens n: Int) -> Double {
        let d = Double(width)
        return 2 * d * 3 * d + 4 * Double(n) * d + 2 * d * d + 2 * 2 * d * 4 * d
    }

    /// timm's initialisation: LayerNorm 1/0, weights trunc N(0, 0.02), biases 0.
    func initialize(_ p: UnsafeMutablePointer<Float>, rng: inout SeededRNG) {
        let d = width
        for (offset, count) in [(norm1Weight, d), (norm2Weight, d)] { (p + offset).initialize(repeating: 1, count: count) }
        for (offset, count) in [(norm1Bias, d), (norm2Bias, d), (qkvBias, 3 * d), (projBias, d), (fc1Bias, 4 * d), (fc2Bias, d)] {
            (p + offset).initialize(repeating: 0, count: count)
        }
        for (offset, count) in [(qkvWeight, 3 * d * d), (projWeight, d * d), (fc1Weight, 4 * d * d), (fc2Weight, 4 * d * d)] {
            for i in 0..<count { p[offset + i] = rng.nextTruncatedNormal(std: 0.02) }
        }
    }

    struct Saved {
        var input: [Float] = [], mean1: [Float] = [], rstd1: [Float] = []
        var qkv: [Float] = [], probs: [Float] = [], attended: [Float] = []
        var mid: [Float] = [], mean2: [Float] = [], rstd2: [Float] = []
        var pre: [Float] = [], act: [Float] = []
    }

    /// h (M, d) → out (M, d) in place, saving what backward needs.
    func forward(_ p: UnsafePointer<Float>, _ h: inout [Float], batch B: Int, tokens N: Int, saved s: inout Saved) {
        let d = width, M = B * N, F = hidden
        s.input = h
        s.mean1 = [Float](repeating: 0, count: M); s.rstd1 = s.mean1; s.mean2 = s.mean1; s.rstd2 = s.mean1
        var normalized = [Float](repeating: 0, count: M * d)
        layerNormForward(out: &normalized, mean: &s.mean1, rstd: &s.rstd1, inp: h, weight: p + norm1Weight, bias: p + norm1Bias, rows: M, cols: d, eps: Self.eps)
        s.qkv = [Float](repeating: 0, count: M * 3 * d)
        linearForward(out: &s.qkv, inp: normalized, weight: p + qkvWeight, bias: p + qkvBias, rows: M, inFeatures: d, outFeatures: 3 * d)
        s.probs = [Float](repeating: 0, count: B * heads * N * N)
        s.attended = [Float](repeating: 0, count: M * d)
        attentionForward(out: &s.attended, probs: &s.probs, qkv: s.qkv, batch: B, tokens: N, heads: heads, headDim: d / heads,
                         scale: 1 / Float(d / heads).squareRoot())
        linearForward(out: &h, inp: s.attended, weight: p + projWeight, bias: p + projBias, rows: M, inFeatures: d, outFeatures: d, accumulate: true)
        s.mid = h
        layerNormForward(out: &normalized, mean: &s.mean2, rstd: &s.rstd2, inp: h, weight: p + norm2Weight, bias: p + norm2Bias, rows: M, cols: d, eps: Self.eps)
        s.pre = [Float](repeating: 0, count: M * F)
        linearForward(out: &s.pre, inp: normalized, weight: p + fc1Weight, bias: p + fc1Bias, rows: M, inFeatures: d, outFeatures: F)
        s.act = [Float](repeating: 0, count: M * F)
        geluForward(out: &s.act, inp: s.pre, count: M * F)
        linearForward(out: &h, inp: s.act, weight: p + fc2Weight, bias: p + fc2Bias, rows: M, inFeatures: F, outFeatures: d, accumulate: true)
    }

    /// dout (M, d) → dinp (M, d) in place, accumulating the block's parameter gradients.
    func backward(_ p: UnsafePointer<Float>, _ g: UnsafeMutablePointer<Float>, _ grad: inout [Float], batch B: Int, tokens N: Int, saved s: Saved) {
        let d = width, M = B * N, F = hidden
        var normalized = [Float](repeating: 0, count: M * d)
        // MLP branch: out = mid + fc2(gelu(fc1(LN₂(mid)))).
        var dact = [Float](repeating: 0, count: M * F)
        linearBackward(dinp: &dact, dweight: g + fc2Weight, dbias: g + fc2Bias, dout: grad, inp: s.act, weight: p + fc2Weight,
                       rows: M, inFeatures: F, outFeatures: d)
        var dpre = [Float](repeating: 0, count: M * F)
        geluBackward(dinp: &dpre, inp: s.pre, dout: dact, count: M * F)
        layerNormForward(out: &normalized, mean: nil, rstd: nil, inp: s.mid, weight: p + norm2Weight, bias: p + norm2Bias, rows: M, cols: d, eps: Self.eps)
        var dnormalized = [Float](repeating: 0, count: M * d)
        linearBackward(dinp: &dnormalized, dweight: g + fc1Weight, dbias: g + fc1Bias, dout: dpre, inp: normalized, weight: p + fc1Weight,
                       rows: M, inFeatures: d, outFeatures: F)
        layerNormBackward(dinp: &grad, dweight: g + norm2Weight, dbias: g + norm2Bias, dout: dnormalized, inp: s.mid,
                          weight: p + norm2Weight, mean: s.mean2, rstd: s.rstd2, rows: M, cols: d)
        // Attention branch: mid = input + proj(attn(LN₁(input))).
        var dattended = [Float](repeating: 0, count: M * d)
        linearBackward(dinp: &dattended, dweight: g + projWeight, dbias: g + projBias, dout: grad, inp: s.attended, weight: p + projWeight,
                       rows: M, inFeatures: d, outFeatures: d)
        var dqkv = [Float](repeating: 0, count: M * 3 * d), scratch = [Float](repeating: 0, count: N * N)
        attentionBackward(dqkv: &dqkv, scratch: &scratch, dout: dattended, qkv: s.qkv, probs: s.probs, batch: B, tokens: N,
                          heads: heads, headDim: d / heads, scale: 1 / Float(d / heads).squareRoot())
        layerNormForward(out: &normalized, mean: nil, rstd: nil, inp: s.input, weight: p + norm1Weight, bias: p + norm1Bias, rows: M, cols: d, eps: Self.eps)
        for k in 0..<dnormalized.count { dnormalized[k] = 0 }
        linearBackward(dinp: &dnormalized, dweight: g + qkvWeight, dbias: g + qkvBias, dout: dqkv, inp: normalized, weight: p + qkvWeight,
                       rows: M, inFeatures: d, outFeatures: 3 * d)
        layerNormBackward(dinp: &grad, dweight: g + norm1Weight, dbias: g + norm1Bias, dout: dnormalized, inp: s.input,
                          weight: p + norm1Weight, mean: s.mean1, rstd: s.rstd1, rows: M, cols: d)
    }

    /// Floats saved per forward (for working-memory estimates).
    func savedFloats(batch B: Int, tokens N: Int) -> Int {
        let M = B * N, d = width
        return M * d + 4 * M + M * 3 * d + B * heads * N * N + M * d + M * d + 2 * M * hidden
    }
}

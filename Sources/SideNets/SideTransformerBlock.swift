import Essentials
import Numerics

/// A pre-norm transformer block of width d for the ladder side network (LST), forward and backward
/// side by side — timm's Block at a smaller width:
///   h₂ = h + proj(attn(LN₁(h))),  out = h₂ + fc2(GELU(fc1(LN₂(h₂))))
/// Legend: B batch, N tokens, d width, H heads, F = 4d MLP width, M = B·N rows.
struct SideTransformerBlock {
    let width: Int, heads: Int, hidden: Int
    let norm1Weight, norm1Bias, qkvWeight, qkvBias, projWeight, projBias: Int
    let norm2Weight, norm2Bias, fc1Weight, fc1Bias, fc2Weight, fc2Bias: Int
    /// The network's Linear layers (its compute precision and bf16 buffers).
    let linear: LinearCompute
    static let eps: Float = 1e-6

    init(prefix: String, width d: Int, heads: Int, linear: LinearCompute, layout: inout ParameterLayout) {
        precondition(d % heads == 0, "SideTransformerBlock: width \(d) not divisible by \(heads) heads")
        width = d; self.heads = heads; hidden = 4 * d; self.linear = linear
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

    var parameterCount: Int {
        4 * width + (3 * width * width + 3 * width) + (width * width + width) + 2 * (4 * width * width) + 4 * width
            + width
    }

    func flopsPerToken(tokens n: Int) -> Double {
        let d = Double(width)
        return 2 * d * 3 * d + 4 * Double(n) * d + 2 * d * d + 2 * 2 * d * 4 * d
    }

    /// LayerNorms 1/0; the Linears by `rule` (q|k|v as three matrices).
    func initialize(_ p: UnsafeMutablePointer<Float>, rule: InitRule, rng: inout SeededRNG) {
        let d = width
        for (offset, count) in [(norm1Weight, d), (norm2Weight, d)] {
            (p + offset).initialize(repeating: 1, count: count)
        }
        for offset in [norm1Bias, norm2Bias] { (p + offset).initialize(repeating: 0, count: d) }
        rule.fill(p, weight: qkvWeight, bias: qkvBias, outFeatures: 3 * d, inFeatures: d, parts: 3, rng: &rng)
        rule.fill(p, weight: projWeight, bias: projBias, outFeatures: d, inFeatures: d, rng: &rng)
        rule.fill(p, weight: fc1Weight, bias: fc1Bias, outFeatures: 4 * d, inFeatures: d, rng: &rng)
        rule.fill(p, weight: fc2Weight, bias: fc2Bias, outFeatures: d, inFeatures: 4 * d, rng: &rng)
    }

    /// What backward needs from forward, kept from step to step (same batch shape: same storage).
    /// The attention probabilities are not kept: backward recomputes them from each query's
    /// log-sum-exp (AttentionRecomputed.swift; B·H·N² floats a block would otherwise hold: 60 MB at
    /// d = 96, H = 12, 32 examples).
    /// Shapes, with M = B·N rows, d the width and H heads: input and mid (M, d), the LayerNorm
    /// statistics (M), qkv (M, 3d), attended (M, d), logSumExp (B, H, N), pre and act (M, F).
    struct Saved {
        var input: [Float] = [], mean1: [Float] = [], rstd1: [Float] = []
        var qkv: [Float] = [], attended: [Float] = [], logSumExp: [Float] = []
        var mid: [Float] = [], mean2: [Float] = [], rstd2: [Float] = []
        var pre: [Float] = [], act: [Float] = []
    }

    /// Working buffers of forward and backward, shared by the blocks of a network (they run one after another).
    /// normalized and dnormalized (M, d), dact (M, F), dattended (M, d), dqkv (M, 3d).
    struct Scratch {
        var normalized: [Float] = [], dnormalized: [Float] = [], dact: [Float] = []
        var dattended: [Float] = [], dqkv: [Float] = []
    }

    /// h (M, d) → out (M, d) in place, saving what backward needs.
    func forward(
        _ p: UnsafePointer<Float>, _ h: inout [Float], batch B: Int, tokens N: Int, saved s: inout Saved,
        scratch t: inout Scratch
    ) {
        let d = width, M = B * N, F = hidden
        s.input.assign(h)
        for k in [\Saved.mean1, \Saved.rstd1, \Saved.mean2, \Saved.rstd2] {
            s[keyPath: k].reuse(count: M, zeroed: false)
        }
        t.normalized.reuse(count: M * d, zeroed: false)
        layerNormForward(
            out: &t.normalized, mean: &s.mean1, rstd: &s.rstd1, inp: h, weight: p + norm1Weight, bias: p + norm1Bias,
            rows: M, cols: d, eps: Self.eps)
        s.qkv.reuse(count: M * 3 * d, zeroed: false)
        linear.forward(
            out: &s.qkv, inp: t.normalized, weight: p + qkvWeight, bias: p + qkvBias, rows: M, inFeatures: d,
            outFeatures: 3 * d)
        s.logSumExp.reuse(count: B * heads * N, zeroed: false)
        s.attended.reuse(count: M * d, zeroed: false)
        attentionForward(
            out: &s.attended, logSumExp: &s.logSumExp, qkv: s.qkv, batch: B, tokens: N, heads: heads,
            headDim: d / heads,
            scale: 1 / Float(d / heads).squareRoot())
        linear.forward(
            out: &h, inp: s.attended, weight: p + projWeight, bias: p + projBias, rows: M, inFeatures: d,
            outFeatures: d, accumulate: true)
        s.mid.assign(h)
        layerNormForward(
            out: &t.normalized, mean: &s.mean2, rstd: &s.rstd2, inp: h, weight: p + norm2Weight, bias: p + norm2Bias,
            rows: M, cols: d, eps: Self.eps)
        s.pre.reuse(count: M * F, zeroed: false)
        linear.forward(
            out: &s.pre, inp: t.normalized, weight: p + fc1Weight, bias: p + fc1Bias, rows: M, inFeatures: d,
            outFeatures: F)
        s.act.reuse(count: M * F, zeroed: false)
        geluForward(out: &s.act, inp: s.pre, count: M * F)
        linear.forward(
            out: &h, inp: s.act, weight: p + fc2Weight, bias: p + fc2Bias, rows: M, inFeatures: F, outFeatures: d,
            accumulate: true)
    }

    /// dout (M, d) → dinp (M, d) in place, accumulating the block's parameter gradients.
    func backward(
        _ p: UnsafePointer<Float>, _ g: UnsafeMutablePointer<Float>, _ grad: inout [Float], batch B: Int, tokens N: Int,
        saved s: Saved, scratch t: inout Scratch
    ) {
        let d = width, M = B * N, F = hidden
        t.normalized.reuse(count: M * d, zeroed: false)
        // MLP branch: out = mid + fc2(gelu(fc1(LN₂(mid)))). Scratch gradients are overwritten whole, never zeroed.
        t.dact.reuse(count: M * F, zeroed: false)
        linear.backward(
            dinp: &t.dact, dweight: g + fc2Weight, dbias: g + fc2Bias, dout: grad, inp: s.act, weight: p + fc2Weight,
            rows: M, inFeatures: F, outFeatures: d, overwriteInputGradient: true)
        geluBackwardInPlace(grad: &t.dact, inp: s.pre, count: M * F)
        layerNormForward(
            out: &t.normalized, mean: nil, rstd: nil, inp: s.mid, weight: p + norm2Weight, bias: p + norm2Bias, rows: M,
            cols: d, eps: Self.eps)
        t.dnormalized.reuse(count: M * d, zeroed: false)
        linear.backward(
            dinp: &t.dnormalized, dweight: g + fc1Weight, dbias: g + fc1Bias, dout: t.dact, inp: t.normalized,
            weight: p + fc1Weight,
            rows: M, inFeatures: d, outFeatures: F, overwriteInputGradient: true)
        layerNormBackward(
            dinp: &grad, dweight: g + norm2Weight, dbias: g + norm2Bias, dout: t.dnormalized, inp: s.mid,
            weight: p + norm2Weight, mean: s.mean2, rstd: s.rstd2, rows: M, cols: d)
        // Attention branch: mid = input + proj(attn(LN₁(input))).
        t.dattended.reuse(count: M * d, zeroed: false)
        linear.backward(
            dinp: &t.dattended, dweight: g + projWeight, dbias: g + projBias, dout: grad, inp: s.attended,
            weight: p + projWeight,
            rows: M, inFeatures: d, outFeatures: d, overwriteInputGradient: true)
        t.dqkv.reuse(count: M * 3 * d, zeroed: false)
        attentionBackward(
            dqkv: &t.dqkv, dout: t.dattended, out: s.attended, qkv: s.qkv, logSumExp: s.logSumExp, batch: B, tokens: N,
            heads: heads, headDim: d / heads, scale: 1 / Float(d / heads).squareRoot())
        layerNormForward(
            out: &t.normalized, mean: nil, rstd: nil, inp: s.input, weight: p + norm1Weight, bias: p + norm1Bias,
            rows: M, cols: d, eps: Self.eps)
        linear.backward(
            dinp: &t.dnormalized, dweight: g + qkvWeight, dbias: g + qkvBias, dout: t.dqkv, inp: t.normalized,
            weight: p + qkvWeight,
            rows: M, inFeatures: d, outFeatures: 3 * d, overwriteInputGradient: true)
        layerNormBackward(
            dinp: &grad, dweight: g + norm1Weight, dbias: g + norm1Bias, dout: t.dnormalized, inp: s.input,
            weight: p + norm1Weight, mean: s.mean1, rstd: s.rstd1, rows: M, cols: d)
    }

    /// Floats saved per forward (for working-memory estimates).
    func savedFloats(batch B: Int, tokens N: Int) -> Int {
        let M = B * N, d = width
        return M * d + 4 * M + M * 3 * d + M * d + B * heads * N + M * d + 2 * M * hidden
    }

    /// Floats of `Scratch` (shared by all blocks).
    func scratchFloats(batch B: Int, tokens N: Int) -> Int {
        let M = B * N, d = width
        return 2 * M * d + M * hidden + M * d + M * 3 * d + 2 * attentionQueryBlock(tokens: N) * N
    }
}

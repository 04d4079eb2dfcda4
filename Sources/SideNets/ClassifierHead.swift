import Essentials
import Numerics

/// The head every side network ends with: logits = W · LN(h[cls]) + b, on the class token only.
/// With `affine` the LayerNorm has its own scale γ and shift β (`norm_affine`). A following Linear
/// could absorb them (W·(γ⊙x̂ + β) + b = (W·diag γ)·x̂ + (W·β + b)), so they add nothing a network can
/// express, but they change how it trains: γ is a per-feature learning rate for W, free of weight
/// decay (docs/side-networks.md measures the difference).
/// Legend: B batch, D input width, C classes.
struct ClassifierHead {
    let width: Int
    let classes: Int
    let weight: Int  // offset of W (C, D)
    let bias: Int  // offset of b (C)
    /// Offsets of γ and β (D each), when the LayerNorm is affine.
    let normWeight: Int?, normBias: Int?
    let rule: InitRule
    /// The network's Linear layers (its compute precision and bf16 buffers).
    let linear: LinearCompute
    static let eps: Float = 1e-6

    init(
        width: Int, classes: Int, affine: Bool, rule: InitRule, linear: LinearCompute, layout: inout ParameterLayout,
        prefix: String = "head"
    ) {
        self.width = width; self.classes = classes; self.rule = rule; self.linear = linear
        normWeight = affine ? layout.add(prefix + ".norm.weight", [width], decays: false) : nil
        normBias = affine ? layout.add(prefix + ".norm.bias", [width], decays: false) : nil
        weight = layout.add(prefix + ".weight", [classes, width], decays: true)
        bias = layout.add(prefix + ".bias", [classes], decays: false)
    }

    var parameterCount: Int { classes * width + classes + (normWeight == nil ? 0 : 2 * width) }
    var flopsPerExample: Double { 2 * Double(classes * width) }

    func initialize(_ p: UnsafeMutablePointer<Float>, rng: inout SeededRNG) {
        if let normWeight, let normBias {
            (p + normWeight).initialize(repeating: 1, count: width);
            (p + normBias).initialize(repeating: 0, count: width)
        }
        rule.fill(p, weight: weight, bias: bias, outFeatures: classes, inFeatures: width, rng: &rng)
    }

    /// Saved activations: the normalised class tokens and their statistics.
    struct Saved {
        var input: [Float] = []  // (B, D) the class-token rows fed in
        var normalized: [Float] = []  // (B, D)
        var mean: [Float] = [], rstd: [Float] = []  // (B) each
    }

    /// logits (B, C) from `cls` (B, D).
    func forward(_ p: UnsafePointer<Float>, cls: [Float], batch B: Int, saved: inout Saved) -> [Float] {
        saved.input = cls
        saved.normalized = [Float](repeating: 0, count: B * width)
        saved.mean = [Float](repeating: 0, count: B)
        saved.rstd = [Float](repeating: 0, count: B)
        layerNormForward(
            out: &saved.normalized, mean: &saved.mean, rstd: &saved.rstd, inp: cls, weight: normWeight.map { p + $0 },
            bias: normBias.map { p + $0 }, rows: B, cols: width, eps: Self.eps)
        var logits = [Float](repeating: 0, count: B * classes)
        linear.forward(
            out: &logits, inp: saved.normalized, weight: p + weight, bias: p + bias, rows: B, inFeatures: width,
            outFeatures: classes)
        return logits
    }

    /// d(cls) (B, D) from dlogits, accumulating dW and db.
    func backward(
        _ p: UnsafePointer<Float>, _ g: UnsafeMutablePointer<Float>, dlogits: [Float], batch B: Int, saved: Saved
    ) -> [Float] {
        var dnormalized = [Float](repeating: 0, count: B * width)
        linear.backward(
            dinp: &dnormalized, dweight: g + weight, dbias: g + bias, dout: dlogits, inp: saved.normalized,
            weight: p + weight, rows: B, inFeatures: width, outFeatures: classes)
        var dcls = [Float](repeating: 0, count: B * width)
        layerNormBackward(
            dinp: &dcls, dweight: normWeight.map { g + $0 }, dbias: normBias.map { g + $0 }, dout: dnormalized,
            inp: saved.input,
            weight: normWeight.map { p + $0 }, mean: saved.mean, rstd: saved.rstd, rows: B, cols: width)
        return dcls
    }
}

/// Gathers the class-token rows (B, D) of a (B, N, D) buffer.
func classTokens(_ x: UnsafePointer<Float>, batch B: Int, tokens N: Int, width D: Int) -> [Float] {
    var out = [Float](repeating: 0, count: B * D)
    out.withUnsafeMutableBufferPointer { gatherClassTokens(x, batch: B, tokens: N, width: D, into: $0.baseAddress!) }
    return out
}

/// Writes the class-token rows (B, D) of a (B, N, D) buffer at `out`.
public func gatherClassTokens(
    _ x: UnsafePointer<Float>, batch B: Int, tokens N: Int, width D: Int, into out: UnsafeMutablePointer<Float>
) {
    for b in 0..<B { (out + b * D).update(from: x + b * N * D, count: D) }
}

import Essentials
import Numerics

/// The head every side network ends with: logits = W · LN(h[cls]) + b, on the class token only.
/// The LayerNorm has no affine parameters: a following Linear absorbs any per-feature scale and
/// shift (W·(γ⊙x̂ + β) + b = (W·diag γ)·x̂ + (W·β + b)), so they would add nothing but parameters.
/// Legend: B batch, D input width, C classes.
struct ClassifierHead {
    let width: Int
    let classes: Int
    let weight: Int      // offset of W (C, D)
    let bias: Int        // offset of b (C)
    static let eps: Float = 1e-6

    init(width: Int, classes: Int, layout: inout ParameterLayout, prefix: String = "head") {
        self.width = width; self.classes = classes
        weight = layout.add(prefix + ".weight", [classes, width], decays: true)
        bias = layout.add(prefix + ".bias", [classes], decays: false)
    }

    var parameterCount: Int { classes * width + classes }
    var flopsPerExample: Double { 2 * Double(classes * width) }

    func initialize(_ p: UnsafeMutablePointer<Float>, rng: inout SeededRNG) {
        for i in 0..<(classes * width) { p[weight + i] = rng.nextTruncatedNormal(std: 0.02) }
        (p + bias).initialize(repeating: 0, count: classes)
    }

    /// Saved activations: the normalised class tokens and their statistics.
    struct Saved {
        var input: [Float] = []       // (B, D) the class-token rows fed in
        var normalized: [Float] = []  // (B, D)
        var mean: [Float] = [], rstd: [Float] = []
    }

    /// logits (B, C) from `cls` (B, D).
    func forward(_ p: UnsafePointer<Float>, cls: [Float], batch B: Int, saved: inout Saved) -> [Float] {
        saved.input = cls
        saved.normalized = [Float](repeating: 0, count: B * width)
        saved.mean = [Float](repeating: 0, count: B)
        saved.rstd = [Float](repeating: 0, count: B)
        layerNormForward(out: &saved.normalized, mean: &saved.mean, rstd: &saved.rstd, inp: cls, weight: nil, bias: nil, rows: B, cols: width, eps: Self.eps)
        var logits = [Float](repeating: 0, count: B * classes)
        linearForward(out: &logits, inp: saved.normalized, weight: p + weight, bias: p + bias, rows: B, inFeatures: width, outFeatures: classes)
        return logits
    }

    /// d(cls) (B, D) from dlogits, accumulating dW and db.
    func backward(_ p: UnsafePointer<Float>, _ g: UnsafeMutablePointer<Float>, dlogits: [Float], batch B: Int, saved: Saved) -> [Float] {
        var dnormalized = [Float](repeating: 0, count: B * width)
        linearBackward(dinp: &dnormalized, dweight: g + weight, dbias: g + bias, dout: dlogits, inp: saved.normalized,
                       weight: p + weight, rows: B, inFeatures: width, outFeatures: classes)
        var dcls = [Float](repeating: 0, count: B * width)
        layerNormBackward(dinp: &dcls, dweight: nil, dbias: nil, dout: dnormalized, inp: saved.input, weight: nil, mean: saved.mean, rstd: saved.rstd, rows: B, cols: width)
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
public func gatherClassTokens(_ x: UnsafePointer<Float>, batch B: Int, tokens N: Int, width D: Int, into out: UnsafeMutablePointer<Float>) {
    for b in 0..<B { (out + b * D).update(from: x + b * N * D, count: D) }
}

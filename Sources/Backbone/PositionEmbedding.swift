import Numerics

/// A checkpoint's position embedding for another image size, as timm's `resample_abs_pos_embed`
/// makes it: the class/register rows kept apart and unchanged, the patch grid resized from `old` to
/// `new` patches per side with PyTorch's `interpolate(mode="bicubic", antialias=True,
/// align_corners=False)` (Keys' cubic with a = −0.5, widened by the scale when shrinking; PIL's rule).
/// `pos` is (prefix + old², D); the result (prefix + new², D).
public func resamplePositionEmbedding(_ pos: Tensor, prefix: Int, from old: Int, to new: Int) -> Tensor {
    let D = pos.shape[1]
    precondition(
        pos.shape[0] == prefix + old * old,
        "resamplePositionEmbedding: \(pos.shape[0]) rows for prefix \(prefix) + \(old)²")
    let weights = bicubicWeights(from: old, to: new)
    var out = Tensor(shape: [prefix + new * new, D])
    for r in 0..<(prefix * D) { out.storage[r] = pos.storage[r] }
    // Rows first (old × new, per channel), then columns: separable, as PyTorch does it, in float64.
    var rows = [Double](repeating: 0, count: old * new * D)
    for y in 0..<old {
        for (x, taps) in weights.enumerated() {
            for (j, w) in taps {
                let source = (prefix + y * old + j) * D, target = (y * new + x) * D
                for d in 0..<D { rows[target + d] += w * Double(pos.storage[source + d]) }
            }
        }
    }
    for (y, taps) in weights.enumerated() {
        for x in 0..<new {
            let target = (prefix + y * new + x) * D
            var sum = [Double](repeating: 0, count: D)
            for (j, w) in taps {
                let source = (j * new + x) * D
                for d in 0..<D { sum[d] += w * rows[source + d] }
            }
            for d in 0..<D { out.storage[target + d] = Float(sum[d]) }
        }
    }
    return out
}

/// For each of `new` outputs, its (input index, weight) taps over `old` inputs (weights sum to 1).
func bicubicWeights(from old: Int, to new: Int) -> [[(Int, Double)]] {
    func cubic(_ x: Double) -> Double {
        let a = -0.5, t = abs(x)
        if t < 1 { return ((a + 2) * t - (a + 3)) * t * t + 1 }
        if t < 2 { return (((t - 5) * t + 8) * t - 4) * a }
        return 0
    }
    let scale = Double(old) / Double(new)
    let stretch = max(scale, 1)
    let support = 2 * stretch
    return (0..<new).map { i in
        let center = scale * (Double(i) + 0.5)
        let lo = max(Int(center - support + 0.5), 0), hi = min(Int(center + support + 0.5), old)
        var taps = (lo..<hi).map { j in (j, cubic((Double(j) - center + 0.5) / stretch)) }
        let total = taps.reduce(0) { $0 + $1.1 }
        if total != 0 { taps = taps.map { ($0.0, $0.1 / total) } }
        return taps
    }
}

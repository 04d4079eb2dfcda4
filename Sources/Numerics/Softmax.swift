// Row-wise softmax, forward and backward side by side.
// Legend: M rows, C columns.
//   p_rc = exp(x_rc − max_r) / Σ_c exp(x_rc − max_r)
//   dx_rc = p_rc · (dp_rc − Σ_c dp_rc p_rc)

/// out (M, C) = softmax(scale · inp (M, C)) along rows. `out` may alias `inp`.
@inlinable
public func softmaxForward(
    out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
    rows M: Int, cols C: Int, scale: Float = 1
) {
    precondition(scale > 0, "softmaxForward: scale must be positive, got \(scale)")
    for r in 0..<M {
        let x = inp + r * C, y = out + r * C
        let shift = vectorMax(x, count: C) * scale
        let inv = 1 / exponentiateShifted(x, into: y, count: C, scale: scale, shift: shift)
        for c in 0..<C { y[c] *= inv }
    }
}

/// dinp (M, C) += scale · p ⊙ (dout − rowsum(dout ⊙ p)), from the forward's output p.
/// `dinp` must not alias `dout` (use `softmaxBackwardInPlace` for that).
@inlinable
public func softmaxBackward(
    dinp: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
    probs: UnsafePointer<Float>, rows M: Int, cols C: Int, scale: Float = 1
) {
    for r in 0..<M {
        let p = probs + r * C, dp = dout + r * C, dx = dinp + r * C
        let dot = vectorDot(dp, p, count: C)
        for c in 0..<C { dx[c] += scale * p[c] * (dp[c] - dot) }
    }
}

/// grad (M, C) ← scale · p ⊙ (grad − rowsum(grad ⊙ p)): turns d(probs) into d(logits) in place.
@inlinable
public func softmaxBackwardInPlace(
    grad: UnsafeMutablePointer<Float>, probs: UnsafePointer<Float>,
    rows M: Int, cols C: Int, scale: Float = 1
) {
    for r in 0..<M {
        let p = probs + r * C, g = grad + r * C
        let dot = vectorDot(g, p, count: C)
        for c in 0..<C { g[c] = scale * p[c] * (g[c] - dot) }
    }
}

// LayerNorm over the last dimension (Ba, Kiros, Hinton 2016), forward and backward side by side,
// after llm.c's `layernorm_forward` / `layernorm_backward`.
// Legend: M rows (batch × tokens), C features.
//   mean_r = Σ_c x_rc / C,  rstd_r = 1 / sqrt(Σ_c (x_rc − mean_r)² / C + eps)
//   out_rc = (x_rc − mean_r) · rstd_r · weight_c + bias_c
// timm's ViT uses eps = 1e-6, HuggingFace's ViT 1e-12.

/// out (M, C) = LN(inp (M, C)); saves mean (M) and rstd (M) for backward when given.
/// Without weight and bias it is the plain normalisation (no affine parameters). `out` may alias `inp`.
@inlinable
public func layerNormForward(
    out: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>?, rstd: UnsafeMutablePointer<Float>?,
    inp: UnsafePointer<Float>, weight: UnsafePointer<Float>?, bias: UnsafePointer<Float>?,
    rows M: Int, cols C: Int, eps: Float
) {
    let invC = 1 / Float(C)
    for r in 0..<M {
        let x = inp + r * C
        let m = vectorSum(x, count: C) * invC
        let s = 1 / (vectorSumOfSquaredDeviations(x, count: C, mean: m) * invC + eps).squareRoot()
        let y = out + r * C
        if let weight, let bias {
            for c in 0..<C { y[c] = (x[c] - m) * s * weight[c] + bias[c] }
        } else {
            for c in 0..<C { y[c] = (x[c] - m) * s }
        }
        mean?[r] = m
        rstd?[r] = s
    }
}

/// x (M, C) += add (M, C), then out = LN(x) without affine parameters, saving rstd: each row is
/// added and normalised while it is in L1, instead of one pass over both arrays and then another.
@inlinable
public func addThenLayerNormForward(
    out: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>,
    residual x: UnsafeMutablePointer<Float>, add: UnsafePointer<Float>, rows M: Int, cols C: Int, eps: Float
) {
    let invC = 1 / Float(C)
    for r in 0..<M {
        let row = x + r * C, z = add + r * C, y = out + r * C
        for c in 0..<C { row[c] += z[c] }
        let m = vectorSum(row, count: C) * invC
        let s = 1 / (vectorSumOfSquaredDeviations(row, count: C, mean: m) * invC + eps).squareRoot()
        for c in 0..<C { y[c] = (row[c] - m) * s }
        rstd[r] = s
    }
}

/// Accumulates dinp (M, C), dweight (C), dbias (C) from dout (M, C), given the forward's input and
/// its saved mean/rstd. A nil weight means the LayerNorm had no affine parameters.
@inlinable
public func layerNormBackward(
    dinp: UnsafeMutablePointer<Float>, dweight: UnsafeMutablePointer<Float>?, dbias: UnsafeMutablePointer<Float>?,
    dout: UnsafePointer<Float>, inp: UnsafePointer<Float>, weight: UnsafePointer<Float>?,
    mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
    rows M: Int, cols C: Int
) {
    let invC = 1 / Float(C)
    for r in 0..<M {
        let x = inp + r * C, dy = dout + r * C, dx = dinp + r * C
        let m = mean[r], s = rstd[r]
        // Two reductions: mean of dnorm and mean of dnorm · norm, where dnorm = weight · dy;
        // Σ dnorm·norm = s·(Σ dnorm·x − m·Σ dnorm), so both are plain vector sums and dots.
        var dnormMean: Float, dnormNormMean: Float
        if let weight {
            var sumDnorm: Float = 0, sumDnormX: Float = 0
            for c in 0..<C { let dnorm = weight[c] * dy[c]; sumDnorm += dnorm; sumDnormX += dnorm * x[c] }
            dnormMean = sumDnorm
            dnormNormMean = s * (sumDnormX - m * sumDnorm)
        } else {
            let sumDnorm = vectorSum(dy, count: C)
            dnormMean = sumDnorm
            dnormNormMean = s * (vectorDot(dy, x, count: C) - m * sumDnorm)
        }
        dnormMean *= invC
        dnormNormMean *= invC
        for c in 0..<C {
            let norm = (x[c] - m) * s
            dbias?[c] += dy[c]
            dweight?[c] += norm * dy[c]
            dx[c] += ((weight?[c] ?? 1) * dy[c] - dnormMean - norm * dnormNormMean) * s
        }
    }
}

/// Accumulates dinp (M, C) from dout (M, C) for a LayerNorm without affine parameters, given its
/// output x̂ (M, C) and rstd (M) instead of its input:
///   dx = rstd · (dŷ − mean(dŷ) − x̂ · mean(dŷ ⊙ x̂))
/// Keeping x̂ rather than the input lets a caller reuse it (as the next Linear's input) and skip
/// recomputing the normalisation in backward.
@inlinable
public func layerNormBackwardFromOutput(
    dinp: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, normalized: UnsafePointer<Float>,
    rstd: UnsafePointer<Float>, rows M: Int, cols C: Int
) {
    let invC = 1 / Float(C)
    for r in 0..<M {
        let dy = dout + r * C, xhat = normalized + r * C, dx = dinp + r * C
        let mean = vectorSum(dy, count: C) * invC
        let meanDotXhat = vectorDot(dy, xhat, count: C) * invC
        let s = rstd[r]
        for c in 0..<C { dx[c] += (dy[c] - mean - xhat[c] * meanDotXhat) * s }
    }
}

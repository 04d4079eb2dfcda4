// Linear layer y = x Wᵀ + b, W of shape (O, I) as in PyTorch/timm, forward and backward side by side.
// Legend: M rows (batch × tokens), I input features, O output features.

/// out (M, O) = inp (M, I) · weight (O, I)ᵀ + bias (O).
/// With `accumulate`, the product is added to what `out` holds (a residual add for free).
@inlinable
public func linearForward(
    out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
    weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
    rows M: Int, inFeatures I: Int, outFeatures O: Int, accumulate: Bool = false
) {
    if let bias { broadcastBias(out: out, bias: bias, rows: M, outFeatures: O, accumulate: accumulate) }
    BLAS.sgemm(
        transB: true, m: M, n: O, k: I, a: inp, lda: I, b: weight, ldb: I,
        beta: (bias != nil || accumulate) ? 1 : 0, c: out, ldc: O)
}

/// out (M, O) = bias in every row, or += bias with `accumulate`: a Linear layer's output before its
/// GEMM adds the product (beta 1), whichever GEMM computes it.
@inlinable
public func broadcastBias(
    out: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>, rows M: Int, outFeatures O: Int, accumulate: Bool
) {
    if accumulate {
        for r in 0..<M { let y = out + r * O; for o in 0..<O { y[o] += bias[o] } }
    } else {
        for r in 0..<M { (out + r * O).update(from: bias, count: O) }
    }
}

/// Accumulates dinp (M, I) += dout · W, dweight (O, I) += doutᵀ · inp, dbias (O) += Σ_rows dout.
/// Any gradient may be nil when it is not wanted (e.g. the first layer's dinp). With
/// `overwriteInputGradient`, dinp = dout · W instead: a caller need not zero a fresh dinp first.
@inlinable
public func linearBackward(
    dinp: UnsafeMutablePointer<Float>?, dweight: UnsafeMutablePointer<Float>?, dbias: UnsafeMutablePointer<Float>?,
    dout: UnsafePointer<Float>, inp: UnsafePointer<Float>, weight: UnsafePointer<Float>,
    rows M: Int, inFeatures I: Int, outFeatures O: Int, overwriteInputGradient: Bool = false
) {
    if let dinp {
        BLAS.sgemm(
            m: M, n: I, k: O, a: dout, lda: O, b: weight, ldb: I, beta: overwriteInputGradient ? 0 : 1, c: dinp, ldc: I)
    }
    if let dweight {
        BLAS.sgemm(transA: true, m: O, n: I, k: M, a: dout, lda: O, b: inp, ldb: I, beta: 1, c: dweight, ldc: I)
    }
    if let dbias {
        for r in 0..<M { let dy = dout + r * O; for o in 0..<O { dbias[o] += dy[o] } }
    }
}

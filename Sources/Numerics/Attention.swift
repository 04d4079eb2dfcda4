// Multi-head scaled dot-product self-attention over a packed qkv buffer (Vaswani et al. 2017),
// forward and backward side by side. Projections are separate Linear layers; this is the core.
// Legend: B batch, N tokens, H heads, Dh head dim, W = H·Dh.
//   qkv (B, N, 3W): per token q | k | v, head h at columns h·Dh ..< (h+1)·Dh of each (timm layout,
//                   which is also what HuggingFace's separate query/key/value map to).
//   probs (B, H, N, N) = softmax(scale · Q_h K_hᵀ),  out (B, N, W) = concat_h probs_h · V_h.
// Each (b, h) is a few strided GEMMs: the per-head matrices are column blocks of qkv (ld = 3W).

/// out (B, N, W) from qkv (B, N, 3W); saves probs (B, H, N, N) for backward.
@inlinable
public func attentionForward(
    out: UnsafeMutablePointer<Float>, probs: UnsafeMutablePointer<Float>,
    qkv: UnsafePointer<Float>, batch B: Int, tokens N: Int, heads H: Int, headDim Dh: Int, scale: Float
) {
    let W = H * Dh
    for b in 0..<B {
        for h in 0..<H {
            let q = qkv + b * N * 3 * W + h * Dh
            let k = q + W, v = q + 2 * W
            let p = probs + (b * H + h) * N * N
            BLAS.sgemm(transB: true, m: N, n: N, k: Dh, alpha: scale, a: q, lda: 3 * W, b: k, ldb: 3 * W,
                       c: p, ldc: N)
            softmaxForward(out: p, inp: p, rows: N, cols: N)
            BLAS.sgemm(m: N, n: Dh, k: N, a: p, lda: N, b: v, ldb: 3 * W,
                       c: out + b * N * W + h * Dh, ldc: W)
        }
    }
}

/// Accumulates dqkv (B, N, 3W) from dout (B, N, W), given the forward's qkv and probs.
/// `scratch` holds N·N floats (one head's d(probs)).
@inlinable
public func attentionBackward(
    dqkv: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
    dout: UnsafePointer<Float>, qkv: UnsafePointer<Float>, probs: UnsafePointer<Float>,
    batch B: Int, tokens N: Int, heads H: Int, headDim Dh: Int, scale: Float
) {
    let W = H * Dh
    for b in 0..<B {
        for h in 0..<H {
            let offset = b * N * 3 * W + h * Dh
            let q = qkv + offset, k = q + W, v = q + 2 * W
            let dq = dqkv + offset, dk = dq + W, dv = dq + 2 * W
            let p = probs + (b * H + h) * N * N
            let dO = dout + b * N * W + h * Dh
            // dV += Pᵀ dO;  dP = dO Vᵀ
            BLAS.sgemm(transA: true, m: N, n: Dh, k: N, a: p, lda: N, b: dO, ldb: W, beta: 1, c: dv, ldc: 3 * W)
            BLAS.sgemm(transB: true, m: N, n: N, k: Dh, a: dO, lda: W, b: v, ldb: 3 * W, c: scratch, ldc: N)
            // dS = scale · softmax'(dP): the gradient w.r.t. Q Kᵀ.
            softmaxBackwardInPlace(grad: scratch, probs: p, rows: N, cols: N, scale: scale)
            // dQ += dS K;  dK += dSᵀ Q
            BLAS.sgemm(m: N, n: Dh, k: N, a: scratch, lda: N, b: k, ldb: 3 * W, beta: 1, c: dq, ldc: 3 * W)
            BLAS.sgemm(transA: true, m: N, n: Dh, k: N, a: scratch, lda: N, b: q, ldb: 3 * W, beta: 1, c: dk, ldc: 3 * W)
        }
    }
}

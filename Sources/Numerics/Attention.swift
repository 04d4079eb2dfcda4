// Multi-head scaled dot-product self-attention over a packed qkv buffer (Vaswani et al. 2017),
// forward and backward side by side. Projections are separate Linear layers; this is the core.
// Legend: B batch, N tokens, H heads, Dh head dim, W = H·Dh.
//   qkv (B, N, 3W): per token q | k | v, head h at columns h·Dh ..< (h+1)·Dh of each (timm layout,
//                   which is also what HuggingFace's separate query/key/value map to).
//   probs (B, H, N, N) = softmax(scale · Q_h K_hᵀ),  out (B, N, W) = concat_h probs_h · V_h.
// Each (b, h) is a few strided GEMMs: the per-head matrices are column blocks of qkv (ld = 3W).

// Per-head GEMMs are small (N×N×Dh, often Dh ≤ 64), too small for OpenBLAS's threads to pay off. When
// the caller runs BLAS multi-threaded, the examples are split across that many Dispatch workers instead,
// each with single-threaded BLAS (a trial pool already runs BLAS single-threaded: then nothing changes).

/// Runs `body` on `B` examples split into chunks over BLAS's current thread count.
@inlinable
func forEachExampleChunk(_ B: Int, _ body: (Range<Int>, Int) -> Void) {
    let workers = min(BLAS.threadCount, B)
    if workers <= 1 { body(0..<B, 0); return }
    BLAS.withThreadCount(1) {
        parallelFor(workers) { w in body((w * B / workers)..<((w + 1) * B / workers), w) }
    }
}

/// out (B, N, W) from qkv (B, N, 3W); saves probs (B, H, N, N) for backward.
@inlinable
public func attentionForward(
    out: UnsafeMutablePointer<Float>, probs: UnsafeMutablePointer<Float>,
    qkv: UnsafePointer<Float>, batch B: Int, tokens N: Int, heads H: Int, headDim Dh: Int, scale: Float
) {
    forEachExampleChunk(B) { range, _ in
        attentionForwardExamples(
            out: out, probs: probs, qkv: qkv, examples: range, tokens: N, heads: H, headDim: Dh, scale: scale)
    }
}

@inlinable
func attentionForwardExamples(
    out: UnsafeMutablePointer<Float>, probs: UnsafeMutablePointer<Float>,
    qkv: UnsafePointer<Float>, examples: Range<Int>, tokens N: Int, heads H: Int, headDim Dh: Int, scale: Float
) {
    let W = H * Dh
    for b in examples {
        for h in 0..<H {
            let q = qkv + b * N * 3 * W + h * Dh
            let k = q + W, v = q + 2 * W
            let p = probs + (b * H + h) * N * N
            BLAS.sgemm(
                transB: true, m: N, n: N, k: Dh, alpha: scale, a: q, lda: 3 * W, b: k, ldb: 3 * W,
                c: p, ldc: N)
            softmaxForward(out: p, inp: p, rows: N, cols: N)
            BLAS.sgemm(
                m: N, n: Dh, k: N, a: p, lda: N, b: v, ldb: 3 * W,
                c: out + b * N * W + h * Dh, ldc: W)
        }
    }
}

/// Accumulates dqkv (B, N, 3W) from dout (B, N, W), given the forward's qkv and probs.
/// `scratch` holds N·N floats (one head's d(probs)); parallel workers use their own.
@inlinable
public func attentionBackward(
    dqkv: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
    dout: UnsafePointer<Float>, qkv: UnsafePointer<Float>, probs: UnsafePointer<Float>,
    batch B: Int, tokens N: Int, heads H: Int, headDim Dh: Int, scale: Float
) {
    forEachExampleChunk(B) { range, worker in
        if worker == 0 {
            attentionBackwardExamples(
                dqkv: dqkv, scratch: scratch, dout: dout, qkv: qkv, probs: probs, examples: range,
                tokens: N, heads: H, headDim: Dh, scale: scale)
        } else {
            let own = UnsafeMutablePointer<Float>.allocate(capacity: N * N)
            defer { own.deallocate() }
            attentionBackwardExamples(
                dqkv: dqkv, scratch: own, dout: dout, qkv: qkv, probs: probs, examples: range,
                tokens: N, heads: H, headDim: Dh, scale: scale)
        }
    }
}

@inlinable
func attentionBackwardExamples(
    dqkv: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
    dout: UnsafePointer<Float>, qkv: UnsafePointer<Float>, probs: UnsafePointer<Float>,
    examples: Range<Int>, tokens N: Int, heads H: Int, headDim Dh: Int, scale: Float
) {
    let W = H * Dh
    for b in examples {
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
            BLAS.sgemm(
                transA: true, m: N, n: Dh, k: N, a: scratch, lda: N, b: q, ldb: 3 * W, beta: 1, c: dk, ldc: 3 * W)
        }
    }
}

// Training attention that keeps no probabilities: forward saves each query's log-sum-exp, backward
// recomputes the probabilities one block of queries at a time from it (the recomputation of Dao,
// "FlashAttention-2", 2023, on a CPU's caches). Forward and backward side by side; Attention.swift's
// probability-keeping pair is the reference they are tested against.
// Legend: B batch, N tokens, H heads, Dh head dim, W = H·Dh, Q queries in a block.
//   qkv (B, N, 3W) as in Attention.swift;  s_ij = scale · q_i·k_j;  lse_i = log Σ_j exp(s_ij)
//   p_ij = exp(s_ij − lse_i);  out_i = Σ_j p_ij v_j
//   backward: dv_j = Σ_i p_ij dout_i;  dp_ij = dout_i·v_j;  D_i = Σ_j p_ij dp_ij = dout_i·out_i
//             ds_ij = scale · p_ij (dp_ij − D_i);  dq_i = Σ_j ds_ij k_j;  dk_j = Σ_i ds_ij q_i
// Why: the probabilities are B·H·N² floats per layer (40 MB for `last` R 32, H 4 at batch 64), written
// once, recomputed, and read back from memory; a block of Q·N scores stays in L2 instead, and D_i
// from the saved output replaces a pass over dp.

import Foundation

/// Query rows per block: a block's scores and their gradient (2·Q·N floats) stay within ~400 KB of L2.
@inlinable
public func attentionQueryBlock(tokens N: Int) -> Int { max(16, min(N, 49_152 / max(N, 1))) }

/// out (B, N, W) from qkv (B, N, 3W); saves logSumExp (B, H, N) for `attentionBackward(… logSumExp:)`.
@inlinable
public func attentionForward(
    out: UnsafeMutablePointer<Float>, logSumExp: UnsafeMutablePointer<Float>,
    qkv: UnsafePointer<Float>, batch B: Int, tokens N: Int, heads H: Int, headDim Dh: Int, scale: Float
) {
    let blockRows = attentionQueryBlock(tokens: N)
    forEachExampleChunk(B) { range, _ in
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: blockRows * N)
        let totals = UnsafeMutablePointer<Float>.allocate(capacity: blockRows)
        defer { scores.deallocate(); totals.deallocate() }
        let W = H * Dh
        for b in range {
            for h in 0..<H {
                let q = qkv + b * N * 3 * W + h * Dh, k = q + W, v = q + 2 * W
                let lse = logSumExp + (b * H + h) * N
                for first in stride(from: 0, to: N, by: blockRows) {
                    let rows = min(blockRows, N - first)
                    BLAS.sgemm(
                        transB: true, m: rows, n: N, k: Dh, alpha: scale, a: q + first * 3 * W, lda: 3 * W,
                        b: k, ldb: 3 * W, c: scores, ldc: N)
                    // exp(S − max) unnormalised times V, then each output row divided by its sum: Dh
                    // divisions per row instead of N.
                    for r in 0..<rows {
                        let s = scores + r * N
                        let shift = vectorMax(s, count: N)
                        let total = exponentiateShifted(s, into: s, count: N, shift: shift)
                        totals[r] = total
                        lse[first + r] = shift + log(total)
                    }
                    let o = out + (b * N + first) * W + h * Dh
                    BLAS.sgemm(m: rows, n: Dh, k: N, a: scores, lda: N, b: v, ldb: 3 * W, c: o, ldc: W)
                    for r in 0..<rows {
                        let inv = 1 / totals[r], row = o + r * W
                        for c in 0..<Dh { row[c] *= inv }
                    }
                }
            }
        }
    }
}

/// dqkv (B, N, 3W), overwritten, from dout (B, N, W), given the forward's qkv, out and logSumExp.
@inlinable
public func attentionBackward(
    dqkv: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, out: UnsafePointer<Float>,
    qkv: UnsafePointer<Float>, logSumExp: UnsafePointer<Float>,
    batch B: Int, tokens N: Int, heads H: Int, headDim Dh: Int, scale: Float
) {
    let blockRows = attentionQueryBlock(tokens: N)
    forEachExampleChunk(B) { range, _ in
        let probs = UnsafeMutablePointer<Float>.allocate(capacity: blockRows * N)
        let dprobs = UnsafeMutablePointer<Float>.allocate(capacity: blockRows * N)
        defer { probs.deallocate(); dprobs.deallocate() }
        let W = H * Dh
        for b in range {
            for h in 0..<H {
                let offset = b * N * 3 * W + h * Dh
                let q = qkv + offset, k = q + W, v = q + 2 * W
                let dq = dqkv + offset, dk = dq + W, dv = dq + 2 * W
                let lse = logSumExp + (b * H + h) * N
                for first in stride(from: 0, to: N, by: blockRows) {
                    let rows = min(blockRows, N - first)
                    let dO = dout + (b * N + first) * W + h * Dh, o = out + (b * N + first) * W + h * Dh
                    let qBlock = q + first * 3 * W
                    // The first block writes dK and dV, later ones add to them: nothing to zero first.
                    let beta: Float = first == 0 ? 0 : 1
                    // P = exp(S − lse), recomputed.
                    BLAS.sgemm(
                        transB: true, m: rows, n: N, k: Dh, alpha: scale, a: qBlock, lda: 3 * W,
                        b: k, ldb: 3 * W, c: probs, ldc: N)
                    for r in 0..<rows {
                        _ = exponentiateShifted(probs + r * N, into: probs + r * N, count: N, shift: lse[first + r])
                    }
                    // dV (+)= Pᵀ dO;  dP = dO Vᵀ
                    BLAS.sgemm(
                        transA: true, m: N, n: Dh, k: rows, a: probs, lda: N, b: dO, ldb: W, beta: beta, c: dv,
                        ldc: 3 * W)
                    BLAS.sgemm(transB: true, m: rows, n: N, k: Dh, a: dO, lda: W, b: v, ldb: 3 * W, c: dprobs, ldc: N)
                    // dS = scale · P ⊙ (dP − D), D_i = dO_i·O_i
                    for r in 0..<rows {
                        let p = probs + r * N, dp = dprobs + r * N
                        let d = vectorDot(dO + r * W, o + r * W, count: Dh)
                        for c in 0..<N { dp[c] = scale * p[c] * (dp[c] - d) }
                    }
                    // dQ = dS K (this block's rows);  dK (+)= dSᵀ Q
                    BLAS.sgemm(
                        m: rows, n: Dh, k: N, a: dprobs, lda: N, b: k, ldb: 3 * W, c: dq + first * 3 * W, ldc: 3 * W)
                    BLAS.sgemm(
                        transA: true, m: N, n: Dh, k: rows, a: dprobs, lda: N, b: qBlock, ldb: 3 * W, beta: beta, c: dk,
                        ldc: 3 * W)
                }
            }
        }
    }
}

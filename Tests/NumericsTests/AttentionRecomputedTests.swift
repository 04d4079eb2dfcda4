import Numerics
import XCTest
import _TestSupport

/// The log-sum-exp attention (AttentionRecomputed.swift) against the probability-keeping reference
/// (Attention.swift), which KernelAutogradTests checks against PyTorch and KernelGradientTests against
/// finite differences; and against PyTorch's fixture directly.
final class AttentionRecomputedTests: XCTestCase {
    /// Forward and backward of both pairs on one input; `dqkv` of the recomputed pair starts as NaN,
    /// to prove it is overwritten whole.
    func compare(
        batch B: Int, tokens N: Int, heads H: Int, headDim Dh: Int, seed: UInt64,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        let W = H * Dh, scale = 1 / Float(Dh).squareRoot()
        let qkv = randomArray(B * N * 3 * W, seed: seed, scale: 2), dout = randomArray(B * N * W, seed: seed + 1)
        var reference = [Float](repeating: 0, count: B * N * W), probs = [Float](repeating: 0, count: B * H * N * N)
        attentionForward(
            out: &reference, probs: &probs, qkv: qkv, batch: B, tokens: N, heads: H, headDim: Dh, scale: scale)
        var referenceGradient = [Float](repeating: 0, count: qkv.count), scratch = [Float](repeating: 0, count: N * N)
        attentionBackward(
            dqkv: &referenceGradient, scratch: &scratch, dout: dout, qkv: qkv, probs: probs,
            batch: B, tokens: N, heads: H, headDim: Dh, scale: scale)

        var out = [Float](repeating: .nan, count: B * N * W), logSumExp = [Float](repeating: .nan, count: B * H * N)
        attentionForward(
            out: &out, logSumExp: &logSumExp, qkv: qkv, batch: B, tokens: N, heads: H, headDim: Dh, scale: scale)
        var dqkv = [Float](repeating: .nan, count: qkv.count)
        attentionBackward(
            dqkv: &dqkv, dout: dout, out: out, qkv: qkv, logSumExp: logSumExp,
            batch: B, tokens: N, heads: H, headDim: Dh, scale: scale)
        assertClose(out, reference, rtol: 1e-5, "out, N \(N)", file: file, line: line)
        assertClose(dqkv, referenceGradient, rtol: 1e-4, "dqkv, N \(N)", file: file, line: line)
        // lse_i = log Σ_j exp(s_ij) exactly where p_ii = exp(s_ii − lse_i) is the reference's diagonal.
        let W3 = 3 * W
        for (b, h, i) in [(0, 0, 0), (B - 1, H - 1, N - 1)] {
            let q = qkv[(b * N + i) * W3 + h * Dh..<(b * N + i) * W3 + h * Dh + Dh],
                k = qkv[(b * N + i) * W3 + W + h * Dh..<(b * N + i) * W3 + W + h * Dh + Dh]
            let s = scale * zip(q, k).map(*).reduce(0, +)
            XCTAssertEqual(
                exp(s - logSumExp[(b * H + h) * N + i]), probs[((b * H + h) * N + i) * N + i], accuracy: 1e-5,
                file: file, line: line)
        }
    }

    /// One block of queries (the fixture's and `last`'s shapes: 197 tokens fit one block).
    func testOneBlockEqualsReference() {
        compare(batch: 2, tokens: 5, heads: 2, headDim: 3, seed: 61)
        compare(batch: 3, tokens: 197, heads: 4, headDim: 8, seed: 63)
    }

    /// Several blocks: dK and dV are summed over blocks, dQ written per block.
    func testSeveralBlocksEqualReference() {
        XCTAssertLessThan(attentionQueryBlock(tokens: 577), 577)
        compare(batch: 2, tokens: 577, heads: 2, headDim: 4, seed: 65)
        compare(batch: 1, tokens: 300, heads: 3, headDim: 5, seed: 67)
    }

    /// Several examples split over workers, as a multi-threaded BLAS caller has them.
    func testWorkersEqualOneThread() {
        BLAS.withThreadCount(2) { compare(batch: 5, tokens: 50, heads: 2, headDim: 8, seed: 69) }
    }
}

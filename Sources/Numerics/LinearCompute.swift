// A network's Linear layers at one compute precision: the same forward and backward as Linear.swift,
// whose fp32 functions stay the reference. Legend: M rows, I input features, O output features.

/// The Linear layers of one side network, at `precision`:
/// - fp32: `linearForward` / `linearBackward` (OpenBLAS sgemm);
/// - bf16: each multiply rounds its operands to bf16 (nearest even) and sums the products in fp32
///   through `BFloat16GEMM` (AMX tiles or vdpbf16ps; the scalar path elsewhere, for tests). Weights,
///   biases, gradients and every other operation stay fp32, as in PyTorch's bf16 autocast.
///
/// The rounded operands live in buffers kept from call to call (one network runs on one thread at a
/// time), sized by the largest multiply; `scratchBytes` gives their size before any call.
public final class LinearCompute {
    public let precision: ComputePrecision
    private var rounded: [UInt16] = [], packed: [UInt16] = [], transposed: [Float] = []

    public init(_ precision: ComputePrecision) { self.precision = precision }

    /// out (M, O) = inp (M, I) · weight (O, I)ᵀ + bias (O), or += with `accumulate` (as `linearForward`).
    public func forward(
        out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
        rows M: Int, inFeatures I: Int, outFeatures O: Int, accumulate: Bool = false
    ) {
        guard precision == .bf16 else {
            linearForward(
                out: out, inp: inp, weight: weight, bias: bias, rows: M, inFeatures: I, outFeatures: O,
                accumulate: accumulate)
            return
        }
        if let bias { broadcastBias(out: out, bias: bias, rows: M, outFeatures: O, accumulate: accumulate) }
        multiply(
            rows: M, a: inp, lda: I, k: I, b: weight, ldb: I, transB: true, n: O,
            beta: bias != nil || accumulate ? 1 : 0, c: out, ldc: O)
    }

    /// dinp (M, I) += dout · W (= with `overwriteInputGradient`), dweight (O, I) += doutᵀ · inp,
    /// dbias (O) += Σ_rows dout (as `linearBackward`).
    public func backward(
        dinp: UnsafeMutablePointer<Float>?, dweight: UnsafeMutablePointer<Float>?, dbias: UnsafeMutablePointer<Float>?,
        dout: UnsafePointer<Float>, inp: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        rows M: Int, inFeatures I: Int, outFeatures O: Int, overwriteInputGradient: Bool = false
    ) {
        guard precision == .bf16 else {
            linearBackward(
                dinp: dinp, dweight: dweight, dbias: dbias, dout: dout, inp: inp, weight: weight,
                rows: M, inFeatures: I, outFeatures: O, overwriteInputGradient: overwriteInputGradient)
            return
        }
        if let dinp {
            multiply(
                rows: M, a: dout, lda: O, k: O, b: weight, ldb: I, transB: false, n: I,
                beta: overwriteInputGradient ? 0 : 1, c: dinp, ldc: I)
        }
        if let dweight {
            // The weight gradient sums over the M rows: one operand is read transposed (gathered, the
            // slower rounding), so it is the narrower of dout (M, O) and inp (M, I); the other is packed.
            if O <= I {
                multiply(
                    rows: O, a: dout, lda: O, transA: true, k: M, b: inp, ldb: I, transB: false, n: I, beta: 1,
                    c: dweight, ldc: I)
            } else {
                transposed.reuse(count: I * O, zeroed: false)
                transposed.withUnsafeMutableBufferPointer { t in
                    multiply(
                        rows: I, a: inp, lda: I, transA: true, k: M, b: dout, ldb: O, transB: false, n: O, beta: 0,
                        c: t.baseAddress!, ldc: O)
                    for o in 0..<O { let row = dweight + o * I; for i in 0..<I { row[i] += t[i * O + o] } }
                }
            }
        }
        if let dbias {  // no multiply: the reference's row sum
            linearBackward(
                dinp: nil, dweight: nil, dbias: dbias, dout: dout, inp: inp, weight: weight, rows: M, inFeatures: I,
                outFeatures: O)
        }
    }

    /// C (rows, n) = bf16(op(A)) · bf16(op(B)) + beta · C, op(A) rows × k (A stored rows × k with row
    /// stride lda, or k × rows with `transA`), op(B) k × n (B stored k × n, or n × k with `transB`).
    private func multiply(
        rows: Int, a: UnsafePointer<Float>, lda: Int, transA: Bool = false, k: Int,
        b: UnsafePointer<Float>, ldb: Int, transB: Bool, n: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        let roundedCount = rows * BFloat16GEMM.stride(columns: k), packedCount = BFloat16GEMM.packedCount(k: k, n: n)
        if rounded.count < roundedCount { rounded = [UInt16](repeating: 0, count: roundedCount) }
        if packed.count < packedCount { packed = [UInt16](repeating: 0, count: packedCount) }
        rounded.withUnsafeMutableBufferPointer { r in
            packed.withUnsafeMutableBufferPointer { p in
                BFloat16GEMM.round(rows: rows, columns: k, a: a, lda: lda, transA: transA, into: r.baseAddress!)
                BFloat16GEMM.pack(k: k, n: n, b: b, ldb: ldb, transB: transB, into: p.baseAddress!)
                BFloat16GEMM.gemm(
                    rows: rows, a: r.baseAddress!, packed: p.baseAddress!, k: k, n: n, beta: beta, c: c, ldc: ldc)
            }
        }
    }

    /// Bytes of the buffers that Linear layers of these shapes leave behind, forward and backward
    /// (0 at fp32): the largest rounded A, packed B and transposed weight gradient of their multiplies.
    public func scratchBytes(layers: [(rows: Int, inFeatures: Int, outFeatures: Int)]) -> Int {
        guard precision == .bf16 else { return 0 }
        var roundedCount = 0, packedCount = 0, transposedCount = 0
        func multiply(rows: Int, k: Int, n: Int) {
            roundedCount = max(roundedCount, rows * BFloat16GEMM.stride(columns: k))
            packedCount = max(packedCount, BFloat16GEMM.packedCount(k: k, n: n))
        }
        for (M, I, O) in layers {
            multiply(rows: M, k: I, n: O)  // forward
            multiply(rows: M, k: O, n: I)  // dinp
            if O <= I {
                multiply(rows: O, k: M, n: I)
            } else {
                multiply(rows: I, k: M, n: O); transposedCount = max(transposedCount, I * O)
            }
        }
        return 2 * (roundedCount + packedCount) + 4 * transposedCount
    }

    /// Bytes the buffers hold now (what `scratchBytes` estimates).
    var allocatedBytes: Int { 2 * (rounded.count + packed.count) + 4 * transposed.count }

    /// Frees the buffers (at the end of a trial, with the network's own).
    public func releaseBuffers() { rounded = []; packed = []; transposed = [] }
}

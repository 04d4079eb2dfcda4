import CBFloat16

/// bf16 × bf16 → fp32 GEMM with AVX512_BF16 (`vdpbf16ps`), for measuring what bf16 compute would buy
/// over OpenBLAS's fp32 sgemm (`hpsweep bench gemm`). Operands are rounded to bf16 (nearest even);
/// products are exact in fp32 and summed in fp32. Without AVX512_BF16 a scalar path computes the
/// same sums in the same order, so results and tests do not depend on the CPU (only the speed does).
public enum BFloat16GEMM {
    /// Whether this CPU runs the vector kernel (AVX-512 with BF16, ZMM state enabled by the OS).
    public static let hardwareAvailable = hps_bf16_hardware() != 0

    /// A left operand: bf16, row-major, rows of an even stride (zero-padded), as a bf16 cache or a
    /// bf16 activation would hold it; the kernel reads it in place.
    public struct Matrix {
        public let rows: Int, columns: Int
        let stride: Int
        let storage: [UInt16]
    }

    /// A right operand (k × n) packed once into bf16 column panels (a layer's weight).
    public struct PackedB {
        public let k: Int, n: Int
        let storage: [UInt16]
    }

    /// op(A) (rows × columns) rounded to bf16: A stored row-major with row stride `lda`, or
    /// transposed (columns × rows) with `transA`; rows split over `threads` threads.
    public static func round(rows: Int, columns: Int, a: UnsafePointer<Float>, lda: Int, transA: Bool = false,
                             threads: Int = 1, useHardware: Bool = hardwareAvailable) -> Matrix {
        precondition(rows >= 0 && columns >= 0 && lda >= max(1, transA ? rows : columns),
                     "BFloat16GEMM.round: bad shape rows=\(rows) columns=\(columns) lda=\(lda)")
        let stride = (columns + 1) / 2 * 2
        let storage = [UInt16](unsafeUninitializedCapacity: rows * stride) { buffer, initialized in
            let out = UncheckedSendable(buffer.baseAddress), source = UncheckedSendable(a)
            let parts = max(1, min(threads, rows / 64))
            parallelFor(parts) { part in
                hps_bf16_round_rows(Int32(rows * part / parts), Int32(rows * (part + 1) / parts), Int32(columns),
                                    source.value, Int32(lda), transA ? 1 : 0, out.value, Int32(stride), useHardware ? 1 : 0)
            }
            initialized = rows * stride
        }
        return Matrix(rows: rows, columns: columns, stride: stride, storage: storage)
    }

    /// Packs op(B) (k × n): B stored row-major with row stride `ldb`, or transposed (n × k) with `transB`
    /// (a Linear layer's weight, out × in, for `x · Wᵀ`).
    public static func pack(k: Int, n: Int, b: UnsafePointer<Float>, ldb: Int, transB: Bool = false) -> PackedB {
        precondition(n >= 0 && k >= 0 && ldb >= max(1, transB ? k : n), "BFloat16GEMM.pack: bad shape k=\(k) n=\(n) ldb=\(ldb)")
        let count = hps_bf16_packed_b_count(Int32(k), Int32(n))
        let storage = [UInt16](unsafeUninitializedCapacity: count) { buffer, initialized in
            hps_bf16_pack_b(Int32(k), Int32(n), b, Int32(ldb), transB ? 1 : 0, buffer.baseAddress)
            initialized = count
        }
        return PackedB(k: k, n: n, storage: storage)
    }

    /// `C (m × n) = A · B + beta · C`, rows split over `threads` threads in whole tiles.
    /// `useHardware: false` forces the scalar path (for tests; the default uses the vector kernel where it runs).
    public static func gemm(_ a: Matrix, _ b: PackedB, beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int,
                            threads: Int = 1, useHardware: Bool = hardwareAvailable) {
        precondition(a.columns == b.k, "BFloat16GEMM.gemm: inner sizes differ (\(a.columns) vs \(b.k))")
        precondition(ldc >= max(1, b.n), "BFloat16GEMM.gemm: ldc \(ldc) < n \(b.n)")
        precondition(!useHardware || hardwareAvailable, "BFloat16GEMM.gemm: this CPU has no AVX512_BF16")
        let tile = Int(HPS_BF16_MR), tiles = (a.rows + tile - 1) / tile
        let parts = max(1, min(threads, tiles))
        a.storage.withUnsafeBufferPointer { pa in
            b.storage.withUnsafeBufferPointer { pb in
                let output = UncheckedSendable(c)
                parallelFor(parts) { part in
                    let begin = tiles * part / parts * tile, end = min(a.rows, tiles * (part + 1) / parts * tile)
                    guard begin < end else { return }
                    hps_bf16_gemm(Int32(begin), Int32(end), Int32(b.n), Int32(a.columns), pa.baseAddress, Int32(a.stride),
                                  pb.baseAddress, beta, output.value, Int32(ldc), useHardware ? 1 : 0)
                }
            }
        }
    }
}

/// A pointer handed to `parallelFor`'s workers, each touching its own rows.
private struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

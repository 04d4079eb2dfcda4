import CBFloat16

/// How GEMMs compute: fp32 (OpenBLAS sgemm, the default) or bf16 (operands rounded to bf16, products
/// summed in fp32 with AVX512_BF16 or AMX). The backbone's (a cache's `compute`) and a side network's
/// Linear layers (a trial's `compute`) choose it apart; attention, LayerNorm, GELU, residual sums,
/// weights, gradients and the optimiser stay fp32.
public enum ComputePrecision: String, CaseIterable, Codable, Sendable {
    case fp32, bf16

    /// Why this CPU cannot compute at this precision at full speed, or nil when it can.
    public var unavailability: String? {
        self == .bf16 && !BFloat16GEMM.hardwareAvailable
            ? "compute bf16 needs AVX512_BF16 (vdpbf16ps), which this CPU does not have; use \"fp32\"" : nil
    }
}

/// bf16 × bf16 → fp32 GEMM with AVX512_BF16 (`vdpbf16ps`). Operands are rounded to bf16 (nearest
/// even); products are exact in fp32 and summed in fp32. Without AVX512_BF16 a scalar path computes
/// the same sums in the same order, so results and tests do not depend on the CPU (only the speed does).
///
/// The left operand is bf16 row-major with an even row stride, used in place (a bf16 activation or
/// cached tap); the right operand, a layer's weight, is packed once into column panels.
public enum BFloat16GEMM {
    /// Whether this CPU runs the vector kernel (AVX-512 with BF16, ZMM state enabled by the OS).
    public static let hardwareAvailable = hps_bf16_hardware() != 0
    /// Whether it also has AMX-BF16 tiles, which `gemm` then uses for whole 16-row blocks: on Intel
    /// cores `vdpbf16ps` multiplies no faster than fp32 FMA, and only the tiles make bf16 pay.
    public static let amxAvailable = hps_bf16_amx() != 0

    /// The C kernel's level: 0 scalar, 1 vdpbf16ps, 2 AMX tiles (where available).
    static func kernelLevel(useHardware: Bool, amx: Bool) -> Int32 { useHardware ? (amx && amxAvailable ? 2 : 1) : 0 }

    /// A left operand rounded to bf16 and kept (tests, `bench gemm`).
    public struct Matrix {
        public let rows: Int, columns: Int
        let stride: Int
        let storage: [UInt16]
    }

    /// A right operand (k × n) packed once into bf16 column panels.
    public struct PackedB: Sendable {
        public let k: Int, n: Int
        let storage: [UInt16]
    }

    /// The row stride (in bf16 elements) of a rounded left operand of `columns` columns.
    public static func stride(columns: Int) -> Int { (columns + 1) / 2 * 2 }

    /// Rows of `out` (row stride `stride(columns:)`) = bf16(op(A)) for op(A) rows × columns: A stored
    /// row-major with row stride `lda`, or transposed (columns × rows) with `transA`. One thread.
    public static func round(
        rows: Int, columns: Int, a: UnsafePointer<Float>, lda: Int, transA: Bool = false,
        into out: UnsafeMutablePointer<UInt16>, useHardware: Bool = hardwareAvailable
    ) {
        precondition(
            rows >= 0 && columns >= 0 && lda >= max(1, transA ? rows : columns),
            "BFloat16GEMM.round: bad shape rows=\(rows) columns=\(columns) lda=\(lda)")
        hps_bf16_round_rows(
            0, Int32(rows), Int32(columns), a, Int32(lda), transA ? 1 : 0, out,
            Int32(stride(columns: columns)), useHardware ? 1 : 0)
    }

    /// op(A) rounded into a new matrix, rows split over `threads` threads.
    public static func round(
        rows: Int, columns: Int, a: UnsafePointer<Float>, lda: Int, transA: Bool = false,
        threads: Int = 1, useHardware: Bool = hardwareAvailable
    ) -> Matrix {
        precondition(
            rows >= 0 && columns >= 0 && lda >= max(1, transA ? rows : columns),
            "BFloat16GEMM.round: bad shape rows=\(rows) columns=\(columns) lda=\(lda)")
        let stride = stride(columns: columns)
        let storage = [UInt16](unsafeUninitializedCapacity: rows * stride) { buffer, initialized in
            let out = UncheckedSendable(buffer.baseAddress), source = UncheckedSendable(a)
            let parts = max(1, min(threads, rows / 64))
            parallelFor(parts) { part in
                hps_bf16_round_rows(
                    Int32(rows * part / parts), Int32(rows * (part + 1) / parts), Int32(columns),
                    source.value, Int32(lda), transA ? 1 : 0, out.value, Int32(stride), useHardware ? 1 : 0)
            }
            initialized = rows * stride
        }
        return Matrix(rows: rows, columns: columns, stride: stride, storage: storage)
    }

    /// Packs op(B) (k × n): B stored row-major with row stride `ldb`, or transposed (n × k) with `transB`
    /// (a Linear layer's weight, out × in, for `x · Wᵀ`).
    public static func pack(
        k: Int, n: Int, b: UnsafePointer<Float>, ldb: Int, transB: Bool = false,
        useHardware: Bool = hardwareAvailable
    ) -> PackedB {
        let count = packedCount(k: k, n: n)
        let storage = [UInt16](unsafeUninitializedCapacity: count) { buffer, initialized in
            pack(k: k, n: n, b: b, ldb: ldb, transB: transB, into: buffer.baseAddress!, useHardware: useHardware)
            initialized = count
        }
        return PackedB(k: k, n: n, storage: storage)
    }

    /// The bf16 elements op(B) (k × n) takes packed.
    public static func packedCount(k: Int, n: Int) -> Int { hps_bf16_packed_b_count(Int32(k), Int32(n)) }

    /// Packs op(B) into `packed` (`packedCount(k:n:)` elements), for a caller that reuses its buffer.
    public static func pack(
        k: Int, n: Int, b: UnsafePointer<Float>, ldb: Int, transB: Bool = false,
        into packed: UnsafeMutablePointer<UInt16>, useHardware: Bool = hardwareAvailable
    ) {
        precondition(
            n >= 0 && k >= 0 && ldb >= max(1, transB ? k : n), "BFloat16GEMM.pack: bad shape k=\(k) n=\(n) ldb=\(ldb)")
        hps_bf16_pack_b(Int32(k), Int32(n), b, Int32(ldb), transB ? 1 : 0, packed, useHardware ? 1 : 0)
    }

    /// `C (rows × n) = A · B + beta · C` for A rounded by `round(…into:)` (row stride `stride(columns: b.k)`),
    /// rows split over `threads` threads in whole tiles. With `amx` (the default where the CPU has it)
    /// whole 16-row blocks run on AMX tiles: the same products, summed in another order.
    public static func gemm(
        rows: Int, a: UnsafePointer<UInt16>?, _ b: PackedB, beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int = 1, useHardware: Bool = hardwareAvailable,
        amx: Bool = amxAvailable
    ) {
        b.storage.withUnsafeBufferPointer { pb in
            gemm(
                rows: rows, a: a, packed: pb.baseAddress!, k: b.k, n: b.n, beta: beta, c: c, ldc: ldc, threads: threads,
                useHardware: useHardware, amx: amx)
        }
    }

    /// The same with B packed by `pack(…into:)` as op(B) of k × n.
    public static func gemm(
        rows: Int, a: UnsafePointer<UInt16>?, packed: UnsafePointer<UInt16>, k: Int, n: Int, beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int = 1, useHardware: Bool = hardwareAvailable,
        amx: Bool = amxAvailable
    ) {
        precondition(rows >= 0 && ldc >= max(1, n), "BFloat16GEMM.gemm: bad shape rows=\(rows) ldc=\(ldc) n=\(n)")
        precondition(!useHardware || hardwareAvailable, "BFloat16GEMM.gemm: this CPU has no AVX512_BF16")
        let level = kernelLevel(useHardware: useHardware, amx: amx)
        // Row ranges in whole tiles of both kernels (48 = lcm(12, 16) rows): only the last range pads rows for AMX.
        let tile = level == 2 ? 48 : Int(HPS_BF16_MR), tiles = (rows + tile - 1) / tile
        let parts = max(1, min(threads, tiles))
        let lda = Int32(stride(columns: k))
        let output = UncheckedSendable(c), input = UncheckedSendable(a), panels = UncheckedSendable(packed)
        parallelFor(parts) { part in
            let begin = tiles * part / parts * tile, end = min(rows, tiles * (part + 1) / parts * tile)
            guard begin < end else { return }
            hps_bf16_gemm(
                Int32(begin), Int32(end), Int32(n), Int32(k), input.value, lda,
                panels.value, beta, output.value, Int32(ldc), level)
        }
    }

    /// `C (m × n) = A · B + beta · C` for a kept matrix A.
    public static func gemm(
        _ a: Matrix, _ b: PackedB, beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int,
        threads: Int = 1, useHardware: Bool = hardwareAvailable, amx: Bool = amxAvailable
    ) {
        precondition(a.columns == b.k, "BFloat16GEMM.gemm: inner sizes differ (\(a.columns) vs \(b.k))")
        a.storage.withUnsafeBufferPointer { pa in
            gemm(
                rows: a.rows, a: pa.baseAddress, b, beta: beta, c: c, ldc: ldc, threads: threads,
                useHardware: useHardware, amx: amx)
        }
    }
}

/// A pointer handed to `parallelFor`'s workers, each touching its own rows.
private struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

import Dispatch
import Essentials
import Foundation
import Numerics

/// `hpsweep bench gemm`: bf16 × bf16 → fp32 (AVX512_BF16) against OpenBLAS's fp32 sgemm on the GEMM
/// shapes hpsweep spends its time in, to decide whether bf16 compute is worth wiring in (issue 14).
enum BenchGEMMCommand: Command {
    static let threads = Option<Int>.positiveInteger(
        "threads", "N", help: "Threads for both GEMMs (default: all \(availableCores) cores).", maximum: 4096)
    static let repeats = Option<Int>.positiveInteger(
        "repeats", "N", help: "Timed calls per GEMM after one warm-up; the median is shown (default 5).")
    static let path = ["bench", "gemm"]
    static let summary =
        "Measure a bf16 GEMM (AVX512_BF16) against OpenBLAS's fp32 sgemm on ViT-B/16 and side-network shapes."
    static let usage = "[--threads N] [--repeats N]"
    static let options = [threads.spec, repeats.spec]

    /// `C (m × n) = op(A) · op(B)` as the layers compute it (`x · Wᵀ` for Linear layers; `Xᵀ · dY` for weight gradients).
    struct Shape {
        let name: String, m: Int, n: Int, k: Int, transA: Bool, transB: Bool
    }

    static let shapes = [
        Shape(name: "ViT-B/16 qkv (batch 32)", m: 32 * 197, n: 2304, k: 768, transA: false, transB: true),
        Shape(name: "ViT-B/16 attention proj", m: 32 * 197, n: 768, k: 768, transA: false, transB: true),
        Shape(name: "ViT-B/16 fc1", m: 32 * 197, n: 3072, k: 768, transA: false, transB: true),
        Shape(name: "ViT-B/16 fc2", m: 32 * 197, n: 768, k: 3072, transA: false, transB: true),
        Shape(name: "side down-projection (batch 64, d 96)", m: 64 * 197, n: 96, k: 768, transA: false, transB: true),
        Shape(name: "side down-projection dW", m: 96, n: 768, k: 64 * 197, transA: true, transB: false),
        Shape(name: "side up-projection (d 96 → 768)", m: 64 * 197, n: 768, k: 96, transA: false, transB: true),
        // `last` R 32's six multiplies on one shard of 32 examples (what one thread runs in a 2-shard step).
        Shape(name: "last q|k|v, shard 32", m: 32 * 197, n: 96, k: 768, transA: false, transB: true),
        Shape(name: "last out-projection", m: 32 * 197, n: 768, k: 32, transA: false, transB: true),
        Shape(name: "last d attended", m: 32 * 197, n: 32, k: 768, transA: false, transB: false),
        Shape(name: "last d out-projection (transposed)", m: 32, n: 768, k: 32 * 197, transA: true, transB: false),
        Shape(name: "last d normalised", m: 32 * 197, n: 768, k: 96, transA: false, transB: false),
        Shape(name: "last d q|k|v", m: 96, n: 768, k: 32 * 197, transA: true, transB: false),
    ]

    static func run(_ arguments: ParsedArguments) throws {
        guard arguments.positionals.isEmpty else {
            throw UsageError("unexpected argument '\(arguments.positionals[0])' for '\(displayName)'")
        }
        let threads = try arguments.value(BenchGEMMCommand.threads, default: availableCores)
        let repeats = try arguments.value(BenchGEMMCommand.repeats, default: 5)
        print(
            "hpsweep bench gemm: bf16 × bf16 → fp32 (\(BFloat16GEMM.amxAvailable ? "AMX tiles" : "vdpbf16ps")) against OpenBLAS fp32, \(threads) thread\(threads == 1 ? "" : "s")"
        )
        print(machineLine)
        guard BFloat16GEMM.hardwareAvailable else {
            throw FileProblem(
                "this CPU has no AVX512_BF16 (vdpbf16ps); bf16 GEMM would run its scalar reference path only")
        }
        print(
            "  GFLOP/s, median of \(repeats): fp32 = OpenBLAS sgemm; bf16 = A already bf16 (a bf16 cache or activation),"
        )
        print("  B packed once (a weight); bf16 + round A = also rounding fp32 activations to bf16 in every call")
        let header =
            "  " + "shape".padding(toLength: 48, withPad: " ", startingAt: 0)
            + "fp32         bf16   bf16 + round A   ratio   ratio+round   max |Δ| / max |C|"
        print(header)
        for shape in shapes { measure(shape, threads: threads, repeats: repeats) }
    }

    static func measure(_ s: Shape, threads: Int, repeats: Int) {
        var rng = SeededRNG(seed: 3)
        var a = [Float](repeating: 0, count: s.m * s.k), b = [Float](repeating: 0, count: s.k * s.n)
        rng.fillNormal(&a, count: a.count, std: 1)
        rng.fillNormal(&b, count: b.count, std: 1)
        let lda = s.transA ? s.m : s.k, ldb = s.transB ? s.k : s.n
        var fp32 = [Float](repeating: 0, count: s.m * s.n), bf16 = fp32
        let flops = 2 * Double(s.m) * Double(s.n) * Double(s.k)

        let fp32Seconds = BLAS.withThreadCount(threads) {
            median(repeats) {
                BLAS.sgemm(
                    transA: s.transA, transB: s.transB, m: s.m, n: s.n, k: s.k, a: a, lda: lda, b: b, ldb: ldb,
                    c: &fp32, ldc: s.n)
            }
        }
        let packedB = BFloat16GEMM.pack(k: s.k, n: s.n, b: b, ldb: ldb, transB: s.transB)
        let roundedA = BFloat16GEMM.round(rows: s.m, columns: s.k, a: a, lda: lda, transA: s.transA, threads: threads)
        let packedSeconds = median(repeats) {
            BFloat16GEMM.gemm(roundedA, packedB, c: &bf16, ldc: s.n, threads: threads)
        }
        let withPackingSeconds = median(repeats) {
            let fresh = BFloat16GEMM.round(rows: s.m, columns: s.k, a: a, lda: lda, transA: s.transA, threads: threads)
            BFloat16GEMM.gemm(fresh, packedB, c: &bf16, ldc: s.n, threads: threads)
        }
        var largest: Float = 0, error: Float = 0
        for i in 0..<fp32.count {
            largest = max(largest, abs(fp32[i]))
            error = max(error, abs(fp32[i] - bf16[i]))
        }
        let label = "\(s.name) \(s.m)×\(s.n)×\(s.k)"
        print(
            "  " + label.padding(toLength: 46, withPad: " ", startingAt: 0)
                + String(
                    format: "%6.1f %12.1f %14.1f %8.2f× %10.2f× %15.1e",
                    flops / fp32Seconds / 1e9, flops / packedSeconds / 1e9, flops / withPackingSeconds / 1e9,
                    fp32Seconds / packedSeconds, fp32Seconds / withPackingSeconds, error / largest))
    }

    /// Median wall time of `repeats` calls of `body` after one warm-up call.
    static func median(_ repeats: Int, _ body: () -> Void) -> Double {
        body()
        var times: [Double] = []
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return times.sorted()[times.count / 2]
    }
}

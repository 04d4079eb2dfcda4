import CBLAS

/// Row-major single-precision GEMM through OpenBLAS, and control of OpenBLAS's thread count.
///
/// Debian's default OpenBLAS is the pthread build: it keeps its own thread pool whose size is
/// global to the process. Code that runs several GEMMs concurrently (a Dispatch pool of trials,
/// or the backbone's per-image-chunk workers) pins it to one thread so cores are not
/// oversubscribed.
public enum BLAS {
    /// OpenBLAS's current thread count.
    public static var threadCount: Int {
        get { Int(openblas_get_num_threads()) }
        set {
            precondition(newValue >= 1, "BLAS.threadCount must be >= 1, got \(newValue)")
            openblas_set_num_threads(Int32(newValue))
        }
    }

    /// Runs `body` with OpenBLAS set to `threads` threads, restoring the previous count after.
    public static func withThreadCount<R>(_ threads: Int, _ body: () throws -> R) rethrows -> R {
        let previous = threadCount
        if previous != threads { threadCount = threads }
        defer { if previous != threads { threadCount = previous } }
        return try body()
    }

    /// `C (m, n) = alpha · op(A) · op(B) + beta · C`, row-major, where op(A) is (m, k) and op(B)
    /// is (k, n). `lda`, `ldb`, `ldc` are the row strides of the stored matrices, so a matrix can be
    /// a column block of a wider one (e.g. one head's queries inside a packed qkv buffer).
    @inlinable
    public static func sgemm(
        transA: Bool = false, transB: Bool = false,
        m: Int, n: Int, k: Int,
        alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        precondition(m >= 0 && n >= 0 && k >= 0, "sgemm: negative size m=\(m) n=\(n) k=\(k)")
        precondition(lda >= max(1, transA ? m : k), "sgemm: lda \(lda) too small (m=\(m), k=\(k), transA=\(transA))")
        precondition(ldb >= max(1, transB ? k : n), "sgemm: ldb \(ldb) too small (k=\(k), n=\(n), transB=\(transB))")
        precondition(ldc >= max(1, n), "sgemm: ldc \(ldc) < n \(n)")
        if m == 0 || n == 0 { return }
        cblas_sgemm(
            CblasRowMajor,
            transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha,
            a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// `batch` independent GEMMs whose operands sit at fixed strides from each other
    /// (the layout of per-example or per-head matrices in one buffer).
    @inlinable
    public static func sgemmStridedBatched(
        transA: Bool = false, transB: Bool = false,
        m: Int, n: Int, k: Int,
        alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, strideA: Int,
        b: UnsafePointer<Float>, ldb: Int, strideB: Int,
        beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int, strideC: Int,
        batch: Int
    ) {
        for i in 0..<batch {
            sgemm(
                transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                a: a + i * strideA, lda: lda, b: b + i * strideB, ldb: ldb,
                beta: beta, c: c + i * strideC, ldc: ldc)
        }
    }

    /// The obviously-correct triple loop that `sgemm` is tested against.
    public static func referenceGEMM(
        transA: Bool = false, transB: Bool = false,
        m: Int, n: Int, k: Int, alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        for i in 0..<m {
            for j in 0..<n {
                var sum: Double = 0
                for p in 0..<k {
                    let aip = transA ? a[p * lda + i] : a[i * lda + p]
                    let bpj = transB ? b[j * ldb + p] : b[p * ldb + j]
                    sum += Double(aip) * Double(bpj)
                }
                let previous = beta == 0 ? 0 : Double(beta) * Double(c[i * ldc + j])
                c[i * ldc + j] = Float(Double(alpha) * sum + previous)
            }
        }
    }
}

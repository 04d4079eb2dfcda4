import Numerics
import XCTest
import _TestSupport

/// OpenBLAS sgemm wrappers against the naive triple loop, for every transpose, strides and alpha/beta.
final class GEMMTests: XCTestCase {
    func testSGEMMMatchesReferenceForAllTransposes() {
        let (m, n, k) = (7, 5, 9)
        for transA in [false, true] {
            for transB in [false, true] {
                // Stored with padded leading dimensions, to exercise lda/ldb/ldc.
                let lda = (transA ? m : k) + 3, ldb = (transB ? k : n) + 2, ldc = n + 1
                let a = randomArray((transA ? k : m) * lda, seed: 1), b = randomArray((transB ? n : k) * ldb, seed: 2)
                let c0 = randomArray(m * ldc, seed: 3)
                var fast = c0, reference = c0
                BLAS.sgemm(
                    transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.5, a: a, lda: lda, b: b, ldb: ldb,
                    beta: 2, c: &fast, ldc: ldc)
                BLAS.referenceGEMM(
                    transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.5, a: a, lda: lda, b: b, ldb: ldb,
                    beta: 2, c: &reference, ldc: ldc)
                assertClose(fast, reference, rtol: 1e-6, "transA \(transA) transB \(transB)")
            }
        }
    }

    func testStridedBatchedMatchesPerItemGEMMs() {
        let (m, n, k, batch) = (3, 4, 5, 3)
        let a = randomArray(batch * m * k, seed: 4), b = randomArray(batch * k * n, seed: 5)
        var batched = [Float](repeating: 0, count: batch * m * n)
        BLAS.sgemmStridedBatched(
            m: m, n: n, k: k, a: a, lda: k, strideA: m * k, b: b, ldb: n, strideB: k * n,
            c: &batched, ldc: n, strideC: m * n, batch: batch)
        for i in 0..<batch {
            var single = [Float](repeating: 0, count: m * n)
            BLAS.referenceGEMM(
                m: m, n: n, k: k, a: Array(a[(i * m * k)...]), lda: k, b: Array(b[(i * k * n)...]), ldb: n, c: &single,
                ldc: n)
            assertClose(Array(batched[(i * m * n)..<((i + 1) * m * n)]), single, rtol: 1e-6, "item \(i)")
        }
    }

    func testEmptyProductLeavesOutputAlone() {
        var c: [Float] = [1, 2, 3]
        BLAS.sgemm(
            m: 0, n: 3, k: 4, a: [Float](repeating: 0, count: 4), lda: 4, b: [Float](repeating: 0, count: 12), ldb: 3,
            c: &c, ldc: 3)
        XCTAssertEqual(c, [1, 2, 3])
    }

    func testThreadCountIsSetAndRestored() {
        let before = BLAS.threadCount
        BLAS.withThreadCount(1) { XCTAssertEqual(BLAS.threadCount, 1) }
        XCTAssertEqual(BLAS.threadCount, before)
    }
}

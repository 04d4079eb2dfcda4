import XCTest
import _TestSupport

@testable import Numerics

/// The bf16 GEMM: its scalar path against a float64 loop over the bf16-rounded operands, the AVX512_BF16
/// kernel bitwise against the scalar path (where the CPU has it), rounding, and the fp32 error it costs.
final class BFloat16GEMMTests: XCTestCase {
    /// Shapes that leave partial tiles in every direction (m not a multiple of 12, n of 32), an odd k,
    /// and a k that crosses the kernel's 192-pair blocks.
    let shapes = [(m: 29, n: 45, k: 37), (m: 12, n: 32, k: 2), (m: 1, n: 1, k: 1), (m: 37, n: 70, k: 401)]

    func testScalarPathMatchesFloat64ReferenceOnRoundedOperands() {
        for (index, shape) in shapes.enumerated() {
            for (transA, transB) in [(false, false), (false, true), (true, false), (true, true)] {
                for beta: Float in [0, 1, 0.5] {
                    let (m, n, k) = shape
                    let lda = (transA ? m : k) + 1, ldb = (transB ? k : n) + 3, ldc = n + 2
                    let a = randomArray((transA ? k : m) * lda, seed: UInt64(10 + index)),
                        b = randomArray((transB ? n : k) * ldb, seed: UInt64(20 + index))
                    let c0 = randomArray(m * ldc, seed: 30)
                    var c = c0
                    let rounded = BFloat16GEMM.round(
                        rows: m, columns: k, a: a, lda: lda, transA: transA, useHardware: false)
                    let packed = BFloat16GEMM.pack(k: k, n: n, b: b, ldb: ldb, transB: transB)
                    BFloat16GEMM.gemm(rounded, packed, beta: beta, c: &c, ldc: ldc, threads: 2, useHardware: false)
                    for i in 0..<m {
                        for j in 0..<n {
                            var sum = 0.0, magnitude = 0.0
                            for p in 0..<k {
                                let x = Double(bf16(transA ? a[p * lda + i] : a[i * lda + p]))
                                let y = Double(bf16(transB ? b[j * ldb + p] : b[p * ldb + j]))
                                sum += x * y
                                magnitude += abs(x * y)
                            }
                            let expected = sum + Double(beta) * Double(c0[i * ldc + j])
                            // fp32 summation of k + 1 terms: at most (k + 1)·2⁻²⁴ of their magnitudes.
                            let bound =
                                Double(k + 1) * 0x1p-24 * (magnitude + abs(Double(beta * c0[i * ldc + j]))) + 1e-30
                            XCTAssertEqual(
                                Double(c[i * ldc + j]), expected, accuracy: bound,
                                "\(shape) transA \(transA) transB \(transB) beta \(beta) at (\(i), \(j))")
                        }
                        // Columns past n are not written.
                        XCTAssertEqual(
                            Array(c[(i * ldc + n)..<((i + 1) * ldc)]), Array(c0[(i * ldc + n)..<((i + 1) * ldc)]))
                    }
                }
            }
        }
    }

    func testHardwareKernelIsBitwiseTheScalarPath() throws {
        try XCTSkipUnless(
            BFloat16GEMM.hardwareAvailable, "this CPU has no AVX512_BF16; the scalar path is tested above")
        for (index, (m, n, k)) in (shapes + [(m: 200, n: 96, k: 768)]).enumerated() {
            let a = randomArray(m * k, seed: UInt64(40 + index)), b = randomArray(n * k, seed: UInt64(50 + index))
            let c0 = randomArray(m * n, seed: 60)
            let roundedByVector = BFloat16GEMM.round(rows: m, columns: k, a: a, lda: k, useHardware: true)
            let roundedByScalar = BFloat16GEMM.round(rows: m, columns: k, a: a, lda: k, useHardware: false)
            let packed = BFloat16GEMM.pack(k: k, n: n, b: b, ldb: k, transB: true)
            for beta: Float in [0, 1] {
                var vector = c0, scalar = c0
                BFloat16GEMM.gemm(
                    roundedByVector, packed, beta: beta, c: &vector, ldc: n, threads: 2, useHardware: true, amx: false)
                BFloat16GEMM.gemm(
                    roundedByScalar, packed, beta: beta, c: &scalar, ldc: n, threads: 1, useHardware: false)
                XCTAssertEqual(vector.map(\.bitPattern), scalar.map(\.bitPattern), "m \(m) n \(n) k \(k) beta \(beta)")
            }
        }
    }

    /// The vector rounding (row-major and transposed, by gathers) and the vector packing of a row-major
    /// B (a weight gradient's activation) give the scalar paths' bits, on strided operands with partial
    /// panels, an odd k, and values at rounding ties.
    func testVectorRoundingAndPackingAreBitwiseTheScalarPaths() throws {
        try XCTSkipUnless(BFloat16GEMM.hardwareAvailable, "this CPU has no AVX512_BF16; only the scalar paths run")
        for (index, (rows, columns)) in [(37, 45), (16, 16), (1, 1), (70, 33), (5, 200)].enumerated() {
            for transposed in [false, true] {
                let ld = (transposed ? rows : columns) + 3
                var a = randomArray((transposed ? columns : rows) * ld, seed: UInt64(70 + index))
                for i in stride(from: 0, to: a.count, by: 7) {
                    a[i] = Float(bitPattern: a[i].bitPattern & 0xffff_0000 | 0x8000)
                }  // ties
                let vector = BFloat16GEMM.round(
                    rows: rows, columns: columns, a: a, lda: ld, transA: transposed, useHardware: true)
                let scalar = BFloat16GEMM.round(
                    rows: rows, columns: columns, a: a, lda: ld, transA: transposed, useHardware: false)
                XCTAssertEqual(vector.storage, scalar.storage, "round \(rows)×\(columns) transposed \(transposed)")
                // The same values as B (k = rows, n = columns), row-major or transposed.
                let packedByVector = BFloat16GEMM.pack(
                    k: rows, n: columns, b: a, ldb: ld, transB: transposed, useHardware: true)
                let packedByScalar = BFloat16GEMM.pack(
                    k: rows, n: columns, b: a, ldb: ld, transB: transposed, useHardware: false)
                XCTAssertEqual(
                    packedByVector.storage, packedByScalar.storage, "pack \(rows)×\(columns) transposed \(transposed)")
            }
        }
    }

    /// AMX tiles sum the same exact products in another order: within fp32 summation error of the
    /// float64 sums, on shapes with rows past the last 16-row block, a k that is no multiple of 32
    /// (the tail tiles), columns past the last 16, and a beta that keeps or scales C.
    func testAMXKernelWithinFloatSummationOfFloat64() throws {
        try XCTSkipUnless(
            BFloat16GEMM.amxAvailable, "this CPU has no AMX-BF16; the vdpbf16ps and scalar paths are tested above")
        for (index, (m, n, k)) in (shapes + [(m: 200, n: 96, k: 768), (m: 64, n: 40, k: 33), (m: 97, n: 16, k: 64)])
            .enumerated()
        {
            let a = randomArray(m * k, seed: UInt64(90 + index)), b = randomArray(n * k, seed: UInt64(95 + index))
            let c0 = randomArray(m * n, seed: 99)
            let rounded = BFloat16GEMM.round(rows: m, columns: k, a: a, lda: k)
            let packed = BFloat16GEMM.pack(k: k, n: n, b: b, ldb: k, transB: true)
            for beta: Float in [0, 1, 0.5] {
                var c = c0
                BFloat16GEMM.gemm(rounded, packed, beta: beta, c: &c, ldc: n, threads: 2, amx: true)
                for i in 0..<m {
                    for j in 0..<n {
                        var sum = 0.0, magnitude = 0.0
                        for p in 0..<k {
                            let product = Double(bf16(a[i * k + p])) * Double(bf16(b[j * k + p]))
                            sum += product
                            magnitude += abs(product)
                        }
                        let old = Double(beta) * Double(c0[i * n + j])
                        let bound = Double(k + 2) * 0x1p-24 * (magnitude + abs(old)) + 1e-30
                        XCTAssertEqual(
                            Double(c[i * n + j]), sum + old, accuracy: bound,
                            "m \(m) n \(n) k \(k) beta \(beta) at (\(i), \(j))")
                    }
                }
            }
        }
    }

    func testRoundingIsHalfPrecisionSwiftRounding() {
        // The C rounding (scalar and vcvtneps2bf16) against HalfPrecision.swift's: ties to even, values
        // past bf16's largest finite one, infinities, NaN, signed zero, and the zero padding of an odd row.
        let ulp = Float(1) / 128
        let specials: [Float] = [
            1 + ulp / 2, 1 + 3 * ulp / 2, 1 + ulp / 2 + ulp / 64, -3, .greatestFiniteMagnitude,
            .infinity, -.infinity, .nan, -0.0, 0, 1e-30, -65504, 0.1,
        ]
        let rows = 3, columns = 21  // odd
        let values = specials + randomArray(rows * columns - specials.count, seed: 80, scale: 100)
        for hardware in [false] + (BFloat16GEMM.hardwareAvailable ? [true] : []) {
            let matrix = BFloat16GEMM.round(
                rows: rows, columns: columns, a: values, lda: columns, useHardware: hardware)
            XCTAssertEqual(matrix.stride, columns + 1, "an odd row is padded to an even stride")
            for i in 0..<rows {
                for j in 0..<columns {
                    let value = values[i * columns + j], bits = matrix.storage[i * matrix.stride + j]
                    if value.isNaN { XCTAssertTrue(floatFromBFloat16Bits(bits).isNaN); continue }
                    XCTAssertEqual(bits, bfloat16Bits(from: value), "\(value) (hardware \(hardware))")
                }
                XCTAssertEqual(matrix.storage[i * matrix.stride + columns], 0, "padding is zero")
            }
        }
        XCTAssertEqual(bf16(1 + ulp / 2), 1, "a tie goes to the even neighbour")
        XCTAssertEqual(bf16(.greatestFiniteMagnitude), .infinity)
    }

    private func bf16(_ x: Float) -> Float { floatFromBFloat16Bits(bfloat16Bits(from: x)) }

    func testErrorAgainstFloat32IsBf16Sized() {
        // Rounding both operands to 8 significant bits: each product is off by ≤ 2·2⁻⁹ relative, and the
        // errors of a 768-term sum of random signs grow like √k, far below the worst case.
        let (m, n, k) = (24, 64, 768)
        let a = randomArray(m * k, seed: 70), b = randomArray(n * k, seed: 71)
        var fp32 = [Float](repeating: 0, count: m * n), bf16 = fp32
        BLAS.sgemm(transB: true, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: k, c: &fp32, ldc: n)
        BFloat16GEMM.gemm(
            BFloat16GEMM.round(rows: m, columns: k, a: a, lda: k),
            BFloat16GEMM.pack(k: k, n: n, b: b, ldb: k, transB: true),
            c: &bf16, ldc: n)
        let largest = fp32.map(abs).max()!
        let error = zip(fp32, bf16).map { abs($0 - $1) }.max()!
        XCTAssertLessThan(error / largest, 1e-2)
        XCTAssertGreaterThan(
            error / largest, 1e-5, "bf16 rounding must show: the test would pass on an fp32 kernel otherwise")
    }
}

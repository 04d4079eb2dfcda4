import XCTest
import _TestSupport

@testable import Numerics

/// A Linear layer at bf16 (`LinearCompute`): forward and backward against float64 sums of the
/// bf16-rounded operands (which catches a wrong orientation or a wrong operand exactly), and against
/// the fp32 reference (`linearForward` / `linearBackward`) within what the rounding costs.
final class LinearComputeTests: XCTestCase {
    /// (M, I, O): the weight gradient takes its O ≤ I path (dout transposed) and its O > I path (inp
    /// transposed, the product added transposed); sizes leave partial tiles and odd k.
    let shapes = [(M: 37, I: 45, O: 13), (M: 50, I: 7, O: 33), (M: 16, I: 32, O: 32), (M: 3, I: 1, O: 5)]

    /// x rounded to bf16 (nearest even) and back, through the GEMM's own rounding.
    func rounded(_ x: [Float]) -> [Double] {
        let matrix = BFloat16GEMM.round(rows: 1, columns: x.count, a: x, lda: max(1, x.count), useHardware: false)
        return (0..<x.count).map { Double(Float(bitPattern: UInt32(matrix.storage[$0]) << 16)) }
    }

    /// C (m, n) = Σ_p A[i, p] B[p, j] in float64, A and B given by element functions.
    func product(m: Int, n: Int, k: Int, _ a: (Int, Int) -> Double, _ b: (Int, Int) -> Double) -> [Double] {
        var c = [Double](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n { var s = 0.0; for p in 0..<k { s += a(i, p) * b(p, j) }; c[i * n + j] = s } }
        return c
    }

    func assertNear(_ actual: [Float], _ expected: [Double], _ message: String, line: UInt = #line) {
        let scale = expected.map(abs).max() ?? 0
        let worst = zip(actual, expected).map { abs(Double($0) - $1) }.max() ?? 0
        XCTAssertLessThanOrEqual(
            worst, 1e-5 * max(scale, 1e-30), "\(message): max |Δ| \(worst) of max |C| \(scale)", line: line)
    }

    func testBFloat16LayerEqualsFloat64SumsOfRoundedOperands() {
        for (index, (M, I, O)) in shapes.enumerated() {
            let seed = UInt64(100 * index)
            let x = randomArray(M * I, seed: seed), w = randomArray(O * I, seed: seed + 1),
                bias = randomArray(O, seed: seed + 2)
            let dy = randomArray(M * O, seed: seed + 3), start = randomArray(M * O, seed: seed + 4)
            let xr = rounded(x), wr = rounded(w), dyr = rounded(dy)
            let layer = LinearCompute(.bf16)
            let name = "M \(M) I \(I) O \(O)"

            // Forward with a bias, then accumulating onto what `out` holds.
            var out = [Float](repeating: .nan, count: M * O)
            layer.forward(out: &out, inp: x, weight: w, bias: bias, rows: M, inFeatures: I, outFeatures: O)
            let xw = product(m: M, n: O, k: I, { xr[$0 * I + $1] }, { wr[$1 * I + $0] })
            assertNear(out, (0..<(M * O)).map { xw[$0] + Double(bias[$0 % O]) }, "forward \(name)")
            out = start
            layer.forward(
                out: &out, inp: x, weight: w, bias: nil, rows: M, inFeatures: I, outFeatures: O, accumulate: true)
            assertNear(out, (0..<(M * O)).map { xw[$0] + Double(start[$0]) }, "forward accumulating \(name)")

            // Backward: dinp overwritten (NaN before) and accumulated; dweight and dbias accumulated.
            let dinpStart = randomArray(M * I, seed: seed + 5), dwStart = randomArray(O * I, seed: seed + 6)
            var dinp = [Float](repeating: .nan, count: M * I), dw = dwStart, db = [Float](repeating: 1, count: O)
            layer.backward(
                dinp: &dinp, dweight: &dw, dbias: &db, dout: dy, inp: x, weight: w,
                rows: M, inFeatures: I, outFeatures: O, overwriteInputGradient: true)
            let dyw = product(m: M, n: I, k: O, { dyr[$0 * O + $1] }, { wr[$0 * I + $1] })
            assertNear(dinp, dyw, "dinp \(name)")
            let dytx = product(m: O, n: I, k: M, { dyr[$1 * O + $0] }, { xr[$0 * I + $1] })
            assertNear(dw, (0..<(O * I)).map { dytx[$0] + Double(dwStart[$0]) }, "dweight \(name)")
            for o in 0..<O {
                let sum = (0..<M).reduce(1.0) { $0 + Double(dy[$1 * O + o]) }
                XCTAssertEqual(Double(db[o]), sum, accuracy: 1e-4 * max(1, abs(sum)), "dbias \(name)")
            }
            dinp = dinpStart
            layer.backward(
                dinp: &dinp, dweight: nil, dbias: nil, dout: dy, inp: x, weight: w, rows: M, inFeatures: I,
                outFeatures: O)
            assertNear(dinp, (0..<(M * I)).map { dyw[$0] + Double(dinpStart[$0]) }, "dinp accumulating \(name)")
        }
    }

    /// The whole layer against fp32: rounding both operands to 8 significant bits moves a sum of k
    /// products by about 2⁻⁸ of its largest term over √k, well inside 1% of the output's range.
    func testBFloat16LayerIsCloseToTheFloat32Reference() {
        for (index, (M, I, O)) in shapes.enumerated() {
            let seed = UInt64(7 + index)
            let x = randomArray(M * I, seed: seed), w = randomArray(O * I, seed: seed + 1),
                dy = randomArray(M * O, seed: seed + 2)
            var fp32 = (
                out: [Float](repeating: 0, count: M * O), dinp: [Float](repeating: 0, count: M * I),
                dw: [Float](repeating: 0, count: O * I)
            )
            var bf16 = fp32
            linearForward(out: &fp32.out, inp: x, weight: w, bias: nil, rows: M, inFeatures: I, outFeatures: O)
            linearBackward(
                dinp: &fp32.dinp, dweight: &fp32.dw, dbias: nil, dout: dy, inp: x, weight: w, rows: M, inFeatures: I,
                outFeatures: O)
            let layer = LinearCompute(.bf16)
            layer.forward(out: &bf16.out, inp: x, weight: w, bias: nil, rows: M, inFeatures: I, outFeatures: O)
            layer.backward(
                dinp: &bf16.dinp, dweight: &bf16.dw, dbias: nil, dout: dy, inp: x, weight: w, rows: M, inFeatures: I,
                outFeatures: O)
            assertClose(bf16.out, fp32.out, rtol: 1e-2, "forward M \(M) I \(I) O \(O)")
            assertClose(bf16.dinp, fp32.dinp, rtol: 1e-2, "dinp M \(M) I \(I) O \(O)")
            assertClose(bf16.dw, fp32.dw, rtol: 1e-2, "dweight M \(M) I \(I) O \(O)")
        }
    }

    /// fp32 is the reference functions themselves, bit for bit, and needs no scratch.
    func testFloat32LayerIsTheReference() {
        let (M, I, O) = (9, 11, 5)
        let x = randomArray(M * I, seed: 1), w = randomArray(O * I, seed: 2), dy = randomArray(M * O, seed: 3)
        var a = [Float](repeating: 0, count: M * O), b = a, da = [Float](repeating: 0, count: O * I), db = da
        linearForward(out: &a, inp: x, weight: w, bias: nil, rows: M, inFeatures: I, outFeatures: O)
        LinearCompute(.fp32).forward(out: &b, inp: x, weight: w, bias: nil, rows: M, inFeatures: I, outFeatures: O)
        linearBackward(
            dinp: nil, dweight: &da, dbias: nil, dout: dy, inp: x, weight: w, rows: M, inFeatures: I, outFeatures: O)
        LinearCompute(.fp32).backward(
            dinp: nil, dweight: &db, dbias: nil, dout: dy, inp: x, weight: w, rows: M, inFeatures: I, outFeatures: O)
        XCTAssertEqual(a, b)
        XCTAssertEqual(da, db)
        XCTAssertEqual(LinearCompute(.fp32).scratchBytes(layers: [(M, I, O)]), 0)
    }

    /// The scratch estimate covers what a layer's calls leave allocated.
    func testScratchEstimateCoversTheBuffers() {
        for (M, I, O) in shapes {
            let layer = LinearCompute(.bf16)
            let x = randomArray(M * I, seed: 1), w = randomArray(O * I, seed: 2), dy = randomArray(M * O, seed: 3)
            var out = [Float](repeating: 0, count: M * O), dinp = [Float](repeating: 0, count: M * I),
                dw = [Float](repeating: 0, count: O * I)
            layer.forward(out: &out, inp: x, weight: w, bias: nil, rows: M, inFeatures: I, outFeatures: O)
            layer.backward(
                dinp: &dinp, dweight: &dw, dbias: nil, dout: dy, inp: x, weight: w, rows: M, inFeatures: I,
                outFeatures: O)
            XCTAssertEqual(layer.allocatedBytes, layer.scratchBytes(layers: [(M, I, O)]), "M \(M) I \(I) O \(O)")
        }
    }
}

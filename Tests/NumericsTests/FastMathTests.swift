import Foundation
import Numerics
import XCTest

/// The vectorisable exp and normal CDF against libm in Double.
final class FastMathTests: XCTestCase {
    func testFastExpRelativeError() {
        var worst = 0.0
        var x: Float = -87
        while x <= 88 {
            let expected = exp(Double(x))
            worst = max(worst, abs(Double(fastExp(x)) - expected) / expected)
            x += 0.0137
        }
        XCTAssertLessThan(worst, 3e-7)
        XCTAssertEqual(fastExp(0), 1)
        XCTAssertLessThan(fastExp(-.infinity), 1e-37)  // clamped, never NaN
        XCTAssertFalse(fastExp(.infinity).isNaN)
    }

    /// The 16-lane exp gives the scalar one's bits in every lane, and the row helper the same values
    /// and their sum, whatever the tail length.
    func testSixteenLaneExpEqualsScalar() {
        var x: Float = -90
        while x <= 90 {
            let lanes = SIMD16<Float>((0..<16).map { x + Float($0) * 0.173 })
            let vector = fastExp(lanes)
            for i in 0..<16 { XCTAssertEqual(vector[i].bitPattern, fastExp(lanes[i]).bitPattern, "x = \(lanes[i])") }
            x += 2.9
        }
        for n in [0, 5, 16, 37, 197] {
            var row = (0..<n).map { Float($0 % 23) * 0.37 - 4 }
            let expected = row.map { fastExp($0 - 1.5) }
            let input = row
            let total = row.withUnsafeMutableBufferPointer {
                exponentiateShifted($0.baseAddress!, into: $0.baseAddress!, count: n, shift: 1.5)
            }
            XCTAssertEqual(row, expected, "n = \(n)")
            // Scaled, into another buffer: softmax's e^(scale·x − shift).
            var scaled = [Float](repeating: .nan, count: n)
            _ = exponentiateShifted(input, into: &scaled, count: n, scale: 0.7, shift: 1.5)
            XCTAssertEqual(scaled, input.map { fastExp($0 * 0.7 - 1.5) }, "n = \(n), scaled")
            XCTAssertEqual(
                Double(total), expected.reduce(0.0) { $0 + Double($1) }, accuracy: 1e-5 * max(1, Double(total)),
                "n = \(n)")
        }
    }

    /// GELU's 16-lane normal CDF and density give the scalar functions' bits, and so GELU forward and
    /// backward the same values whether an element falls in a vector or in the tail.
    func testSixteenLaneNormalEqualsScalar() {
        var x: Float = -12
        while x <= 12 {
            let lanes = SIMD16<Float>((0..<16).map { x + Float($0) * 0.0371 })
            let cdf = normalCDF(lanes), pdf = normalPDF(lanes)
            for i in 0..<16 {
                XCTAssertEqual(cdf[i].bitPattern, normalCDF(lanes[i]).bitPattern, "Φ(\(lanes[i]))")
                XCTAssertEqual(pdf[i].bitPattern, normalPDF(lanes[i]).bitPattern, "φ(\(lanes[i]))")
            }
            x += 0.61
        }
        let inputs = (0..<37).map { Float($0) * 0.31 - 5 } + [0, -0.0]
        var vectorised = [Float](repeating: 0, count: inputs.count)
        geluForward(out: &vectorised, inp: inputs, count: inputs.count)
        XCTAssertEqual(vectorised, inputs.map { $0 * normalCDF($0) })
    }

    func testNormalCDFMatchesErfcOnBothTails() {
        // In the far tail the Float rounding of z² inside exp dominates (ulp(z²)·1 relative).
        var worstCore = 0.0, worstTail = 0.0
        var x: Float = -12
        while x <= 12 {
            let expected = 0.5 * erfc(-Double(x) / 2.0.squareRoot())
            let error = abs(Double(normalCDF(x)) - expected) / expected
            if abs(x) <= 5 { worstCore = max(worstCore, error) } else { worstTail = max(worstTail, error) }
            x += 0.00731
        }
        XCTAssertLessThan(worstCore, 3e-6, "relative error of Φ on [-5, 5]")
        XCTAssertLessThan(worstTail, 5e-5, "relative error of Φ in the tails, down to Φ(-12) ≈ 2e-33")
    }

    func testGELUMatchesExactFormula() {
        var worst = 0.0
        var x: Float = -10
        while x <= 10 {
            var y: Float = 0
            var input = x
            geluForward(out: &y, inp: &input, count: 1)
            let expected = 0.5 * Double(x) * (1 + erf(Double(x) / 2.0.squareRoot()))
            worst = max(worst, abs(Double(y) - expected) / max(abs(expected), 1e-3))
            x += 0.01
        }
        XCTAssertLessThan(worst, 2e-6)
    }
}

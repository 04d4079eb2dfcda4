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
        XCTAssertLessThan(fastExp(-.infinity), 1e-37)   // clamped, never NaN
        XCTAssertFalse(fastExp(.infinity).isNaN)
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

import Foundation

/// Sample statistics and the paired t-test that `hpsweep compare` reports.
public enum Statistics {
    public static func mean(_ xs: [Double]) -> Double { xs.reduce(0, +) / Double(xs.count) }

    /// Sample standard deviation (n − 1 in the denominator); 0 for fewer than two values.
    public static func standardDeviation(_ xs: [Double]) -> Double {
        guard xs.count > 1 else { return 0 }
        let m = mean(xs)
        return (xs.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(xs.count - 1)).squareRoot()
    }

    public struct TTest: Equatable {
        public let n: Int
        public let meanDifference: Double
        public let t: Double
        public let degreesOfFreedom: Int
        /// Two-sided p-value.
        public let p: Double
    }

    /// The paired t-test of `b − a` (Student 1908): t = mean(d) / (sd(d)/√n) with n − 1 degrees of
    /// freedom. Nil for fewer than `minimumPairs` pairs. Identical pairs give p = 1; a constant
    /// non-zero difference gives p = 0.
    public static func pairedTTest(_ a: [Double], _ b: [Double], minimumPairs: Int = 3) -> TTest? {
        precondition(a.count == b.count, "pairedTTest: \(a.count) vs \(b.count) values")
        guard a.count >= max(2, minimumPairs) else { return nil }
        let d = zip(a, b).map { $1 - $0 }
        let m = mean(d), sd = standardDeviation(d), n = d.count
        if sd == 0 {
            return TTest(
                n: n, meanDifference: m, t: m == 0 ? 0 : (m > 0 ? .infinity : -.infinity), degreesOfFreedom: n - 1,
                p: m == 0 ? 1 : 0)
        }
        let t = m / (sd / Double(n).squareRoot())
        return TTest(
            n: n, meanDifference: m, t: t, degreesOfFreedom: n - 1, p: studentTTwoSidedP(t, degreesOfFreedom: n - 1))
    }

    /// P(|T| ≥ |t|) for Student's t with ν degrees of freedom: I_{ν/(ν+t²)}(ν/2, 1/2).
    public static func studentTTwoSidedP(_ t: Double, degreesOfFreedom nu: Int) -> Double {
        let v = Double(nu)
        return regularizedIncompleteBeta(v / (v + t * t), a: v / 2, b: 0.5)
    }

    /// I_x(a, b) by its continued fraction (modified Lentz), using the symmetry
    /// I_x(a, b) = 1 − I_{1−x}(b, a) where the fraction converges slowly.
    public static func regularizedIncompleteBeta(_ x: Double, a: Double, b: Double) -> Double {
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let logGammas: Double = lgamma(a + b) - lgamma(a) - lgamma(b)
        let logPowers: Double = a * log(x) + b * log(1 - x)
        let logFront = logGammas + logPowers
        if x > (a + 1) / (a + b + 2) { return 1 - regularizedIncompleteBeta(1 - x, a: b, b: a) }
        let tiny = 1e-300
        var c = 1.0, d = 1 - (a + b) * x / (a + 1)
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var f = d
        for m in 1...300 {
            let m = Double(m)
            // Even step, then odd step of the fraction.
            var numerator = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
            d = 1 + numerator * d; if abs(d) < tiny { d = tiny }
            c = 1 + numerator / c; if abs(c) < tiny { c = tiny }
            d = 1 / d; f *= d * c
            numerator = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
            d = 1 + numerator * d; if abs(d) < tiny { d = tiny }
            c = 1 + numerator / c; if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            f *= delta
            if abs(delta - 1) < 1e-14 { break }
        }
        return exp(logFront) * f / a
    }
}

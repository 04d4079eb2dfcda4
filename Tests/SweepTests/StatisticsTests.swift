import Foundation
import Sweep
import XCTest

/// Student t and the incomplete beta function against scipy (values from scipy.stats / scipy.special 1.x).
final class StatisticsTests: XCTestCase {
    func testStudentTPValuesMatchScipy() {
        // 2 * scipy.stats.t.sf(|t|, df)
        let cases: [(Double, Int, Double)] = [
            (2.0, 10, 0.07338803477074037), (2.228138851964932, 10, 0.05000000000180919),
            (0.5, 3, 0.651447964848151), (5.0, 2, 0.037749551350623724), (1.0, 1, 0.5000000000000001),
            (3.5, 30, 0.0014768074376442532), (-2.0, 10, 0.07338803477074037),
        ]
        for (t, df, p) in cases {
            XCTAssertEqual(
                Statistics.studentTTwoSidedP(t, degreesOfFreedom: df), p, accuracy: 1e-12, "t \(t), df \(df)")
        }
        // scipy.special.betainc(a, b, x)
        XCTAssertEqual(Statistics.regularizedIncompleteBeta(0.3, a: 2.5, b: 0.5), 0.018927124071945658, accuracy: 1e-13)
        XCTAssertEqual(Statistics.regularizedIncompleteBeta(0.9, a: 0.5, b: 3.0), 0.9996750253207289, accuracy: 1e-13)
        XCTAssertEqual(Statistics.regularizedIncompleteBeta(0.25, a: 10, b: 20), 0.16630494959787945, accuracy: 1e-13)
    }

    func testPairedTTestMatchesScipy() throws {
        // scipy.stats.ttest_rel(b, a) = (3.086974532565163, 0.036681989400440936), df 4
        let a = [0.81, 0.79, 0.84, 0.80, 0.83], b = [0.84, 0.80, 0.86, 0.83, 0.83]
        let test = try XCTUnwrap(Statistics.pairedTTest(a, b))
        XCTAssertEqual(test.t, 3.086974532565163, accuracy: 1e-9)
        XCTAssertEqual(test.p, 0.036681989400440936, accuracy: 1e-9)
        XCTAssertEqual(test.degreesOfFreedom, 4)
        XCTAssertNil(Statistics.pairedTTest([1, 2], [2, 3]), "two pairs are not enough")
        XCTAssertEqual(Statistics.pairedTTest([1, 2, 3], [1, 2, 3])?.p, 1, "no difference")
        XCTAssertEqual(Statistics.pairedTTest([1, 2, 3], [2, 3, 4])?.p, 0, "a constant difference")
        XCTAssertEqual(
            Statistics.standardDeviation([2, 4, 4, 4, 5, 5, 7, 9]), (32.0 / 7).squareRoot(), accuracy: 1e-12)
    }
}

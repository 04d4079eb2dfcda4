import XCTest

@testable import Cache

/// Which rows each token policy keeps, for a backbone with registers (class, registers, patches).
final class TokenPolicyTests: XCTestCase {
    func testPoliciesSkipRegistersWhereTheyShould() {
        // 2 examples × (1 class + 2 registers + 3 patches) tokens × width 2; row t of example e holds (100e + t, -t).
        let tokens = 6, width = 2, registers = 2
        let source = (0..<2).flatMap { e in (0..<tokens).flatMap { t in [Float(100 * e + t), Float(-t)] } }
        func select(_ policy: TokenPolicy, kept: Int) -> [Float] {
            var out = [Float](repeating: .nan, count: 2 * kept * width)
            source.withUnsafeBufferPointer { s in
                out.withUnsafeMutableBufferPointer { o in
                    BackboneStream.selectTokens(
                        policy, from: s.baseAddress!, examples: 2, tokens: tokens, registers: registers,
                        width: width, into: o.baseAddress!)
                }
            }
            return out
        }
        XCTAssertEqual(select(.cls, kept: 1), [0, 0, 100, 0])
        XCTAssertEqual(select(.mean, kept: 1), [4, -4, 104, -4], "the mean of patches 3, 4, 5 only")
        XCTAssertEqual(
            select(.allWithoutRegisters, kept: 4), [0, 0, 3, -3, 4, -4, 5, -5, 100, 0, 103, -3, 104, -4, 105, -5])
    }
}

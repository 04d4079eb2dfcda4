import Foundation
import Numerics
import XCTest

/// Training threads flush subnormal floats to zero: a `last` trial whose attention produced them ran
/// its epochs 5.5× slower (docs/benchmarks.md), with the same results to the bit once they were flushed.
final class SubnormalsTests: XCTestCase {
    func testEveryThreadOfParallelForFlushesSubnormals() {
        let lock = NSLock()
        var flushed: [Bool] = []
        var products: [Float] = []
        parallelFor(8) { _ in
            let tiny = Float(bitPattern: 0x0080_0000)  // the smallest normal float, 1.2e-38
            var half: Float = 0.5
            withUnsafeMutablePointer(to: &half) { _ in }  // (keep the product from being folded at compile time)
            let product = tiny * half  // subnormal, unless flushed
            lock.lock()
            flushed.append(Subnormals.areFlushed)
            products.append(product)
            lock.unlock()
        }
        XCTAssertEqual(flushed, Array(repeating: true, count: 8))
        XCTAssertEqual(products, Array(repeating: 0, count: 8), "a subnormal result reads as zero")
    }
}

import Essentials
import Numerics
import XCTest

/// fp16 and bf16 conversions: exhaustive against Swift's Float16 where the platform has it, and
/// against round-to-nearest-even worked out in Double for bf16.
final class HalfPrecisionTests: XCTestCase {
    #if arch(x86_64) || arch(arm64)
        func testEveryHalfDecodesLikeFloat16() {
            for bits in 0...UInt16.max {
                let expected = Float(Float16(bitPattern: bits))
                let actual = floatFromHalfBits(bits)
                if expected.isNaN { XCTAssertTrue(actual.isNaN, "bits \(bits)"); continue }
                XCTAssertEqual(actual.bitPattern, expected.bitPattern, "bits \(String(bits, radix: 16))")
            }
        }

        func testEncodingRoundsLikeFloat16() {
            var rng = SeededRNG(seed: 9)
            var samples: [Float] = [
                0, -0.0, 1, -1, 65504, 65519.99, 65520, -65520, 1e10, .infinity, -.infinity,
                Float.leastNonzeroMagnitude, 5.960_464_5e-8, 2.980_232_2e-8, 2.980_233e-8, 6.103_515_6e-5,
                6.097_555e-5, 1.000_488_3, 1.000_976_6, 3.1415927,
            ]
            for _ in 0..<200_000 {
                // Random bit patterns cover every exponent; scaled ones concentrate on fp16's range.
                samples.append(Float(bitPattern: UInt32(truncatingIfNeeded: rng.next())))
                samples.append(rng.nextNormal() * Float(1 << Int(rng.next() % 20)) * 1e-4)
            }
            for value in samples {
                let expected = Float16(value)
                let actual = halfBits(from: value)
                if value.isNaN { XCTAssertTrue(floatFromHalfBits(actual).isNaN); continue }
                XCTAssertEqual(actual, expected.bitPattern, "value \(value)")
            }
        }
    #endif

    func testHalfRoundTripIsExact() {
        for bits in 0...UInt16.max where !floatFromHalfBits(bits).isNaN {
            XCTAssertEqual(halfBits(from: floatFromHalfBits(bits)), bits)
        }
    }

    func testBFloat16RoundsToNearestEven() {
        var rng = SeededRNG(seed: 10)
        for _ in 0..<200_000 {
            let value = Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()))
            let bits = bfloat16Bits(from: value)
            let decoded = floatFromBFloat16Bits(bits)
            if value.isNaN { XCTAssertTrue(decoded.isNaN); continue }
            // The two bf16 neighbours of value, and the nearer one (ties to the even mantissa).
            let down = Float(bitPattern: value.bitPattern & 0xFFFF_0000)
            let up = Float(bitPattern: (value.bitPattern & 0xFFFF_0000) &+ 0x1_0000)
            // Past the largest bf16 the upper neighbour is +inf, standing for 2^128 when rounding.
            let upValue = up.isInfinite ? (value < 0 ? -0x1p128 : 0x1p128) : Double(up)
            let dDown = abs(Double(value) - Double(down)), dUp = abs(Double(value) - upValue)
            let expected: Float
            if up.isNaN || dDown < dUp {
                expected = down
            } else if dUp < dDown {
                expected = up
            } else {
                expected = (down.bitPattern >> 16) & 1 == 0 ? down : up
            }
            XCTAssertEqual(decoded.bitPattern, expected.bitPattern, "value \(value)")
        }
        XCTAssertEqual(floatFromBFloat16Bits(bfloat16Bits(from: .infinity)), .infinity)
        XCTAssertEqual(floatFromBFloat16Bits(bfloat16Bits(from: -0.0)).bitPattern, (-0.0 as Float).bitPattern)
        XCTAssertEqual(
            floatFromBFloat16Bits(bfloat16Bits(from: .greatestFiniteMagnitude)), .infinity,
            "rounds up past the largest bf16")
    }

    func testBulkDecodeEncodeAllTypes() {
        let values: [Float] = [0, 1, -2.5, 1024, 0.333_333_34]
        for type in ScalarType.allCases {
            var bytes = [UInt8](repeating: 0, count: values.count * type.byteCount + 1)
            // Offset by one byte: decoding must not assume alignment.
            bytes.withUnsafeMutableBytes { raw in type.encode(values, count: values.count, into: raw.baseAddress! + 1) }
            var decoded = [Float](repeating: 0, count: values.count)
            bytes.withUnsafeBytes { raw in type.decode(raw.baseAddress! + 1, count: values.count, into: &decoded) }
            for (a, b) in zip(decoded, values) { XCTAssertEqual(a, b, accuracy: abs(b) * 4e-3, "\(type)") }
        }
    }
}

// IEEE binary16 (fp16) and bfloat16 <-> Float conversion, bit-exact and independent of the platform's
// Float16 support (which Swift lacks on some targets). Rounding is to nearest, ties to even, as in
// PyTorch's `.half()` / `.bfloat16()`; NaN stays NaN (quiet), ±inf and ±0 are preserved.

/// The Float value of fp16 bits (exact: every fp16 is a Float).
@inlinable @inline(__always)
public func floatFromHalfBits(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let exponent = UInt32(h >> 10) & 0x1F
    let mantissa = UInt32(h & 0x3FF)
    if exponent == 0x1F {  // inf / NaN
        return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
    }
    if exponent == 0 {  // zero / subnormal: mantissa · 2^-24
        let magnitude = Float(mantissa) * 5.960_464_5e-8
        return Float(bitPattern: sign | magnitude.bitPattern)
    }
    return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
}

/// fp16 bits of `value`, rounded to nearest even; beyond ±65504 (after rounding) gives ±inf.
@inlinable @inline(__always)
public func halfBits(from value: Float) -> UInt16 {
    let bits = value.bitPattern
    let sign = UInt16(truncatingIfNeeded: (bits >> 16) & 0x8000)
    let magnitude = bits & 0x7FFF_FFFF
    if magnitude >= 0x7F80_0000 {  // inf / NaN (NaN keeps its top payload bits, made quiet)
        let payload = magnitude > 0x7F80_0000 ? (0x200 | UInt16(truncatingIfNeeded: (magnitude >> 13) & 0x3FF)) : 0
        return sign | 0x7C00 | payload
    }
    if magnitude >= 0x477F_F000 { return sign | 0x7C00 }  // >= 65520 rounds to inf
    if magnitude < 0x3880_0000 {  // below 2^-14: fp16 subnormal or zero
        let scaled = (Float(bitPattern: magnitude) * 16_777_216).rounded(.toNearestOrEven)  // in units of 2^-24
        return sign | UInt16(scaled)  // 1024 correctly becomes the smallest normal
    }
    let rebased = magnitude &- (112 << 23)  // rebias exponent 127 -> 15
    let roundingBias = ((rebased >> 13) & 1) &+ 0xFFF
    return sign | UInt16(truncatingIfNeeded: (rebased &+ roundingBias) >> 13)
}

/// The Float value of bfloat16 bits (exact: bf16 is Float's top half).
@inlinable @inline(__always)
public func floatFromBFloat16Bits(_ b: UInt16) -> Float {
    Float(bitPattern: UInt32(b) << 16)
}

/// bfloat16 bits of `value`, rounded to nearest even; NaN stays a quiet NaN.
@inlinable @inline(__always)
public func bfloat16Bits(from value: Float) -> UInt16 {
    let bits = value.bitPattern
    if value.isNaN { return UInt16(truncatingIfNeeded: bits >> 16) | 0x0040 }
    let roundingBias = ((bits >> 16) & 1) &+ 0x7FFF
    return UInt16(truncatingIfNeeded: (bits &+ roundingBias) >> 16)
}

/// Storage element types of weight files and caches.
public enum ScalarType: String, Sendable, CaseIterable {
    case float32 = "F32"
    case float16 = "F16"
    case bfloat16 = "BF16"

    /// Bytes per element.
    public var byteCount: Int { self == .float32 ? 4 : 2 }

    /// Decodes `count` little-endian elements at `source` (any alignment) into Floats.
    public func decode(_ source: UnsafeRawPointer, count: Int, into destination: UnsafeMutablePointer<Float>) {
        switch self {
        case .float32:
            for i in 0..<count {
                destination[i] = Float(
                    bitPattern: UInt32(littleEndian: source.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
            }
        case .float16:
            #if (arch(x86_64) || arch(arm64)) && !os(macOS)
                // The hardware conversion (F16C's vcvtph2ps when built for it), vectorised by LLVM; it is
                // bit-identical to floatFromHalfBits (HalfPrecisionTests checks every fp16 value).
                for i in 0..<count {
                    destination[i] = Float(
                        Float16(
                            bitPattern: UInt16(
                                littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))))
                }
            #else
                for i in 0..<count {
                    destination[i] = floatFromHalfBits(
                        UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
                }
            #endif
        case .bfloat16:
            for i in 0..<count {
                destination[i] = floatFromBFloat16Bits(
                    UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
            }
        }
    }

    /// Encodes `count` Floats as little-endian elements at `destination` (any alignment).
    public func encode(_ source: UnsafePointer<Float>, count: Int, into destination: UnsafeMutableRawPointer) {
        switch self {
        case .float32:
            for i in 0..<count {
                destination.storeBytes(of: source[i].bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self)
            }
        case .float16:
            #if (arch(x86_64) || arch(arm64)) && !os(macOS)
                // Hardware round-to-nearest-even (vcvtps2ph), equal to halfBits(from:) on every input.
                for i in 0..<count {
                    destination.storeBytes(
                        of: Float16(source[i]).bitPattern.littleEndian, toByteOffset: 2 * i, as: UInt16.self)
                }
            #else
                for i in 0..<count {
                    destination.storeBytes(
                        of: halfBits(from: source[i]).littleEndian, toByteOffset: 2 * i, as: UInt16.self)
                }
            #endif
        case .bfloat16:
            for i in 0..<count {
                destination.storeBytes(
                    of: bfloat16Bits(from: source[i]).littleEndian, toByteOffset: 2 * i, as: UInt16.self)
            }
        }
    }
}

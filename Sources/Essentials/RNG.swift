// A seeded, platform-independent random number generator: xoshiro256** (Blackman & Vigna 2018,
// "Scrambled linear pseudorandom number generators"), seeded through SplitMix64 as its authors
// recommend. Everything random in hpsweep (initialisation, data order, sampling) derives from one
// of these, so a (seed, stream) pair reproduces bit for bit on every machine.

/// SplitMix64 (Steele, Lea, Flood 2014): used to expand seeds and to derive independent streams.
public struct SplitMix64: RandomNumberGenerator {
    public private(set) var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// xoshiro256**: the generator behind every random draw in hpsweep.
public struct SeededRNG: RandomNumberGenerator, Equatable {
    /// The full state; saving and restoring it resumes the stream exactly (checkpoints do this).
    public var state: (UInt64, UInt64, UInt64, UInt64) {
        get { (s0, s1, s2, s3) }
        set { (s0, s1, s2, s3) = newValue }
    }
    @usableFromInline var s0, s1, s2, s3: UInt64

    /// A generator for `seed`; different `stream`s of one seed are independent (e.g. one per trial).
    public init(seed: UInt64, stream: UInt64 = 0) {
        var mixer = SplitMix64(seed: seed ^ (stream &* 0xD1B5_4A32_D192_ED03))
        s0 = mixer.next(); s1 = mixer.next(); s2 = mixer.next(); s3 = mixer.next()
    }

    @inlinable
    public mutating func next() -> UInt64 {
        let result = rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 45)
        return result
    }

    @inlinable @inline(__always)
    func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// Uniform in [0, 1) with 24 random bits (every Float of the form k·2^-24).
    @inlinable
    public mutating func nextUniform() -> Float { Float(next() >> 40) * 0x1p-24 }

    /// Standard normal by Box–Muller (one draw per call; simple and exactly reproducible).
    public mutating func nextNormal() -> Float {
        let u1 = (Double(next() >> 11) + 0.5) * 0x1p-53  // (0, 1): log is finite
        let u2 = Double(next() >> 11) * 0x1p-53
        return Float((-2 * _log(u1)).squareRoot() * _cos(2 * Double.pi * u2))
    }

    /// N(0, std²) truncated to [-bound·std, bound·std] by rejection (timm's trunc_normal_ uses
    /// std 0.02 with absolute bounds ±2, i.e. effectively untruncated; pass `bound` for that).
    public mutating func nextTruncatedNormal(std: Float, bound: Float = 2) -> Float {
        while true {
            let z = nextNormal()
            if abs(z) <= bound { return z * std }
        }
    }

    /// Fills `count` floats at `destination` with N(0, std²).
    public mutating func fillNormal(_ destination: UnsafeMutablePointer<Float>, count: Int, std: Float) {
        for i in 0..<count { destination[i] = nextNormal() * std }
    }
}

#if canImport(Glibc)
    import Glibc
    @usableFromInline func _log(_ x: Double) -> Double { Glibc.log(x) }
    @usableFromInline func _cos(_ x: Double) -> Double { Glibc.cos(x) }
#else
    import Foundation
    @usableFromInline func _log(_ x: Double) -> Double { Foundation.log(x) }
    @usableFromInline func _cos(_ x: Double) -> Double { Foundation.cos(x) }
#endif

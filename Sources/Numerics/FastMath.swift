// Branch-free exp and normal CDF for Float, written so LLVM vectorises the loops that call them
// (libm's expf/erff are opaque calls and keep the GELU and softmax loops scalar). Accuracy is
// checked against Foundation's exp/erf in FastMathTests.

/// e^x with relative error below ~2e-7 on [-87, 88]; inputs outside are clamped (so exp(-inf) is
/// ~1e-38 rather than 0, harmless for softmax after max-subtraction).
@inlinable @inline(__always)
public func fastExp(_ x: Float) -> Float {
    let clamped = min(max(x, -87.0), 88.0)
    // n = round(x / ln 2) by the 1.5·2^23 trick: adding it leaves n in the low mantissa bits.
    let shifter: Float = 12_582_912.0
    let biased = clamped * 1.442_695_04 + shifter
    let n = biased - shifter
    // r = x - n·ln2 in two parts (Cody–Waite) so r keeps full precision; |r| <= ln2/2.
    let r = (clamped - n * 0.693_145_75) - n * 1.428_606_8e-6
    // Degree-7 Taylor polynomial of e^r: truncation error < 1e-8 for |r| <= 0.347.
    var p: Float = 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    // 2^n from the integer in biased's low bits (biased.bitPattern = 0x4B400000 + n).
    let twoToN = Float(bitPattern: (biased.bitPattern &- 0x4B40_0000 &+ 127) &<< 23)
    return p * twoToN
}

/// `fastExp` on 16 lanes, the same operations in the same order per lane (so the same bits as the
/// scalar function). Written out because LLVM vectorises the scalar loops only 8 lanes wide on
/// AVX-512 CPUs (it prefers 256-bit vectors there); explicit 16-lane vectors use the whole register.
@inlinable @inline(__always)
public func fastExp(_ x: SIMD16<Float>) -> SIMD16<Float> {
    // Masked replacement, not `clamped(lowerBound:upperBound:)`, which compiles to a loop over lanes.
    var clamped = x
    clamped.replace(with: -87.0, where: clamped .< -87.0)
    clamped.replace(with: 88.0, where: clamped .> 88.0)
    let shifter = SIMD16<Float>(repeating: 12_582_912.0)
    let biased = clamped * 1.442_695_04 + shifter
    let n = biased - shifter
    let r = (clamped - n * 0.693_145_75) - n * 1.428_606_8e-6
    var p = SIMD16<Float>(repeating: 1.0 / 5040.0)
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    let bits = unsafeBitCast(biased, to: SIMD16<UInt32>.self)
    let twoToN = unsafeBitCast((bits &- 0x4B40_0000 &+ 127) &<< 23, to: SIMD16<Float>.self)
    return p * twoToN
}

/// y[i] = e^(scale · x[i] − shift) for i < n, returning their sum (one pass, 16 lanes at a time): the
/// exponentials of a softmax row. `y` may be `x` (in place).
@inlinable
public func exponentiateShifted(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count n: Int,
                                scale: Float = 1, shift: Float) -> Float {
    let input = UnsafeRawPointer(x), output = UnsafeMutableRawPointer(y)
    let shifts = SIMD16<Float>(repeating: shift), scales = SIMD16<Float>(repeating: scale)
    var sums = SIMD16<Float>()
    var i = 0
    while i + 16 <= n {
        let e = fastExp(input.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self) * scales - shifts)
        output.storeBytes(of: e, toByteOffset: i * 4, as: SIMD16<Float>.self)
        sums += e
        i += 16
    }
    var total = sums.sum()
    // The last n mod 16 through one vector as well: a softmax row of 197 has 5 left over, and five
    // scalar exponentials cost about as much as the twelve vectors before them.
    if i < n {
        var tail = SIMD16<Float>(repeating: 0)
        for j in 0..<(n - i) { tail[j] = x[i + j] }
        let e = fastExp(tail * scales - shifts)
        for j in 0..<(n - i) { y[i + j] = e[j]; total += e[j] }
    }
    return total
}

/// erfc(z) for z >= 0 with fractional error below 1.2e-7: the Chebyshev fit of
/// Press et al., *Numerical Recipes* (2nd ed., §6.2, `erfcc`).
@inlinable @inline(__always)
public func fastErfcNonNegative(_ z: Float) -> Float {
    let t = 1 / (1 + 0.5 * z)
    var p: Float = 0.170_872_77
    p = p * t - 0.822_152_23
    p = p * t + 1.488_515_87
    p = p * t - 1.135_203_98
    p = p * t + 0.278_868_07
    p = p * t - 0.186_288_06
    p = p * t + 0.096_784_18
    p = p * t + 0.374_091_96
    p = p * t + 1.000_023_68
    p = p * t - 1.265_512_23
    return t * fastExp(p - z * z)
}

/// Φ(x), the standard normal CDF, = ½(1 + erf(x/√2)), accurate in relative terms on both tails.
@inlinable @inline(__always)
public func normalCDF(_ x: Float) -> Float {
    let tail = 0.5 * fastErfcNonNegative(abs(x) * 0.707_106_77)
    return x >= 0 ? 1 - tail : tail
}

/// φ(x), the standard normal density.
@inlinable @inline(__always)
public func normalPDF(_ x: Float) -> Float {
    0.398_942_28 * fastExp(-0.5 * x * x)
}

/// `fastErfcNonNegative`, `normalCDF` and `normalPDF` on 16 lanes, each the scalar function's operations
/// in its order (so the same bits per lane), for the GELU loops (see `fastExp` on 16 lanes for why).
@inlinable @inline(__always)
public func fastErfcNonNegative(_ z: SIMD16<Float>) -> SIMD16<Float> {
    let t = 1 / (1 + 0.5 * z)
    var p = SIMD16<Float>(repeating: 0.170_872_77)
    p = p * t - 0.822_152_23
    p = p * t + 1.488_515_87
    p = p * t - 1.135_203_98
    p = p * t + 0.278_868_07
    p = p * t - 0.186_288_06
    p = p * t + 0.096_784_18
    p = p * t + 0.374_091_96
    p = p * t + 1.000_023_68
    p = p * t - 1.265_512_23
    return t * fastExp(p - z * z)
}

@inlinable @inline(__always)
public func normalCDF(_ x: SIMD16<Float>) -> SIMD16<Float> {
    var magnitude = x
    magnitude.replace(with: -x, where: x .< 0)
    let tail = 0.5 * fastErfcNonNegative(magnitude * 0.707_106_77)
    var result = tail
    result.replace(with: 1 - tail, where: x .>= 0)
    return result
}

@inlinable @inline(__always)
public func normalPDF(_ x: SIMD16<Float>) -> SIMD16<Float> {
    0.398_942_28 * fastExp(-0.5 * x * x)
}

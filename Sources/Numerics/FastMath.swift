// Branch-free exp and normal CDF for Float, on 16 lanes (libm's expf/erff are opaque calls and keep the
// GELU and softmax loops scalar; LLVM vectorises plain scalar loops only 8 wide on AVX-512 CPUs, where
// it prefers 256-bit vectors). Each function is written once, on SIMD16; the scalar forms are its
// lane 0, for the few callers that have one value. Accuracy is checked against Foundation's exp/erf
// in FastMathTests.

/// e^x with relative error below ~2e-7 on [-87, 88]; inputs outside are clamped (so exp(-inf) is
/// ~1e-38 rather than 0, harmless for softmax after max-subtraction).
@inlinable @inline(__always)
public func fastExp(_ x: SIMD16<Float>) -> SIMD16<Float> {
    // Masked replacement, not `clamped(lowerBound:upperBound:)`, which compiles to a loop over lanes.
    var clamped = x
    clamped.replace(with: -87.0, where: clamped .< -87.0)
    clamped.replace(with: 88.0, where: clamped .> 88.0)
    // n = round(x / ln 2) by the 1.5·2^23 trick: adding it leaves n in the low mantissa bits.
    let shifter = SIMD16<Float>(repeating: 12_582_912.0)
    let biased = clamped * 1.442_695_04 + shifter
    let n = biased - shifter
    // r = x - n·ln2 in two parts (Cody–Waite) so r keeps full precision; |r| <= ln2/2.
    let r = (clamped - n * 0.693_145_75) - n * 1.428_606_8e-6
    // Degree-7 Taylor polynomial of e^r: truncation error < 1e-8 for |r| <= 0.347.
    var p = SIMD16<Float>(repeating: 1.0 / 5040.0)
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    // 2^n from the integer in biased's low bits (biased's bit pattern = 0x4B400000 + n).
    let bits = unsafeBitCast(biased, to: SIMD16<UInt32>.self)
    let twoToN = unsafeBitCast((bits &- 0x4B40_0000 &+ 127) &<< 23, to: SIMD16<Float>.self)
    return p * twoToN
}

/// erfc(z) for z >= 0 with fractional error below 1.2e-7: the Chebyshev fit of
/// Press et al., *Numerical Recipes* (2nd ed., §6.2, `erfcc`).
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

/// Φ(x), the standard normal CDF, = ½(1 + erf(x/√2)), accurate in relative terms on both tails.
@inlinable @inline(__always)
public func normalCDF(_ x: SIMD16<Float>) -> SIMD16<Float> {
    var magnitude = x
    magnitude.replace(with: -x, where: x .< 0)
    let tail = 0.5 * fastErfcNonNegative(magnitude * 0.707_106_77)
    var result = tail
    result.replace(with: 1 - tail, where: x .>= 0)
    return result
}

/// φ(x), the standard normal density.
@inlinable @inline(__always)
public func normalPDF(_ x: SIMD16<Float>) -> SIMD16<Float> {
    0.398_942_28 * fastExp(-0.5 * x * x)
}

/// The scalar forms: lane 0 of the vector ones (one value at a time; no hot loop calls them).
@inlinable public func fastExp(_ x: Float) -> Float { fastExp(SIMD16(repeating: x))[0] }
@inlinable public func normalCDF(_ x: Float) -> Float { normalCDF(SIMD16(repeating: x))[0] }
@inlinable public func normalPDF(_ x: Float) -> Float { normalPDF(SIMD16(repeating: x))[0] }

/// Elements 0 ..< min(count, 16) of `x` as a vector, zeros after: the last n mod 16 elements of a loop
/// go through the same 16-lane code as the rest (a scalar tail would be a second copy of it).
@inlinable @inline(__always)
public func loadLanes(_ x: UnsafePointer<Float>, count: Int) -> SIMD16<Float> {
    if count >= 16 { return UnsafeRawPointer(x).loadUnaligned(as: SIMD16<Float>.self) }
    var v = SIMD16<Float>(repeating: 0)
    for j in 0..<count { v[j] = x[j] }
    return v
}

/// Stores lanes 0 ..< min(count, 16) of `v` at `y`.
@inlinable @inline(__always)
public func storeLanes(_ v: SIMD16<Float>, to y: UnsafeMutablePointer<Float>, count: Int) {
    if count >= 16 { UnsafeMutableRawPointer(y).storeBytes(of: v, as: SIMD16<Float>.self); return }
    for j in 0..<count { y[j] = v[j] }
}

/// y[i] = e^(scale · x[i] − shift) for i < n, returning their sum (one pass, 16 lanes at a time): the
/// exponentials of a softmax row. `y` may be `x` (in place).
@inlinable
public func exponentiateShifted(
    _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count n: Int,
    scale: Float = 1, shift: Float
) -> Float {
    let shifts = SIMD16<Float>(repeating: shift), scales = SIMD16<Float>(repeating: scale)
    var sums = SIMD16<Float>()
    var i = 0
    while i + 16 <= n {
        let e = fastExp(loadLanes(x + i, count: 16) * scales - shifts)
        storeLanes(e, to: y + i, count: 16)
        sums += e
        i += 16
    }
    var total = sums.sum()
    if i < n {  // the padding lanes are left out of the sum
        let e = fastExp(loadLanes(x + i, count: n - i) * scales - shifts)
        storeLanes(e, to: y + i, count: n - i)
        for j in 0..<(n - i) { total += e[j] }
    }
    return total
}

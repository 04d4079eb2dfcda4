// Float reductions that vectorise. LLVM may not reorder a scalar `sum += x[i]` loop (that would
// change rounding), so these keep eight partial sums in a SIMD register explicitly.

/// Σ x[i] for i in 0..<n.
@inlinable
public func vectorSum(_ x: UnsafePointer<Float>, count n: Int) -> Float {
    var acc = SIMD8<Float>()
    var i = 0
    let raw = UnsafeRawPointer(x)
    while i + 8 <= n {
        acc += raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        i += 8
    }
    var total = acc.sum()
    while i < n { total += x[i]; i += 1 }
    return total
}

/// Σ (x[i] − mean)² for i in 0..<n.
@inlinable
public func vectorSumOfSquaredDeviations(_ x: UnsafePointer<Float>, count n: Int, mean: Float) -> Float {
    var acc = SIMD8<Float>()
    let m = SIMD8<Float>(repeating: mean)
    var i = 0
    let raw = UnsafeRawPointer(x)
    while i + 8 <= n {
        let d = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) - m
        acc += d * d
        i += 8
    }
    var total = acc.sum()
    while i < n { let d = x[i] - mean; total += d * d; i += 1 }
    return total
}

/// Σ x[i]·y[i] for i in 0..<n.
@inlinable
public func vectorDot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count n: Int) -> Float {
    var acc = SIMD8<Float>()
    var i = 0
    let rx = UnsafeRawPointer(x), ry = UnsafeRawPointer(y)
    while i + 8 <= n {
        acc +=
            rx.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            * ry.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        i += 8
    }
    var total = acc.sum()
    while i < n { total += x[i] * y[i]; i += 1 }
    return total
}

/// max x[i] for i in 0..<n (−inf for n = 0).
@inlinable
public func vectorMax(_ x: UnsafePointer<Float>, count n: Int) -> Float {
    var acc = SIMD8<Float>(repeating: -.infinity)
    var i = 0
    let raw = UnsafeRawPointer(x)
    while i + 8 <= n {
        let v = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        acc.replace(with: v, where: v .> acc)
        i += 8
    }
    var result = acc.max()
    while i < n { result = max(result, x[i]); i += 1 }
    return result
}

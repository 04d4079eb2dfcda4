import Foundation

// GELU, exact (erf) form as in timm/PyTorch `nn.GELU()` (approximate='none'):
//   gelu(x) = x · Φ(x) = ½ x (1 + erf(x / √2))      (Hendrycks & Gimpel 2016, arXiv 1606.08415)
//   gelu'(x) = Φ(x) + x · φ(x)
// Legend: n = number of elements (any shape, elementwise).

/// out (n) = gelu(inp (n)). `out` may alias `inp`.
@inlinable
public func geluForward(out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, count n: Int) {
    // 16 lanes at a time (the scalar loop vectorises only 8 wide on AVX-512), then the rest.
    let input = UnsafeRawPointer(inp), output = UnsafeMutableRawPointer(out)
    var i = 0
    while i + 16 <= n {
        let x = input.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
        output.storeBytes(of: x * normalCDF(x), toByteOffset: i * 4, as: SIMD16<Float>.self)
        i += 16
    }
    while i < n {
        let x = inp[i]
        out[i] = x * normalCDF(x)
        i += 1
    }
}

/// dinp (n) += gelu'(inp) · dout. Needs the forward's input, not its output.
@inlinable
public func geluBackward(
    dinp: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>,
    dout: UnsafePointer<Float>, count n: Int
) {
    let input = UnsafeRawPointer(inp), upstream = UnsafeRawPointer(dout), gradient = UnsafeMutableRawPointer(dinp)
    var i = 0
    while i + 16 <= n {
        let x = input.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
        let g = gradient.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
        let dy = upstream.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
        gradient.storeBytes(of: g + (normalCDF(x) + x * normalPDF(x)) * dy, toByteOffset: i * 4, as: SIMD16<Float>.self)
        i += 16
    }
    while i < n {
        let x = inp[i]
        dinp[i] += (normalCDF(x) + x * normalPDF(x)) * dout[i]
        i += 1
    }
}

/// grad (n) ← gelu'(inp) · grad: turns d(output) into d(input) in place (no zeroed buffer needed).
@inlinable
public func geluBackwardInPlace(grad: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, count n: Int) {
    let input = UnsafeRawPointer(inp), gradient = UnsafeMutableRawPointer(grad)
    var i = 0
    while i + 16 <= n {
        let x = input.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
        let g = gradient.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
        gradient.storeBytes(of: g * (normalCDF(x) + x * normalPDF(x)), toByteOffset: i * 4, as: SIMD16<Float>.self)
        i += 16
    }
    while i < n {
        let x = inp[i]
        grad[i] *= normalCDF(x) + x * normalPDF(x)
        i += 1
    }
}

/// out (rows, cols) = gelu(out + bias (cols)): the epilogue of a Linear whose GEMM ran without bias.
/// Keeps the pre-activation in `preActivation` when backward will need it.
@inlinable
public func biasGELUForward(
    out: UnsafeMutablePointer<Float>, preActivation: UnsafeMutablePointer<Float>?,
    bias: UnsafePointer<Float>, rows: Int, cols: Int
) {
    for r in 0..<rows {
        let row = out + r * cols
        for c in 0..<cols { row[c] += bias[c] }
        preActivation.map { ($0 + r * cols).update(from: row, count: cols) }
        geluForward(out: row, inp: row, count: cols)  // the row is still in L1
    }
}

/// out ← QuickGELU(out + bias) = v · σ(1.702 v), v = out + bias, in place (rows, cols): CLIP's
/// activation, for the frozen backbone's forward only (no side network uses it, so no backward).
public func biasQuickGELUForward(out: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>, rows: Int, cols: Int) {
    for r in 0..<rows {
        let row = out + r * cols
        for j in 0..<cols {
            let v = row[j] + bias[j]
            row[j] = v / (1 + Foundation.exp(-1.702 * v))
        }
    }
}

import Foundation

// Softmax cross-entropy with optional label smoothing (Szegedy et al. 2016), forward and backward.
// Legend: B rows, C classes. Target q_b = (1 − ε)·onehot(y_b) + ε/C.
//   loss_b = −Σ_c q_bc log p_bc,  p_b = softmax(logits_b);  d loss_b / d logits_b = p_b − q_b.

/// Fills losses (B) and probs (B, C); returns the mean loss. Labels must lie in 0..<C.
@inlinable
@discardableResult
public func crossEntropyForward(
    losses: UnsafeMutablePointer<Float>, probs: UnsafeMutablePointer<Float>,
    logits: UnsafePointer<Float>, labels: UnsafePointer<Int32>,
    rows B: Int, classes C: Int, labelSmoothing epsilon: Float = 0
) -> Float {
    precondition(epsilon >= 0 && epsilon < 1, "crossEntropyForward: label smoothing \(epsilon) not in [0, 1)")
    var total: Double = 0
    for b in 0..<B {
        let label = Int(labels[b])
        precondition(label >= 0 && label < C, "crossEntropyForward: label \(label) at row \(b) not in 0..<\(C)")
        let x = logits + b * C, p = probs + b * C
        let maxValue = vectorMax(x, count: C)
        let sum = exponentiateShifted(x, into: p, count: C, shift: maxValue)
        let logSum = Float(log(Double(sum))) + maxValue
        for c in 0..<C { p[c] /= sum }
        // −Σ q log p with log p_c = x_c − logSum.
        var smoothTerm: Float = 0
        if epsilon > 0 {
            for c in 0..<C { smoothTerm += logSum - x[c] }
            smoothTerm *= epsilon / Float(C)
        }
        let loss = (1 - epsilon) * (logSum - x[label]) + smoothTerm
        losses[b] = loss
        total += Double(loss)
    }
    return B > 0 ? Float(total / Double(B)) : 0
}

/// dlogits (B, C) += (p − q) · dloss / B: the gradient of the mean loss scaled by `dloss`.
@inlinable
public func crossEntropyBackward(
    dlogits: UnsafeMutablePointer<Float>, probs: UnsafePointer<Float>, labels: UnsafePointer<Int32>,
    rows B: Int, classes C: Int, labelSmoothing epsilon: Float = 0, dloss: Float = 1
) {
    let scale = dloss / Float(B)
    let uniform = epsilon / Float(C)
    for b in 0..<B {
        let p = probs + b * C, d = dlogits + b * C
        let label = Int(labels[b])
        for c in 0..<C {
            let target = (c == label ? 1 - epsilon : 0) + uniform
            d[c] += (p[c] - target) * scale
        }
    }
}

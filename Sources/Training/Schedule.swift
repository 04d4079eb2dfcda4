import Foundation

/// Learning-rate schedules as plain step → rate functions (mlx-swift style).
public enum Schedule {
    /// The `decay` hyperparameter's choices (in the order sweep files list them).
    public enum Decay: String, CaseIterable, Codable, Sendable {
        case cosine
        case linear
        case constant
    }

    /// Linear warmup from 0 over `warmupSteps`, then `decay` from `peak` down to `floor` at `totalSteps`.
    /// Step numbers start at 0; the rate at step s is what the (s+1)-th update uses.
    public static func make(peak: Float, totalSteps: Int, warmupSteps: Int, decay: Decay, floor: Float = 0) -> (Int) ->
        Float
    {
        precondition(
            totalSteps > 0 && warmupSteps >= 0, "Schedule: totalSteps \(totalSteps), warmupSteps \(warmupSteps)")
        return { step in
            if step < warmupSteps { return peak * Float(step + 1) / Float(warmupSteps) }
            switch decay {
            case .constant: return peak
            case .cosine, .linear:
                let span = max(1, totalSteps - warmupSteps)
                let progress = min(1, Float(step - warmupSteps) / Float(span))
                let factor = decay == .cosine ? 0.5 * (1 + Float(cos(Double.pi * Double(progress)))) : 1 - progress
                return floor + (peak - floor) * factor
            }
        }
    }
}

/// Scales `gradients` so their global L2 norm is at most `maxNorm`; returns the norm before clipping.
@discardableResult
public func clipGradientNorm(_ gradients: UnsafeMutablePointer<Float>, count: Int, maxNorm: Float) -> Float {
    var sum: Double = 0
    for i in 0..<count { sum += Double(gradients[i]) * Double(gradients[i]) }
    let norm = Float(sum.squareRoot())
    if norm > maxNorm && norm.isFinite {
        let scale = maxNorm / (norm + 1e-6)
        for i in 0..<count { gradients[i] *= scale }
    }
    return norm
}

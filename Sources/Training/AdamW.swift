import Foundation
import Numerics

/// AdamW (Loshchilov & Hutter 2019, "Decoupled Weight Decay Regularization", arXiv 1711.05101) over
/// one flat parameter buffer, with the update order of PyTorch's `torch.optim.AdamW`:
///   p ← p·(1 − lr·wd·mask);  m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;
///   p ← p − (lr / (1−β₁ᵗ)) · m / (√v / √(1−β₂ᵗ) + ε)
/// `mask` is 1 where weight decay applies (weights) and 0 elsewhere (biases, norms, gates).
public struct AdamW {
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var epsilon: Float = 1e-8
    public var weightDecay: Float
    /// First and second moments, one per parameter (saved in checkpoints).
    public var firstMoment: [Float]
    public var secondMoment: [Float]
    /// Steps taken so far.
    public var step = 0
    let decayMask: [Float]

    public init(parameterCount: Int, weightDecay: Float, decayMask: [Float]) {
        precondition(
            decayMask.count == parameterCount, "AdamW: mask of \(decayMask.count) for \(parameterCount) parameters")
        self.weightDecay = weightDecay
        self.decayMask = decayMask
        firstMoment = [Float](repeating: 0, count: parameterCount)
        secondMoment = [Float](repeating: 0, count: parameterCount)
    }

    /// One update of `parameters` from `gradients` with learning rate `lr`.
    public mutating func update(_ parameters: UnsafeMutablePointer<Float>, gradients: UnsafePointer<Float>, lr: Float) {
        step += 1
        let correction1 = 1 - Float(pow(Double(beta1), Double(step)))
        let correction2Root = Float(sqrt(1 - pow(Double(beta2), Double(step))))
        let stepSize = lr / correction1
        let (b1, b2, eps, decay) = (beta1, beta2, epsilon, lr * weightDecay)
        firstMoment.withUnsafeMutableBufferPointer { m in
            secondMoment.withUnsafeMutableBufferPointer { v in
                decayMask.withUnsafeBufferPointer { mask in
                    // Eight lanes at a time (the scalar loop does not vectorise: division and square
                    // root per element), then the tail. The update is memory-bound (five streams in,
                    // three out): large buffers are split over BLAS's thread count, which is 1 inside
                    // a trial pool. Elementwise, so the result does not depend on the split.
                    let total = m.count
                    let chunks = total >= 1 << 16 ? max(1, BLAS.threadCount) : 1
                    parallelFor(chunks) { chunk in
                        let first = (chunk * total / chunks) & ~7,
                            last = chunk == chunks - 1 ? total : ((chunk + 1) * total / chunks) & ~7
                        let n = last
                        let rp = UnsafeMutableRawPointer(parameters), rg = UnsafeRawPointer(gradients)
                        let rm = UnsafeMutableRawPointer(m.baseAddress!), rv = UnsafeMutableRawPointer(v.baseAddress!)
                        let rmask = UnsafeRawPointer(mask.baseAddress!)
                        typealias V = SIMD8<Float>
                        let vb1 = V(repeating: b1), vb2 = V(repeating: b2), one = V(repeating: 1)
                        let vDecay = V(repeating: decay), vStep = V(repeating: stepSize)
                        let vRoot = V(repeating: correction2Root), vEps = V(repeating: eps)
                        var i = first
                        while i + 8 <= n {
                            let o = i * 4
                            let g = rg.loadUnaligned(fromByteOffset: o, as: V.self)
                            var p =
                                rp.loadUnaligned(fromByteOffset: o, as: V.self)
                                * (one - vDecay * rmask.loadUnaligned(fromByteOffset: o, as: V.self))
                            let mi = vb1 * rm.loadUnaligned(fromByteOffset: o, as: V.self) + (one - vb1) * g
                            let vi = vb2 * rv.loadUnaligned(fromByteOffset: o, as: V.self) + (one - vb2) * g * g
                            p -= vStep * mi / (vi.squareRoot() / vRoot + vEps)
                            rm.storeBytes(of: mi, toByteOffset: o, as: V.self)
                            rv.storeBytes(of: vi, toByteOffset: o, as: V.self)
                            rp.storeBytes(of: p, toByteOffset: o, as: V.self)
                            i += 8
                        }
                        while i < n {
                            let g = gradients[i]
                            var p = parameters[i] * (1 - decay * mask[i])
                            m[i] = b1 * m[i] + (1 - b1) * g
                            v[i] = b2 * v[i] + (1 - b2) * g * g
                            p -= stepSize * m[i] / (v[i].squareRoot() / correction2Root + eps)
                            parameters[i] = p
                            i += 1
                        }
                    }
                }
            }
        }
    }
}

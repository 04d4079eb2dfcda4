import Cache
import Numerics

/// One training step of a side network spread over cores by splitting the batch: each replica (same
/// architecture, same parameters) takes a contiguous shard of examples with single-threaded BLAS and
/// its own gradient buffer; gradients are combined weighted by shard size, so the result is the
/// gradient of the mean loss over the whole batch. Small skinny GEMMs and per-head attention scale
/// far better this way than through OpenBLAS's own threads. For a lone trial using every core; a
/// trial pool runs one replica per trial instead.
public final class DataParallelStep {
    public let replicas: [SideNetwork]
    private var shardGradients: [[Float]]
    static let minimumFLOPsPerShard = 50e6

    /// - Parameter replicas: one network per worker, all built with the same configuration.
    public init(replicas: [SideNetwork]) {
        precondition(!replicas.isEmpty && replicas.allSatisfy { $0.layout == replicas[0].layout }, "DataParallelStep: replicas must share a layout")
        self.replicas = replicas
        shardGradients = replicas.map { [Float](repeating: 0, count: $0.layout.count) }
    }

    /// Mean loss over `batch`; its gradient is added to `gradients`.
    @discardableResult
    public func lossAndGradients(_ parameters: UnsafePointer<Float>, gradients: UnsafeMutablePointer<Float>, _ batch: TapBatch) -> Float {
        // A shard must carry enough work to pay for waking a thread and merging a gradient buffer
        // (a linear probe's whole step is ~30 MFLOP and faster on one core).
        let stepFLOPs = 3 * replicas[0].forwardFLOPsPerExample * Double(batch.batch)
        let worthwhile = max(1, Int(stepFLOPs / Self.minimumFLOPsPerShard))
        let workers = min(replicas.count, batch.batch, worthwhile)
        let shards = (0..<workers).map { w in (w * batch.batch / workers)..<((w + 1) * batch.batch / workers) }
        var losses = [Float](repeating: 0, count: workers)
        BLAS.withThreadCount(1) {
            losses.withUnsafeMutableBufferPointer { lossBuffer in
                withMutablePointers(&shardGradients) { grads in
                    parallelFor(workers) { w in
                        let shard = batch.slice(shards[w], classTokenOnly: replicas[w].classTokenOnly)
                        grads[w].initialize(repeating: 0, count: replicas[w].layout.count)
                        lossBuffer[w] = replicas[w].lossAndGradients(parameters, gradients: grads[w], shard).loss
                    }
                }
            }
        }
        var total: Float = 0
        for w in 0..<workers {
            let weight = Float(shards[w].count) / Float(batch.batch)
            total += weight * losses[w]
            shardGradients[w].withUnsafeBufferPointer { g in for i in 0..<g.count { gradients[i] += weight * g[i] } }
        }
        return total
    }
}

extension TapBatch {
    /// Examples `range` of the batch (copied); with `classTokenOnly`, only each example's class token.
    public func slice(_ range: Range<Int>, classTokenOnly: Bool = false) -> TapBatch {
        let rowElements = tokens * width
        var sliced: [Tap: FloatBuffer] = [:]
        for (tap, t) in taps {
            if classTokenOnly {
                let rows = FloatBuffer(count: range.count * width)
                gatherClassTokens(t.pointer + range.lowerBound * rowElements, batch: range.count, tokens: tokens, width: width, into: rows.pointer)
                sliced[tap] = rows
            } else {
                sliced[tap] = FloatBuffer(t.buffer[(range.lowerBound * rowElements)..<(range.upperBound * rowElements)])
            }
        }
        return TapBatch(buffers: sliced, batch: range.count, tokens: classTokenOnly ? 1 : tokens, width: width, labels: Array(labels[range]))
    }
}

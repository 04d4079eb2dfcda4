import Cache
import Numerics

/// One training step of a side network with its batch split into a fixed number of shards: replica
/// w (same architecture, same parameters) takes the w-th contiguous shard with single-threaded BLAS
/// and its own gradient buffer, and the shards' losses and gradients are summed weighted by shard size
/// in shard order, so the result is the gradient of the mean loss over the whole batch — and the same
/// bits whatever the number of threads that run the shards. The shard count is the trial's (`shards`),
/// never the machine's; the threads are whatever the trial may use at that step (its slot and the idle
/// ones). Small skinny GEMMs and per-head attention scale far better this way than through OpenBLAS's
/// own threads.
public final class DataParallelStep {
    public let replicas: [SideNetwork]
    private var shardGradients: [[Float]]
    static let minimumFLOPsPerShard = 50e6

    /// - Parameter replicas: one network per shard, all built with the same configuration.
    public init(replicas: [SideNetwork]) {
        precondition(
            !replicas.isEmpty && replicas.allSatisfy { $0.layout == replicas[0].layout },
            "DataParallelStep: replicas must share a layout")
        self.replicas = replicas
        shardGradients = replicas.map { [Float](repeating: 0, count: $0.layout.count) }
    }

    /// How many shards a step of `network` on `batch` examples can use before a shard carries too
    /// little work to pay for waking a thread and merging a gradient buffer (a linear probe's whole
    /// step is ~30 MFLOP and faster on one core), at most `limit`.
    public static func worthwhileShards(_ network: SideNetwork, batch: Int, limit: Int) -> Int {
        let stepFLOPs = 3 * network.forwardFLOPsPerExample * Double(batch)
        return max(1, min(limit, batch, Int(stepFLOPs / minimumFLOPsPerShard)))
    }

    /// Mean loss over `batch`; its gradient is added to `gradients`. The shards run on up to
    /// `threads` threads (the bits do not depend on it).
    @discardableResult
    public func lossAndGradients(
        _ parameters: UnsafePointer<Float>, gradients: UnsafeMutablePointer<Float>, _ batch: TapBatch,
        labelSmoothing: Float = 0, threads: Int
    ) -> Float {
        let shardCount = min(replicas.count, batch.batch)
        // One shard is the network's own step on one thread (the same bits at any thread count): no
        // gradient buffer to zero and merge, no slice.
        if shardCount == 1 {
            return BLAS.withThreadCount(1) {
                replicas[0].lossAndGradients(parameters, gradients: gradients, batch, labelSmoothing: labelSmoothing)
                    .loss
            }
        }
        let shards = (0..<shardCount).map { w in (w * batch.batch / shardCount)..<((w + 1) * batch.batch / shardCount) }
        var losses = [Float](repeating: 0, count: shardCount)
        BLAS.withThreadCount(1) {
            losses.withUnsafeMutableBufferPointer { lossBuffer in
                withMutablePointers(&shardGradients) { grads in
                    parallelFor(shardCount, threads: max(1, threads)) { w in
                        let shard = batch.slice(shards[w], classTokenOnly: replicas[w].classTokenOnly)
                        grads[w].initialize(repeating: 0, count: replicas[w].layout.count)
                        lossBuffer[w] =
                            replicas[w].lossAndGradients(
                                parameters, gradients: grads[w], shard, labelSmoothing: labelSmoothing
                            ).loss
                    }
                }
            }
        }
        var total: Float = 0
        for w in 0..<shardCount {
            let weight = Float(shards[w].count) / Float(batch.batch)
            total += weight * losses[w]
            shardGradients[w].withUnsafeBufferPointer { g in for i in 0..<g.count { gradients[i] += weight * g[i] } }
        }
        return total
    }

    /// Frees every replica's working buffers.
    public func releaseBuffers() { for replica in replicas { replica.releaseBuffers() } }
}

extension TapBatch {
    /// Examples `range` of the batch: windows into its taps (examples are contiguous rows), or with
    /// `classTokenOnly` a copy of each example's class token only.
    public func slice(_ range: Range<Int>, classTokenOnly: Bool = false) -> TapBatch {
        let rowElements = tokens * width
        var sliced: [Tap: FloatBuffer] = [:]
        for (tap, t) in taps {
            if classTokenOnly {
                let rows = FloatBuffer(count: range.count * width)
                gatherClassTokens(
                    t.pointer + range.lowerBound * rowElements, batch: range.count, tokens: tokens, width: width,
                    into: rows.pointer)
                sliced[tap] = rows
            } else {
                sliced[tap] = FloatBuffer(
                    window: (range.lowerBound * rowElements)..<(range.upperBound * rowElements), of: t)
            }
        }
        return TapBatch(
            buffers: sliced, batch: range.count, tokens: classTokenOnly ? 1 : tokens, width: width,
            labels: Array(labels[range]))
    }
}

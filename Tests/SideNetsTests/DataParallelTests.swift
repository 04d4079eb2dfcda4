import Cache
import Numerics
import SideNets
import XCTest
import _TestSupport

/// Splitting a batch over replicas gives the gradient of the mean loss over the whole batch.
final class DataParallelTests: XCTestCase {
    func testShardedStepEqualsWholeBatchStep() {
        let (B, N, D, L, C) = (5, 4, 6, 4, 3)
        var taps: [Tap: Tensor] = [:]
        for i in 0...L {
            taps[.block(i)] = Tensor(shape: [B, N, D], storage: randomArray(B * N * D, seed: UInt64(40 + i)))
        }
        let batch = TapBatch(taps: taps, labels: [0, 1, 2, 1, 0])
        let makers: [() -> SideNetwork] = [
            { LowRankAttentionSideTuning(width: D, depth: L, classes: C, rank: 2, heads: 1, gap: 2) },
            { SideAdapters(width: D, depth: L, classes: C, bottleneck: 2) },
            { LadderSideTuning(width: D, depth: L, heads: 1, classes: C, reduction: 2, layers: [2, 4]) },
        ]
        for make in makers {
            let single = make()
            let p = randomArray(single.layout.count, seed: 9, scale: 0.3)
            var whole = [Float](repeating: 0, count: p.count)
            let loss = single.lossAndGradients(p, gradients: &whole, batch).loss
            let step = DataParallelStep(replicas: [make(), make(), make()])
            var sharded = [Float](repeating: 0, count: p.count)
            let shardedLoss = step.lossAndGradients(p, gradients: &sharded, batch, threads: 1)
            XCTAssertEqual(shardedLoss, loss, accuracy: 1e-5, single.name)
            assertClose(sharded, whole, rtol: 1e-5, "\(single.name) gradients")
            // The shard count is fixed: on 3 threads (or 2) the same bits as on 1.
            for threads in [2, 3] {
                var again = [Float](repeating: 0, count: p.count)
                XCTAssertEqual(
                    step.lossAndGradients(p, gradients: &again, batch, threads: threads).bitPattern,
                    shardedLoss.bitPattern, single.name)
                XCTAssertEqual(
                    again.map(\.bitPattern), sharded.map(\.bitPattern), "\(single.name) on \(threads) threads")
            }
        }
    }
}

import Backbone
import Essentials
import Numerics

/// LST's initialisation by structural pruning (magnitude variant of the paper's "v2"; METHODS.md):
/// side block i starts as backbone block i with d of D residual dimensions kept, and every internal
/// dimension shrunk by the same factor, choosing what to keep by the L1 norm of weight rows.
///
/// - residual dims S (d of D): largest ‖proj.weight[j,:]‖₁ + ‖fc2.weight[j,:]‖₁ (the rows that write
///   the residual stream); LayerNorm vectors, proj/fc2 rows and qkv/fc1 columns follow S;
/// - per head, query/key dims (d/H of D/H): largest ‖q row‖₁ + ‖k row‖₁, the same set for q and k so
///   their dot products stay aligned; value dims by ‖v row‖₁, with proj's columns following;
/// - MLP hidden (4d of 4D): largest ‖fc1 row‖₁, with fc2's columns following.
/// Kept indices stay in ascending order, so with r = 1 the side block is the backbone block itself.
/// Down projections, the final norm, Up and the head keep their random initialisation.
/// How an LST side network starts: the `lst_init` hyperparameter.
public enum LadderInitialization: String, CaseIterable, Codable, Sendable {
    case random
    /// Pruned from the backbone's blocks (`initializeByPruning`): needs the backbone's weights.
    case pruned
}

extension LadderSideTuning {
    public func initializeByPruning(_ p: UnsafeMutablePointer<Float>, backbone: ViTParameters, rng: inout SeededRNG) {
        precondition(
            backbone.blocks.count == depth && backbone.blocks.first?.norm1Weight.count == width,
            "LST pruning: backbone has \(backbone.blocks.count) blocks of width \(backbone.blocks.first?.norm1Weight.count ?? 0), expected \(depth) of \(width)"
        )
        initialize(p, rng: &rng)
        for (rung, layer) in zip(rungs, layers) {
            Self.prune(
                backbone.blocks[layer - 1].foldingLayerScale(), into: p, block: rung.block, width: width, heads: heads)
        }
    }

    /// Indices of the `keep` largest scores, ascending.
    static func topIndices(_ scores: [Float], keep: Int) -> [Int] {
        Array(scores.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }.prefix(keep))
            .sorted()
    }

    static func rowL1(_ t: Tensor, row: Int) -> Float {
        let cols = t.shape[1]
        var sum: Float = 0
        for c in 0..<cols { sum += abs(t.storage[row * cols + c]) }
        return sum
    }

    static func prune(
        _ b: ViTParameters.Block, into p: UnsafeMutablePointer<Float>, block: SideTransformerBlock, width D: Int,
        heads H: Int
    ) {
        let d = block.width, headD = D / H, headd = d / H, F = 4 * D, f = block.hidden
        let residual = topIndices((0..<D).map { rowL1(b.projWeight, row: $0) + rowL1(b.fc2Weight, row: $0) }, keep: d)
        var qk: [Int] = [], v: [Int] = []
        for h in 0..<H {
            let rows = (0..<headD).map { h * headD + $0 }
            qk += topIndices(rows.map { rowL1(b.qkvWeight, row: $0) + rowL1(b.qkvWeight, row: D + $0) }, keep: headd)
                .map { rows[$0] }
            v += topIndices(rows.map { rowL1(b.qkvWeight, row: 2 * D + $0) }, keep: headd).map { rows[$0] }
        }
        let hidden = topIndices((0..<F).map { rowL1(b.fc1Weight, row: $0) }, keep: f)

        func copyVector(_ source: Tensor, _ rows: [Int], to offset: Int) {
            for (i, r) in rows.enumerated() { p[offset + i] = source.storage[r] }
        }
        func copyMatrix(_ source: Tensor, rows: [Int], cols: [Int], to offset: Int) {
            let sourceCols = source.shape[1]
            for (i, r) in rows.enumerated() {
                for (j, c) in cols.enumerated() { p[offset + i * cols.count + j] = source.storage[r * sourceCols + c] }
            }
        }
        copyVector(b.norm1Weight, residual, to: block.norm1Weight)
        copyVector(b.norm1Bias, residual, to: block.norm1Bias)
        let qkvRows = qk + qk.map { D + $0 } + v.map { 2 * D + $0 }
        copyMatrix(b.qkvWeight, rows: qkvRows, cols: residual, to: block.qkvWeight)
        copyVector(b.qkvBias, qkvRows, to: block.qkvBias)
        copyMatrix(b.projWeight, rows: residual, cols: v, to: block.projWeight)
        copyVector(b.projBias, residual, to: block.projBias)
        copyVector(b.norm2Weight, residual, to: block.norm2Weight)
        copyVector(b.norm2Bias, residual, to: block.norm2Bias)
        copyMatrix(b.fc1Weight, rows: hidden, cols: residual, to: block.fc1Weight)
        copyVector(b.fc1Bias, hidden, to: block.fc1Bias)
        copyMatrix(b.fc2Weight, rows: residual, cols: hidden, to: block.fc2Weight)
        copyVector(b.fc2Bias, residual, to: block.fc2Bias)
    }
}

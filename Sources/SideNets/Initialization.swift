import Essentials

/// How a side network draws the weights its paper leaves open (the `init` hyperparameter;
/// docs/side-networks.md gives the measurements behind the default):
/// - `timm`: weights truncated N(0, 0.02) whatever the width (timm's ViT rule, tuned for D = 768), biases 0;
/// - `fanIn`: PyTorch's `nn.Linear` default, weights and biases uniform ±1/√fan_in;
/// - `xavier`: weights uniform ±√(6 / (fan_in + fan_out)), biases 0 (timm's "jax" init; a stacked
///   q|k|v weight counts as three matrices, as there).
/// What a paper fixes is not a rule's business: LAST's zero A_O, the adapters' near-identity weights,
/// LST's pruned side blocks, LayerNorms at 1/0 and LST's gates at 0.
public enum InitRule: String, CaseIterable, Codable, Sendable {
    case timm
    case fanIn = "fan_in"
    case xavier

    /// Fills the weight (out, in) at `weight` and, when given, the bias (out) at `bias`. `parts`
    /// splits the rows into that many stacked matrices of out/parts rows each (q|k|v).
    func fill(
        _ p: UnsafeMutablePointer<Float>, weight: Int, bias: Int?, outFeatures: Int, inFeatures: Int, parts: Int = 1,
        rng: inout SeededRNG
    ) {
        let count = outFeatures * inFeatures
        switch self {
        case .timm:
            for i in 0..<count { p[weight + i] = rng.nextTruncatedNormal(std: 0.02) }
            if let bias { (p + bias).initialize(repeating: 0, count: outFeatures) }
        case .fanIn:
            let bound = 1 / Float(inFeatures).squareRoot()
            for i in 0..<count { p[weight + i] = (2 * rng.nextUniform() - 1) * bound }
            if let bias { for i in 0..<outFeatures { p[bias + i] = (2 * rng.nextUniform() - 1) * bound } }
        case .xavier:
            let bound = (6 / Float(inFeatures + outFeatures / parts)).squareRoot()
            for i in 0..<count { p[weight + i] = (2 * rng.nextUniform() - 1) * bound }
            if let bias { (p + bias).initialize(repeating: 0, count: outFeatures) }
        }
    }
}

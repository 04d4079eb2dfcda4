import Backbone
import Essentials
import SideNets

/// The side-tuning methods, and for each what makes its settings impossible on a backbone and the
/// network they build: the one table that spec checks, costs, benchmarks and training read.
/// Raw values are the names sweep files, journals and checkpoints use.
public enum SideTuningMethod: String, CaseIterable, Codable, Sendable {
    case adapter, last, linear, lst

    /// The method's colour in reports (an index into the charts' palette).
    public var chartColor: Int {
        switch self {
        case .last: 0
        case .lst: 2
        case .adapter: 3
        case .linear: 4
        }
    }

    /// Every method's name, sorted.
    public static var names: [String] { allCases.map(\.rawValue) }

    /// What keeps `s` from building this method's network on a backbone of `width`, `depth` and
    /// `backboneHeads`, or nil: each network's own check, which its initialiser enforces, asked before any work.
    func problem(_ s: TrialSettings, width: Int, depth: Int, backboneHeads: Int) -> String? {
        switch self {
        case .linear:
            return nil
        case .last:
            return LowRankAttentionSideTuning.problem(
                depth: depth, rank: s.rank, heads: s.heads, gap: s.gap, modulesPerGroup: s.modulesPerGroup)
        case .adapter:
            return SideAdapters.problem(bottleneck: s.bottleneck)
        case .lst:
            return LadderSideTuning.problem(
                width: width, depth: depth, heads: backboneHeads, reduction: s.reduction, layers: s.lstLayers)
        }
    }

    /// Whether `s` starts from the backbone's weights (LST pruned from its blocks): a random backbone has none.
    public func needsBackboneWeights(_ s: TrialSettings) -> Bool { self == .lst && s.lstInit == .pruned }

    /// Writes `network`'s starting parameters into `p`: its own random initialisation, or the method's
    /// from the backbone (`needsBackboneWeights`; the caller checked that `backbone` is there).
    func initialize(
        _ network: SideNetwork, _ p: inout [Float], settings s: TrialSettings, backbone: ViTParameters?,
        rng: inout SeededRNG
    ) {
        if needsBackboneWeights(s), let lst = network as? LadderSideTuning, let backbone {
            lst.initializeByPruning(&p, backbone: backbone, rng: &rng)
        } else {
            network.initialize(&p, rng: &rng)
        }
    }

    /// The network `s` describes on a backbone of `width`, `depth`, `backboneHeads` (after `problem` is nil).
    func makeNetwork(_ s: TrialSettings, width: Int, depth: Int, backboneHeads: Int, classes: Int) -> SideNetwork {
        let rule = s.effectiveInitRule, affine = s.effectiveNormAffine, compute = s.effectiveCompute
        switch self {
        case .linear:
            return LinearProbe(
                width: width, depth: depth, classes: classes, rule: rule, normAffine: affine, compute: compute)
        case .last:
            return LowRankAttentionSideTuning(
                width: width, depth: depth, classes: classes, rank: s.rank, heads: s.heads,
                gap: s.gap, modulesPerGroup: s.modulesPerGroup, rule: rule, normAffine: affine,
                compute: compute)
        case .adapter:
            return SideAdapters(
                width: width, depth: depth, classes: classes, bottleneck: s.bottleneck, rule: rule,
                normAffine: affine, compute: compute)
        case .lst:
            return LadderSideTuning(
                width: width, depth: depth, heads: backboneHeads, classes: classes, reduction: s.reduction,
                layers: s.lstLayers, rule: rule, compute: compute)
        }
    }
}

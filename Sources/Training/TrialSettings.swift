import Backbone
import Essentials
import Foundation
import Numerics
import SideNets

/// Everything one trial trains with: the method and its own values, and the optimisation recipe.
/// Defaults follow the VTAB-1k recipe of NOAH/FacT (METHODS.md): batch 64, lr 1e-3, wd 1e-4, cosine.
/// As JSON (checkpoints, model files) the method's values sit beside the recipe's, each under its
/// `settingsKey` (docs/formats.md).
public struct TrialSettings: Equatable, Sendable {
    /// One of `SideTuningMethods.names`.
    public let method: String
    /// The method's own hyperparameters (`SideTuningMethod.hyperparameters`), defaults filled in.
    public var values: MethodValues
    public var definition: any SideTuningMethod.Type {
        guard let known = SideTuningMethods.named(method) else { preconditionFailure("unknown method '\(method)'") }
        return known
    }
    /// The `init` and `norm_affine` hyperparameters: nil in journals, checkpoints and model files
    /// written before they existed, which trained with `timm` and a head LayerNorm without γ, β.
    public var initRule: InitRule? = nil
    public var normAffine: Bool? = nil
    public var effectiveInitRule: InitRule { initRule ?? .timm }
    public var effectiveNormAffine: Bool { normAffine ?? false }
    // Optimisation.
    public var learningRate: Float = 1e-3
    public var weightDecay: Float = 1e-4
    public var batchSize = 64
    public var epochs = 10
    /// Warmup as a fraction of all steps (METHODS.md: 10%).
    public var warmupFraction: Float = 0.1
    public var decay = Schedule.Decay.cosine
    public var lrFloor: Float = 0
    public var labelSmoothing: Float = 0
    public var gradientClip: Float? = nil
    public var evalEvery = 1
    /// The `shards` hyperparameter: each step's batch in this many fixed shards, summed in order, so a
    /// trial may spread a step over idle cores with the same bits on any number (DataParallelStep).
    /// nil in journals, checkpoints and model files written before it existed: one shard.
    public var shards: Int? = nil
    public var effectiveShards: Int { shards ?? 1 }
    /// The `compute` hyperparameter: the precision of the side network's Linear layers (weights,
    /// gradients and AdamW stay fp32). nil in journals, checkpoints and model files written before it
    /// existed, and for fp32, so that fp32 trials keep their keys.
    public var compute: ComputePrecision? = nil
    public var effectiveCompute: ComputePrecision { compute ?? .fp32 }
    /// The most shards a trial may ask for (each holds a replica's buffers and a gradient).
    public static let maximumShards = 64
    /// The trial's own seed: initialisation derives from it alone, and so does the data order
    /// unless `dataSeed` is set.
    public var seed: UInt64 = 0
    /// The seed of the data order when it is not the trial's own: a sweep gives all its trials of one
    /// seed replicate the same, so that they can step through the data together (SharedReads).
    public var dataSeed: UInt64? = nil
    public var dataOrderSeed: UInt64 { dataSeed ?? seed }

    /// Settings of `method` (one of `SideTuningMethods.names`) with every value at its default.
    public init(method: String) {
        guard let known = SideTuningMethods.named(method) else { preconditionFailure("unknown method '\(method)'") }
        self.method = method
        values = known.defaults
    }

    /// Sets those of `sizes` that the method declares (a test's or benchmark's sizes for every method).
    public mutating func setDeclared(_ sizes: [String: MethodValue]) {
        for parameter in definition.hyperparameters { if let v = sizes[parameter.name] { values[parameter.name] = v } }
    }

    /// What is wrong with the settings, or nil.
    public var problem: String? {
        if !(learningRate > 0) { return "learning rate must be positive, got \(learningRate)" }
        if weightDecay < 0 { return "weight decay must be >= 0" }
        if batchSize <= 0 || epochs <= 0 || evalEvery <= 0 {
            return "batch size, epochs and eval_every must be positive"
        }
        if batchSize > 1 << 20 || epochs > 1 << 20 || evalEvery > 1 << 20 {
            return "batch size, epochs and eval_every must be at most \(1 << 20)"
        }
        if !(0..<1).contains(labelSmoothing) { return "label smoothing must be in [0, 1)" }
        if effectiveShards < 1 || effectiveShards > min(batchSize, Self.maximumShards) {
            return
                "shards must be from 1 to batch_size (\(batchSize)) and at most \(Self.maximumShards), got \(effectiveShards)"
        }
        return nil
    }

    /// What keeps these settings from building a network on a backbone of `width`, `depth` and
    /// `backboneHeads`, or nil (the networks' own preconditions, checked before any work).
    public func problem(width: Int, depth: Int, backboneHeads: Int) -> String? {
        problem ?? definition.problem(values, backbone: BackboneShape(width: width, depth: depth, heads: backboneHeads))
    }

    /// The side network these settings describe, on a backbone of `width`, `depth`, `backboneHeads`.
    public func makeNetwork(width: Int, depth: Int, backboneHeads: Int, classes: Int) -> any SideTuningMethod {
        definition.makeNetwork(
            values, backbone: BackboneShape(width: width, depth: depth, heads: backboneHeads), classes: classes,
            shared: SharedOptions(rule: effectiveInitRule, normAffine: effectiveNormAffine, compute: effectiveCompute))
    }

    /// Whether these settings start from the backbone's weights (a random backbone has none).
    public var needsBackboneWeights: Bool { definition.needsBackboneWeights(values) }

    /// Writes `network`'s starting parameters into `p`: the method's initialisation, from `backbone`
    /// where it needs one (the caller checked that it is there).
    func initialize(
        _ network: any SideTuningMethod, _ p: inout [Float], backbone: ViTParameters?, rng: inout SeededRNG
    ) {
        p.withUnsafeMutableBufferPointer {
            network.initialize($0.baseAddress!, values: values, backbone: backbone, rng: &rng)
        }
    }
}

/// Per-trial seeds: a stable mix of the sweep seed and the trial id (SplitMix64 of both).
public func trialSeed(sweepSeed: UInt64, trialID: String) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a of the id, then mixed with the sweep seed
    for byte in trialID.utf8 { h = (h ^ UInt64(byte)) &* 0x100_0000_01b3 }
    var mixer = SplitMix64(seed: sweepSeed ^ h)
    return mixer.next()
}

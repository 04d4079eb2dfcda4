import Backbone
import Essentials
import Foundation
import Numerics
import SideNets

/// Everything one trial trains with: the method and its size, and the optimisation recipe.
/// Defaults follow the VTAB-1k recipe of NOAH/FacT (METHODS.md): batch 64, lr 1e-3, wd 1e-4, cosine.
public struct TrialSettings: Codable, Equatable, Sendable {
    public var method: SideTuningMethod
    // Method sizes (each method reads its own).
    public var rank = 32, heads = 1, gap = 1, modulesPerGroup = 1  // last
    public var bottleneck = 32  // adapter
    public var reduction = 8  // lst
    public var lstLayers: [Int]? = nil
    public var lstInit = LadderInitialization.random
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

    public init(method: SideTuningMethod) { self.method = method }

    /// What is wrong with the settings, or nil.
    public var problem: String? {
        if !(learningRate > 0) { return "learning rate must be positive, got \(learningRate)" }
        if weightDecay < 0 { return "weight decay must be >= 0" }
        if batchSize <= 0 || epochs <= 0 || evalEvery <= 0 {
            return "batch size, epochs and eval_every must be positive"
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
        problem ?? method.problem(self, width: width, depth: depth, backboneHeads: backboneHeads)
    }

    /// The side network these settings describe, on a backbone of `width`, `depth`, `backboneHeads`.
    public func makeNetwork(width: Int, depth: Int, backboneHeads: Int, classes: Int) -> SideNetwork {
        method.makeNetwork(self, width: width, depth: depth, backboneHeads: backboneHeads, classes: classes)
    }
}

/// Per-trial seeds: a stable mix of the sweep seed and the trial id (SplitMix64 of both).
public func trialSeed(sweepSeed: UInt64, trialID: String) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a of the id, then mixed with the sweep seed
    for byte in trialID.utf8 { h = (h ^ UInt64(byte)) &* 0x100_0000_01b3 }
    var mixer = SplitMix64(seed: sweepSeed ^ h)
    return mixer.next()
}

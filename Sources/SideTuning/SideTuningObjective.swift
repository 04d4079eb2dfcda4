import Backbone
import Cache
import Essentials
import Foundation
import Numerics
import Sweep
import Training

/// Side-tuning as a sweep's objective: trials are side networks trained on a cache of the frozen
/// backbone's taps (Training), scored on the search eval split; the final phase retrains the best on
/// the final train split and scores them on its eval split, from the cache or streamed through the
/// backbone. Everything that knows both the sweep and the networks is here.
public final class SideTuningObjective: SweepObjective {
    public let spec: SweepSpec
    public let search: SearchSpec
    public let cache: ActivationCache
    public let plan: CachePlan
    let pool: TrialPool
    /// Whether compatible trials train in cohorts that share each batch read.
    let sharedReads: ReadSharing
    /// Once decided: whether sharing reads pays in this sweep (SideTuningObjective+Cohorts.swift).
    var sharingDecision: Bool?
    let depth: Int, heads: Int
    let onEvent: (SideTuningEvent) -> Void

    public init(
        spec: SweepSpec, search: SearchSpec, cache: ActivationCache, plan: CachePlan, workers: Int, memoryBudget: Int,
        sharedReads: ReadSharing = .auto, onEvent: @escaping (SideTuningEvent) -> Void
    ) {
        self.spec = spec; self.search = search; self.cache = cache; self.plan = plan
        self.sharedReads = sharedReads; self.onEvent = onEvent
        pool = TrialPool(workers: workers, memoryBudget: memoryBudget)
        depth = plan.vit.config.depth; heads = plan.vit.config.heads
    }

    /// The sweep as the journal identifies it (name, file, hash, recorded JSON).
    public static func identity(_ spec: SweepSpec) -> SweepIdentity {
        SweepIdentity(
            name: spec.name, file: spec.file, contentHash: spec.contentHash, recorded: SpecRevision.recorded(spec.json))
    }

    public var dataKey: String { cache.key }

    public var trialKeyContext: [String: JSONValue] {
        [
            "cache_key": .string(cache.key), "train": .string(spec.data.searchTrain),
            "eval": .string(spec.data.searchEval),
        ]
    }

    public var costBasis: [String: Double] {
        let splits = cache.header.splits
        // The images the build ran through the backbone (each distinct one once): its rate per image.
        var basis: [String: Double] = ["cache_images": Double(cache.header.storedImages)]
        basis["cache_seconds"] = cache.header.buildSeconds
        basis["train_images"] = splits[spec.data.searchTrain].map(Double.init)
        basis["eval_images"] = splits[spec.data.searchEval].map(Double.init)
        basis["final_train_images"] = splits[spec.data.finalTrain].map(Double.init)
        basis["final_eval_images"] = (splits[spec.data.finalEval] ?? (try? spec.openSplit(spec.data.finalEval))?.count)
            .map(Double.init)
        return basis
    }

    public var provenance: (cpu: String, blas: String) {
        (CPUDescription.current.summary, BLASKernel.current.provenance)
    }

    /// Whether a configuration cannot be trained — its method refuses the combination (`validate`
    /// tries only the ends of long integer ranges) — or breaks a declared constraint, judged before
    /// training from what is known then (TrialCosts); with the costs, for the journal.
    public func rejection(method: String, values: [String: ParameterValue], seed: UInt64) -> (
        reason: String, costs: TrialResult
    )? {
        let settings = SideTuningCatalogue.settings(method: method, values: values, epochs: search.epochs, seed: seed)
        if let problem = settings.problem(width: cache.header.width, depth: depth, backboneHeads: heads) {
            return (
                problem,
                TrialResult(
                    status: .stopped, epochsRun: 0, bestEpoch: 0, bestValAccuracy: 0, finalValAccuracy: 0,
                    finalValLoss: .nan, history: [], trainableParameters: 0, trainingFLOPs: 0, workingMemoryBytes: 0,
                    trainSeconds: 0)
            )
        }
        guard !search.constraints.isEmpty else { return nil }
        guard
            let costs = TrialCosts(
                settings: settings, width: cache.header.width, depth: depth, heads: heads,
                cacheTokens: cache.header.tokens,
                classes: spec.data.classes, trainExamples: cache.header.splits[spec.data.searchTrain] ?? 0),
            let reason = costs.violation(of: search.constraints)
        else { return nil }
        return (
            reason,
            TrialResult(
                status: .stopped, epochsRun: 0, bestEpoch: 0, bestValAccuracy: 0, finalValAccuracy: 0,
                finalValLoss: .nan,
                history: [], trainableParameters: costs.params, trainingFLOPs: costs.flops,
                workingMemoryBytes: costs.memoryBytes, trainSeconds: 0)
        )
    }

    /// A trial's settings: its initialisation from its own seed, its data order from its seed
    /// replicate (one order per replicate, so that trials can share reads).
    func settings(_ record: TrialRecord) -> TrialSettings {
        var settings = SideTuningCatalogue.settings(
            method: record.method, values: record.values, epochs: search.epochs, seed: record.trialSeed)
        settings.dataSeed = trialSeed(
            sweepSeed: UInt64(truncatingIfNeeded: search.seed), trialID: "data-order/\(record.seed)")
        return settings
    }

    func trainer(_ record: TrialRecord, data: TrialData, checkpoint: String) throws -> TrialTrainer {
        try TrialTrainer(
            settings: settings(record), data: data, backboneWidth: cache.header.width, backboneDepth: depth,
            backboneHeads: heads, backboneParameters: plan.vit.parameters, checkpointPath: checkpoint)
    }
}

/// What the side-tuning objective reports as it goes (beside the runner's own events).
public enum SideTuningEvent {
    case pool(PoolEvent)
    case finalPhase(trials: [String], streamed: Bool)
    /// The run decided whether trials share reads, from the share of trial time spent reading.
    case readSharing(cohorts: Bool, readShare: Double)
    /// A stretch trains `trials` of its trials in `cohorts` cohorts that share each batch read.
    case cohorts(trials: Int, cohorts: Int)
}

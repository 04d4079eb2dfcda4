import Foundation
import Sweep
import Training

/// What is known of a trial before it trains, from its settings and the shapes of the backbone and
/// data alone: trainable parameters, working memory and training FLOPs. Constraints are judged on
/// these (by `hpsweep run` before training, and by `hpsweep validate` before any work).
public struct TrialCosts {
    public let params: Int
    public let memoryBytes: Int
    public let flops: Double

    /// Nil when the settings do not fit the backbone (the trial then fails with that reason).
    /// `cacheTokens`: tokens per example in the cache (1 when it keeps only the class token).
    public init?(
        settings: TrialSettings, width: Int, depth: Int, heads: Int, cacheTokens: Int, classes: Int, trainExamples: Int
    ) {
        guard settings.problem(width: width, depth: depth, backboneHeads: heads) == nil else { return nil }
        let network = settings.makeNetwork(width: width, depth: depth, backboneHeads: heads, classes: classes)
        if cacheTokens == 1 && !network.classTokenOnly { return nil }
        network.expectTokens(cacheTokens)
        params = network.trainableParameterCount
        memoryBytes = TrialTrainer.memoryBytes(
            network: network, batch: settings.batchSize, cacheTokens: cacheTokens, width: width,
            shards: settings.effectiveShards)
        flops = 3 * network.forwardFLOPsPerExample * Double(trainExamples) * Double(settings.epochs)
    }

    /// Why these costs break one of `constraints` ("params 25546 breaks the constraint 'params <= 2e4'"), or nil.
    public func violation(of constraints: [SearchSpec.Constraint]) -> String? {
        for constraint in constraints {
            let value: Double
            switch constraint.metric {
            case .params: value = Double(params)
            case .peakMemory: value = Double(memoryBytes)
            default: value = flops
            }
            if value > constraint.maximum {
                return "\(constraint.metric.rawValue) \(format(value)) breaks the constraint '\(constraint.text)'"
            }
        }
        return nil
    }
}

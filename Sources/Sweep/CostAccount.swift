import Essentials
import Foundation

/// Where a sweep's time went, honestly: the backbone once (the cache build, amortised over the
/// trials) and each trial's own side-network training, against an estimate of the usual approach in
/// which every trial runs the frozen backbone over its images in every epoch.
///
/// The estimate charges the backbone at this cache's own rate (build seconds per image, decoding
/// included) for each trial's epochs × (train + eval images), plus the trial's side-network time,
/// and likewise for final retrainings. Reads of cached batches are inside the trials' time.
public struct CostAccount {
    public let backboneSeconds: Double?
    public let sideNetSeconds: Double
    public let trials: Int
    public let usualSeconds: Double?

    public var totalSeconds: Double? { backboneSeconds.map { $0 + sideNetSeconds } }
    public var amortisedBackboneSeconds: Double? { backboneSeconds.map { $0 / Double(max(trials, 1)) } }

    public init(state: SweepState) {
        let basis = state.costBasis
        let perImage = basis.flatMap { b -> Double? in
            guard let s = b["cache_seconds"], let n = b["cache_images"], n > 0 else { return nil }
            return s / n
        }
        let trained = state.records.filter { $0.result != nil }
        trials = trained.count
        backboneSeconds = basis?["cache_seconds"]
        var side = 0.0, usual = 0.0
        for r in trained {
            let result = r.result!
            side += result.trainSeconds
            let images = Double(result.epochsRun) * ((basis?["train_images"] ?? 0) + (basis?["eval_images"] ?? 0))
            usual += images * (perImage ?? 0) + result.trainSeconds
            if let final = r.finalSeconds {
                side += final
                let finalImages =
                    Double(result.epochsRun) * (basis?["final_train_images"] ?? 0) + (basis?["final_eval_images"] ?? 0)
                usual += finalImages * (perImage ?? 0) + final
            }
        }
        sideNetSeconds = side
        usualSeconds = perImage == nil ? nil : usual
    }

    /// One paragraph for people.
    public var description: String {
        guard let backbone = backboneSeconds, let total = totalSeconds, let usual = usualSeconds else {
            return String(
                format:
                    "side networks %.1f s over %d trials (the cache's build time is unknown: it was built before hpsweep recorded it, or imported)",
                sideNetSeconds, trials)
        }
        return String(
            format:
                "backbone once (the cache) %.1f s, amortised %.2f s per trial; side networks %.1f s over %d trials; total %.1f s. The usual approach (the backbone in every trial's every epoch) would take about %.0f s: %.1f× as long.",
            backbone, backbone / Double(max(trials, 1)), sideNetSeconds, trials, total, usual, usual / max(total, 1e-9))
    }

    public var json: JSONValue {
        var d: [String: JSONValue] = [
            "side_net_seconds": .number(sideNetSeconds), "trials": .int(trials),
            "method":
                "usual = sum over trials of epochs x (train + eval images) x cache seconds per image + the trial's own seconds",
        ]
        if let b = backboneSeconds {
            d["backbone_seconds"] = .number(b)
            d["amortised_backbone_seconds_per_trial"] = .number(b / Double(max(trials, 1)))
        }
        if let t = totalSeconds { d["total_seconds"] = .number(t) }
        if let u = usualSeconds { d["usual_approach_seconds_estimate"] = .number(u) }
        return .object(d)
    }
}

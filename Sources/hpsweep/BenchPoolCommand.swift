import Backbone
import Cache
import Essentials
import Foundation
import Numerics
import SideNets
import Sweep
import Training

/// `hpsweep bench pool`: K side-network trials through the Dispatch pool versus one after another.
enum BenchPoolCommand: Command {
    static let trials = Option<Int>.positiveInteger("trials", "K", help: "Number of trials (default 8).")
    static let steps = Option<Int>.positiveInteger("steps", "N", help: "Training steps per trial (default 2).")
    static let workers = Option<Int>.positiveInteger(
        "workers", "N", help: "Pool workers (default: all \(availableCores) cores).", maximum: 4096)
    static let batch = Option<Int>.positiveInteger(
        "batch", "N", help: "Examples per step (default 64).", maximum: 1 << 16)
    static let cache = Option<String>.text(
        "cache", "DIR", help: "Train real trials on this cache (its first split) instead of random taps; pool only.")
    static let epochs = Option<Int>.positiveInteger("epochs", "N", help: "With --cache: epochs per trial (default 1).")
    static let sharedReads = Flag(
        "shared-reads",
        help: "With --cache: train the trials in lockstep cohorts that read each batch once (SharedReads).")
    static let cohort = Option<Int>.positiveInteger(
        "cohort", "N", help: "With --shared-reads: trials per cohort (default: all).")
    static let path = ["bench", "pool"]
    static let summary =
        "Measure the trial pool: K trials (default 8 × last, ViT-B/16 shapes) in parallel vs one after another."
    static let usage =
        "[NAME] [--trials K] [--steps N] [--workers N] [--batch N] \(BenchSideNetCommand.networkUsage) [--cache DIR [--epochs N] [--shared-reads [--cohort N]]]"
    static var methodOptions: [OptionSpec] { BenchSideNetCommand.methodOptions }
    static let options =
        BenchSideNetCommand.networkOptions + [
            trials.spec,
            steps.spec,
            workers.spec,
            batch.spec,
            cache.spec,
            epochs.spec,
            sharedReads.spec,
            cohort.spec,
        ]

    static func run(_ arguments: ParsedArguments) throws {
        if let directory = arguments[BenchPoolCommand.cache] { return try runOnCache(directory, arguments) }
        let name = arguments.positionals.first ?? "last"
        let K = try arguments.value(BenchPoolCommand.trials, default: 8),
            steps = try arguments.value(BenchPoolCommand.steps, default: 2)
        let workers = try arguments.value(BenchPoolCommand.workers, default: availableCores),
            B = try arguments.value(BenchPoolCommand.batch, default: 64)
        let (N, D, L, C) = (197, 768, 12, 100)
        // Each trial builds its own network inside the pool (and frees it when done), as real trials do.
        let probe = try BenchSideNetCommand.makeNetwork(name, arguments, width: D, depth: L, classes: C)
        let make = { try BenchSideNetCommand.makeNetwork(name, arguments, width: D, depth: L, classes: C) }
        // One batch of taps, read by every trial (as trials on one cache share it).
        var rng = SeededRNG(seed: 1)
        let batch = TapBatch(
            taps: BenchSideNetCommand.randomTaps(for: probe, batch: B, tokens: N, width: D, rng: &rng),
            labels: (0..<B).map { Int32($0 % C) })
        print(
            "hpsweep bench pool: \(K) × \(name) (\(probe.trainableParameterCount) parameters), \(steps) steps each, batch \(B), ViT-B/16 shapes"
        )
        print(machineLine)

        func trials() -> [PoolTrial] {
            (0..<K).map { index in
                PoolTrial(id: "trial-\(index)", memoryBytes: probe.trialMemoryBytes(batch: B)) {
                    let network = try make()
                    var trng = SeededRNG(seed: UInt64(index))
                    var p = [Float](repeating: 0, count: network.layout.count)
                    network.initialize(&p, rng: &trng)
                    var g = [Float](repeating: 0, count: p.count)
                    var optimizer = AdamW(
                        parameterCount: p.count, weightDecay: 1e-4, decayMask: network.layout.decayMask)
                    var loss: Float = 0
                    for _ in 0..<steps {
                        for i in 0..<g.count { g[i] = 0 }
                        loss = network.lossAndGradients(p, gradients: &g, batch).loss
                        optimizer.update(&p, gradients: g, lr: 1e-3)
                    }
                    return TrialResult(
                        status: loss.isFinite ? .finished : .diverged, epochsRun: 1, bestEpoch: 1, bestValAccuracy: 0,
                        finalValAccuracy: 0, finalValLoss: loss, history: [], trainableParameters: p.count,
                        trainingFLOPs: 0, workingMemoryBytes: 0, trainSeconds: 0)
                }
            }
        }
        func timed(workers: Int) -> Double {
            let start = DispatchTime.now().uptimeNanoseconds
            let outcomes = TrialPool(workers: workers).run(trials())
            precondition(outcomes.allSatisfy { $0.result?.status == .finished }, "bench pool: a trial failed")
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
        let sequential = timed(workers: 1)
        print(
            String(
                format: "  one after another (1 worker): %.1f s, %.2f s per trial-step", sequential,
                sequential / Double(K * steps)))
        let pooled = timed(workers: workers)
        print(
            String(
                format: "  pool (%d workers):           %.1f s, %.2f s per trial-step of wall time", workers, pooled,
                pooled / Double(K * steps)))
        print(String(format: "  pool throughput / sequential: %.2f×", sequential / pooled))
        print(String(format: "  peak resident memory: %.0f MiB", Double(peakResidentBytes()) / 1_048_576))
    }

    /// K real trials (the trainer: cache reads, AdamW, evaluation) on a cache, through the pool or
    /// (`--shared-reads`) in lockstep cohorts; reports wall time, read time and the peak RSS. Every
    /// trial has seed 0 (one data order), so both ways train the same trials: compare the printed
    /// checksum of their results.
    static func runOnCache(_ directory: String, _ arguments: ParsedArguments) throws {
        let cache = try ActivationCache(directory: directory)
        let name = arguments.positionals.first ?? "last"
        let K = try arguments.value(BenchPoolCommand.trials, default: 16),
            epochs = try arguments.value(BenchPoolCommand.epochs, default: 1)
        let workers = try arguments.value(BenchPoolCommand.workers, default: availableCores),
            B = try arguments.value(BenchPoolCommand.batch, default: 64)
        guard let split = cache.splitNames.first else { throw FileProblem("\(directory): the cache has no split") }
        let labels = try cache.labels(split)
        let classes = (labels.max() ?? 0) + 1
        let depth =
            cache.header.taps.compactMap { if case .block(let i) = $0 { return i } else { return nil } }.max() ?? 0
        // The cache does not record the backbone's heads (only LST uses them): the usual count for the width.
        let heads = ViTConfig.conventionalHeads(forWidth: cache.header.width) ?? 1
        let data = TrialData(cache: cache, trainSplit: split, evalSplit: split, classes: classes)
        let trainers = try (0..<K).map { k -> TrialTrainer in
            var settings = try BenchSideNetCommand.settings(name, arguments)
            settings.learningRate = 1e-3 * Float(1 + k % 4)
            settings.batchSize = B; settings.epochs = epochs; settings.seed = 0
            return try TrialTrainer(
                settings: settings, data: data, backboneWidth: cache.header.width, backboneDepth: depth,
                backboneHeads: heads)
        }
        let shared = arguments.isSet(BenchPoolCommand.sharedReads)
        let cohort = try arguments.value(BenchPoolCommand.cohort, default: K)
        print(
            "hpsweep bench pool: \(K) × \(name) on \(directory) (\(split), \(labels.count) examples, \(epochs) epoch\(epochs == 1 ? "" : "s")), \(workers) workers, "
                + (shared ? "shared reads in cohorts of \(cohort)" : "independent trials"))
        print(machineLine)
        let start = DispatchTime.now().uptimeNanoseconds
        var outcomes: [TrialOutcome] = []
        if shared {
            for first in stride(from: 0, to: K, by: cohort) {
                let members = Array(trainers[first..<min(first + cohort, K)])
                outcomes += try SharedReads.run(members, workers: workers).map { TrialOutcome.completed($0) }
                print(
                    String(
                        format: "  cohort of %d done at %.1f s", members.count,
                        Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9))
            }
        } else {
            let progress = PoolProgressLine(workers: workers, trials: K) { _, outcome in
                outcome.result.map { String(format: "accuracy %.3f", $0.finalValAccuracy) } ?? "failed"
            }
            outcomes = TrialPool(workers: workers).run(
                trainers.enumerated().map { k, trainer in
                    PoolTrial(id: "trial-\(k)", memoryBytes: trainer.memoryBytes) { try trainer.run() }
                }, onEvent: progress.record)
            progress.finish()
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let failed = outcomes.filter { $0.result == nil }.count
        let results = outcomes.compactMap(\.result)
        // Equal for both ways of training (bitwise equal results): the final losses' bits, hashed.
        let checksum = results.reduce(UInt64(14_695_981_039_346_656_037)) {
            ($0 ^ UInt64($1.finalValLoss.bitPattern)) &* 1_099_511_628_211
        }
        print(
            String(format: "  results checksum %016llx; accuracies ", checksum)
                + results.map { String(format: "%.3f", $0.finalValAccuracy) }.joined(separator: " "))
        let train = results.reduce(0) { $0 + $1.trainSeconds }, read = results.reduce(0) { $0 + $1.readSeconds }
        print(
            String(
                format: "  %d trials in %.1f s (%d failed); peak resident memory %.0f MiB", K, seconds, failed,
                Double(peakResidentBytes()) / 1_048_576))
        // What shared reads could save at most: every trial reads and converts each batch itself.
        print(
            String(
                format: "  reading cached batches: %.1f s of %.1f s trial time (%.1f%%)", read, train,
                100 * read / max(train, 1e-9)))
    }
}

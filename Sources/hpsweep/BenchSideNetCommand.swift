import Cache
import Essentials
import Foundation
import Numerics
import SideNets
import SideTuning
import Sweep
import Training

/// `hpsweep bench sidenet NAME`: training steps/s of one side network on cached-shaped random input.
enum BenchSideNetCommand: Command {
    /// One option per method hyperparameter the registry declares (`--rank`, `--modules-per-group`, …).
    static let hyperparameterOptions: [(parameter: MethodHyperparameter, option: Option<MethodValue>)] = {
        var seen = Set<String>(), options: [(MethodHyperparameter, Option<MethodValue>)] = []
        for method in SideTuningMethods.all {
            for parameter in method.hyperparameters where seen.insert(parameter.name).inserted {
                let users = SideTuningMethods.all.filter { $0.hyperparameters.contains { $0.name == parameter.name } }
                let help = users.map { m in
                    let d =
                        benchDefaults[parameter.name]
                        ?? m.hyperparameters.first { $0.name == parameter.name }!.defaultValue
                    return "\(m.methodName): \(parameter.help)" + (d.map { " (default \($0))" } ?? "")
                }.joined(separator: "; ")
                options.append((parameter, Option.methodValue(parameter, help: help + ".")))
            }
        }
        return options
    }()
    /// Where the benchmark's shapes differ from the methods' defaults: LAST at ViT-B/16 with 4 heads.
    static let benchDefaults: [String: MethodValue] = ["heads": 4]
    static let backboneHeads = Option<Int>.positiveInteger(
        "backbone-heads", "H", help: "The backbone's heads, which lst's side blocks have (default 12).")
    static let batch = Option<Int>.positiveInteger(
        "batch", "N", help: "Examples per step (default 64).", maximum: 1 << 16)
    static let tokens = Option<Int>.positiveInteger("tokens", "N", help: "Tokens per example (default 197).")
    static let width = Option<Int>.positiveInteger("width", "D", help: "Backbone width (default 768).")
    static let depth = Option<Int>.positiveInteger("depth", "L", help: "Backbone depth (default 12).")
    static let classes = Option<Int>.positiveInteger("classes", "C", help: "Classes (default 100).")
    static let steps = Option<Int>.positiveInteger(
        "steps", "N", help: "Timed steps after one warm-up step (default 5).")
    static let threads = Option<Int>.positiveInteger(
        "threads", "N", help: "Workers, one batch shard each (default: all \(availableCores) cores).", maximum: 4096)
    static let shards = Option<Int>.positiveInteger(
        "shards", "S",
        help: "Batch shards, as a trial's `shards` (default: as many as threads where each carries enough work).",
        maximum: 64)
    static let compute = Option<ComputePrecision>.choice(
        "compute",
        help:
            "The Linear layers' precision, as a trial's `compute`: fp32 (default) or bf16 (AVX512_BF16; AMX where present)."
    )
    static let torch = Flag(
        "torch",
        help:
            "Also run scripts/bench_sidenet_torch.py (torch and tcmalloc: scripts/setup --with-peers) and print the ratio; with AVX512_BF16 also its bf16 autocast."
    )
    static let path = ["bench", "sidenet"]
    static let summary =
        "Measure training steps/s of a side network (\(SideTuningMethods.names.joined(separator: ", "))) on ViT-B/16-shaped taps."
    static let usage =
        "NAME [--batch N] \(networkUsage) [--classes C] [--tokens N] [--width D] [--depth L] [--steps N] [--threads N] [--shards S] [--torch]"
    /// The network options in a usage line (shared with `bench pool`).
    static let networkUsage = "[--HYPERPARAMETER VALUE]… [--backbone-heads H] [--compute fp32|bf16]"
    /// The network options besides the methods' hyperparameters (shared with `bench pool`).
    static let networkOptions = [backboneHeads.spec, compute.spec]
    static var methodOptions: [OptionSpec] { hyperparameterOptions.map(\.option.spec) }

    /// Random taps (batch, tokens, width) for every tap `network` reads.
    static func randomTaps(for network: SideNetwork, batch B: Int, tokens N: Int, width D: Int, rng: inout SeededRNG)
        -> [Tap: Tensor]
    {
        var taps: [Tap: Tensor] = [:]
        for tap in network.requiredTaps {
            var t = Tensor(shape: [B, N, D])
            t.withUnsafeMutablePointer { rng.fillNormal($0, count: B * N * D, std: 1) }
            taps[tap] = t
        }
        return taps
    }

    static let options =
        networkOptions + [
            batch.spec,
            tokens.spec,
            width.spec,
            depth.spec,
            classes.spec,
            steps.spec,
            threads.spec,
            shards.spec,
            torch.spec,
        ]

    /// The network `name` with the sizes the options give, built through the method registry as
    /// trials build theirs (lst's side heads are the backbone's: `--heads`, default 12).
    static func makeNetwork(_ name: String, _ arguments: ParsedArguments, width D: Int, depth L: Int, classes C: Int)
        throws -> SideNetwork
    {
        let settings = try settings(name, arguments)
        let backboneHeads = try arguments.value(backboneHeads, default: 12)
        if let problem = settings.problem(width: D, depth: L, backboneHeads: backboneHeads) {
            throw UsageError(problem)
        }
        return settings.makeNetwork(width: D, depth: L, backboneHeads: backboneHeads, classes: C)
    }

    /// The settings of method `name` with the values the options give (the bench's defaults elsewhere).
    static func settings(_ name: String, _ arguments: ParsedArguments) throws -> TrialSettings {
        guard let method = SideTuningMethods.named(name) else {
            let names = SideTuningMethods.names
            throw UsageError(
                "unknown side network '\(name)'\(didYouMean(name, among: names)) (\(names.joined(separator: ", ")))")
        }
        var settings = TrialSettings(method: name)
        for (parameter, option) in hyperparameterOptions {
            let declared = method.hyperparameters.contains { $0.name == parameter.name }
            if let value = try arguments.value(option) {
                guard declared else { throw UsageError("--\(option.spec.name) is not a hyperparameter of \(name)") }
                settings.values[parameter.name] = value
            } else if declared, let value = benchDefaults[parameter.name] {
                settings.values[parameter.name] = value
            }
        }
        if settings.needsBackboneWeights {
            throw UsageError("\(name) with these values starts from a backbone's weights; the bench has none")
        }
        let precision = try arguments.value(compute, default: .fp32)
        if let problem = precision.unavailability { throw UsageError(problem) }
        settings.compute = precision == .fp32 ? nil : precision
        return settings
    }

    static func run(_ arguments: ParsedArguments) throws {
        guard arguments.positionals.count == 1 else {
            throw UsageError(
                "'\(displayName)' needs a network name: \(SideTuningMethods.names.joined(separator: ", "))")
        }
        let B = try arguments.value(BenchSideNetCommand.batch, default: 64),
            N = try arguments.value(BenchSideNetCommand.tokens, default: 197)
        let D = try arguments.value(BenchSideNetCommand.width, default: 768),
            L = try arguments.value(BenchSideNetCommand.depth, default: 12)
        let C = try arguments.value(BenchSideNetCommand.classes, default: 100)
        let steps = try arguments.value(BenchSideNetCommand.steps, default: 5),
            threads = try arguments.value(BenchSideNetCommand.threads, default: availableCores)
        let name = arguments.positionals[0]
        let probe = try makeNetwork(name, arguments, width: D, depth: L, classes: C)
        // The random taps are allocated whole: refuse sizes the machine cannot hold before trying.
        let tapBytes = [probe.requiredTaps.count, B, N, D, 4].reduce((1, false)) { product, factor in
            let (value, overflow) = product.0.multipliedReportingOverflow(by: factor)
            return (value, product.1 || overflow)
        }
        let memory = Int(clamping: ProcessInfo.processInfo.physicalMemory)
        if tapBytes.1 || tapBytes.0 > memory / 2 {
            throw UsageError(
                "--batch \(B) × --tokens \(N) × --width \(D) over \(probe.requiredTaps.count) taps needs more than half of this machine's \(memory >> 30) GiB; choose smaller sizes"
            )
        }
        // As many shards as threads, where each carries enough work (a linear probe stays whole).
        let shards =
            try arguments.value(BenchSideNetCommand.shards)
            ?? DataParallelStep.worthwhileShards(probe, batch: B, limit: threads)
        guard shards <= B else { throw UsageError("--shards \(shards) is more than the batch (\(B))") }
        let replicas =
            try [probe] + (1..<shards).map { _ in try makeNetwork(name, arguments, width: D, depth: L, classes: C) }
        let network = replicas[0]
        var rng = SeededRNG(seed: 1)
        let batch = TapBatch(
            taps: randomTaps(for: network, batch: B, tokens: N, width: D, rng: &rng),
            labels: (0..<B).map { Int32($0 % C) })
        // The random taps were made as tensors and copied: start the peak after that transient.
        resetPeakResidentBytes()
        let before = currentResidentBytes()
        var p = [Float](repeating: 0, count: network.layout.count)
        network.initialize(&p, rng: &rng)
        // Non-zero A_O etc. so every backward GEMM does real work (LAST starts with A_O = 0).
        for i in 0..<p.count where p[i] == 0 { p[i] = rng.nextNormal() * 1e-3 }
        var g = [Float](repeating: 0, count: p.count)
        var optimizer = AdamW(parameterCount: p.count, weightDecay: 1e-4, decayMask: network.layout.decayMask)
        let step = DataParallelStep(replicas: replicas)
        let precision = try arguments.value(compute, default: .fp32)
        print(
            "hpsweep bench sidenet: \(name), \(network.trainableParameterCount) trainable parameters, batch \(B), \(N) tokens, width \(D), \(network.requiredTaps.count) taps, \(replicas.count) shards on \(threads) threads, compute \(precision.rawValue)"
        )
        print(machineLine)
        var times: [Double] = []
        for iteration in 0...steps {
            let start = DispatchTime.now().uptimeNanoseconds
            for i in 0..<g.count { g[i] = 0 }
            let loss = step.lossAndGradients(p, gradients: &g, batch, threads: threads)
            optimizer.update(&p, gradients: g, lr: 1e-3)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            guard loss.isFinite else { throw FileProblem("bench: the loss is not finite") }
            if iteration > 0 { times.append(seconds) }
        }
        let peak = peakResidentBytes()
        let median = times.sorted()[times.count / 2]
        let flops = 3 * network.forwardFLOPsPerExample * Double(B)  // forward + backward ≈ 3× forward
        print(
            String(
                format:
                    "  step: %.4f s (median of %d), %.2f steps/s, %.1f GFLOP/s (%.2f GFLOP per step, forward+backward ≈ 3× forward)",
                median, times.count, 1 / median, flops / median / 1e9, flops / 1e9))
        // The estimate is per trial at the full batch; the workers together hold about that much
        // (each a shard), plus one gradient buffer per worker (and a class-token network's shard copies).
        let estimate =
            network.trialMemoryBytes(batch: B) + threads * 4 * network.layout.count
            + (network.classTokenOnly ? B * D * 4 * network.requiredTaps.count : 0)
        let measured = max(0, peak - before)
        print(
            String(
                format:
                    "  working memory: %.1f MiB measured (peak RSS growth), %.1f MiB estimated (%.0f%%; %d taps read in place)",
                Double(measured) / 1_048_576, Double(estimate) / 1_048_576,
                100 * Double(measured) / Double(max(estimate, 1)),
                network.requiredTaps.count))
        if arguments.isSet(BenchSideNetCommand.torch) {
            var peerArguments = [name, "--batch", String(B), "--steps", String(steps), "--threads", String(threads)]
            let settings = try settings(name, arguments)
            for (parameter, option) in hyperparameterOptions where parameter.kind != .integers {
                if let value = settings.values[parameter.name] {
                    peerArguments += ["--\(option.spec.name)", "\(value)"]
                }
            }
            peerArguments += ["--backbone-heads", String(try arguments.value(backboneHeads, default: 12))]
            let peer = try TorchPeer.run("bench_sidenet_torch.py", peerArguments, rate: "steps/s")
            print(
                String(
                    format:
                        "  PyTorch fp32 (same network, step and threads): %.2f steps/s  ->  hpsweep (\(precision.rawValue)) / PyTorch (fp32) = %.2f×",
                    peer, (1 / median) / peer))
            // PyTorch's mixed precision beside it, where the CPU multiplies bf16 natively.
            if BFloat16GEMM.hardwareAvailable {
                let autocast = try TorchPeer.run(
                    "bench_sidenet_torch.py", peerArguments + ["--compute", "bf16"], rate: "steps/s")
                print(
                    String(
                        format:
                            "  PyTorch bf16 autocast: %.2f steps/s  ->  hpsweep (\(precision.rawValue)) / PyTorch (bf16) = %.2f×",
                        autocast, (1 / median) / autocast))
            }
        }
    }
}

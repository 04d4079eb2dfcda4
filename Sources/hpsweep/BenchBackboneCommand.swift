import Backbone
import Essentials
import Foundation
import Numerics
import Sweep

/// `hpsweep bench backbone`: throughput of the frozen ViT forward against the machine's own sgemm.
enum BenchBackboneCommand: Command {
    static let config = Option<String>.text(
        "config", "NAME", help: "Named ViT: \(ViTConfig.presets.map(\.name).joined(separator: ", ")) (default vit-b16)."
    )
    static let weights = Option<String>.text(
        "weights", "FILE", help: "Use a checkpoint (.safetensors/.npz) instead of random weights.")
    static let heads = Option<Int>.positiveInteger(
        "heads", "N", help: "Attention heads of --weights when they cannot be inferred.")
    static let batch = Option<Int>.positiveInteger(
        "batch", "N", help: "Images per forward pass (default 32).", maximum: 1 << 16)
    static let threads = Option<Int>.positiveInteger(
        "threads", "N", help: "Threads (default: all \(availableCores) cores).", maximum: 4096)
    static let iterations = Option<Int>.positiveInteger(
        "iterations", "N", help: "Timed forward passes after one warm-up (default 3).")
    enum KeptTaps: String, CaseIterable { case all, last }
    static let taps = Option<KeptTaps>.choice(
        "taps", help: "Keep every block's output (all, default) or only the last (last).")
    static let compute = Option<ComputePrecision>.choice(
        "compute",
        help: "GEMM precision: fp32 (default) or bf16 (AVX512_BF16; also reports the taps' deviation from fp32).")
    static let torch = Flag(
        "torch",
        help:
            "Also run scripts/bench_backbone_torch.py (torch and tcmalloc: scripts/setup --with-peers) and print the ratio."
    )
    static let path = ["bench", "backbone"]
    static let summary = "Measure the ViT forward pass (images/s, GFLOP/s) against this machine's sgemm rate."
    static let usage =
        "[--config NAME] [--weights FILE [--heads N]] [--batch N] [--threads N] [--iterations N] [--taps all|last] [--compute fp32|bf16] [--torch]"
    static let options = [
        config.spec,
        weights.spec,
        heads.spec,
        batch.spec,
        threads.spec,
        iterations.spec,
        taps.spec,
        compute.spec,
        torch.spec,
    ]

    static func run(_ arguments: ParsedArguments) throws {
        guard arguments.positionals.isEmpty else {
            throw UsageError("unexpected argument '\(arguments.positionals[0])' for '\(displayName)'")
        }
        let batch = try arguments.value(BenchBackboneCommand.batch, default: 32)
        let threads = try arguments.value(BenchBackboneCommand.threads, default: availableCores)
        let iterations = try arguments.value(BenchBackboneCommand.iterations, default: 3)
        let tapsChoice = try arguments.value(BenchBackboneCommand.taps, default: .all)
        let compute = try arguments.value(BenchBackboneCommand.compute, default: .fp32)
        if let problem = compute.unavailability { throw FileProblem(problem) }

        let vit: ViT
        let label: String
        if let weightsPath = arguments[BenchBackboneCommand.weights] {
            let heads = try arguments.value(BenchBackboneCommand.heads)
            let loaded = try LoadedViT(path: weightsPath, heads: heads)
            vit = ViT(loaded, compute: compute)
            label = "\(weightsPath) (\(loaded.convention.rawValue), \(loaded.scalarType.rawValue))"
        } else {
            let name = arguments[BenchBackboneCommand.config] ?? "vit-b16"
            guard let config = ViTConfig.preset(named: name) else {
                let names = ViTConfig.presets.map(\.name)
                throw UsageError(
                    "unknown ViT config '\(name)'\(didYouMean(name, among: names)) (known: \(names.joined(separator: ", ")))"
                )
            }
            vit = ViT(config: config, parameters: .random(config, seed: 0), compute: compute)
            label = "\(name), random weights"
        }
        let c = vit.config
        print("hpsweep bench backbone: \(label)")
        print(machineLine)
        print("  \(c), \(c.tokens) tokens, \(String(format: "%.1f", Double(c.parameterCount) / 1e6))M parameters")
        print(
            "  batch \(batch), \(threads) thread\(threads == 1 ? "" : "s"), taps: \(tapsChoice == .all ? "z0…z\(c.depth)" : "z\(c.depth)"), compute \(compute.rawValue)"
        )

        // The machine's sgemm rate on the backbone's largest GEMM (the MLP's fc1), same thread count.
        let m = batch * c.tokens, n = c.hiddenWidth, k = c.width
        let sgemmRate = measureSGEMM(m: m, n: n, k: k, threads: threads)
        print(String(format: "  sgemm %d×%d×%d, %d threads: %.1f GFLOP/s", m, n, k, threads, sgemmRate))

        var rng = SeededRNG(seed: 1)
        var images = Tensor(shape: [batch, c.channels, c.imageSize, c.imageSize])
        for i in 0..<images.count { images.storage[i] = rng.nextNormal() }
        let taps = tapsChoice == .all ? Array(0...c.depth) : [c.depth]
        var times: [Double] = []
        var last = Tensor(shape: [0])
        for iteration in 0...iterations {
            let start = DispatchTime.now().uptimeNanoseconds
            let output = vit.forward(images: images, taps: taps, threads: threads)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            precondition(output.taps[c.depth]!.storage.allSatisfy { $0.isFinite }, "bench: non-finite activations")
            if iteration > 0 { times.append(seconds) }
            last = output.taps[c.depth]!
            print(String(format: "  %@ %.3f s", iteration == 0 ? "warm-up:  " : "pass \(iteration):   ", seconds))
        }
        let median = times.sorted()[times.count / 2]
        let flops = c.forwardFLOPsPerImage * Double(batch)
        let rate = flops / median / 1e9
        print(
            String(
                format: "  forward: %.3f s/batch (median of %d), %.2f images/s, %.1f GFLOP/s (%.2f GFLOP/image)",
                median, times.count, Double(batch) / median, rate, c.forwardFLOPsPerImage / 1e9))
        print(String(format: "  forward / sgemm: %.2f", rate / sgemmRate))
        if compute != .fp32 {
            // How far the taps move: the same forward in fp32, z_L compared element by element.
            let reference = ViT(config: c, parameters: vit.parameters).forward(
                images: images, taps: [c.depth], threads: threads
            ).taps[c.depth]!
            let (maximum, rms) = deviation(last.storage, from: reference.storage)
            print(String(format: "  z%d vs fp32: max |Δ| %.2e, rms(Δ) / rms(z) %.2e", c.depth, maximum, rms))
        }
        print(String(format: "  peak resident memory: %.0f MiB", Double(peakResidentBytes()) / 1_048_576))
        if arguments.isSet(BenchBackboneCommand.torch) {
            guard arguments[BenchBackboneCommand.weights] == nil else {
                throw UsageError("--torch compares random-weight presets only; drop --weights")
            }
            let peer = try TorchPeer.run(
                "bench_backbone_torch.py",
                [
                    "--config", arguments[BenchBackboneCommand.config] ?? "vit-b16", "--batch", String(batch),
                    "--threads", String(threads), "--iterations", String(iterations),
                    "--compute", compute.rawValue,
                ], rate: "images/s")
            print(
                String(
                    format:
                        "  PyTorch (same forward, batch, threads and compute): %.2f images/s  ->  hpsweep / PyTorch = %.2f×",
                    peer, Double(batch) / median / peer))
        }
    }

    /// The largest absolute difference, and the root-mean-square difference relative to the reference's.
    static func deviation(_ values: [Float], from reference: [Float]) -> (maximum: Double, relativeRMS: Double) {
        var maximum = 0.0, squares = 0.0, referenceSquares = 0.0
        for (x, y) in zip(values, reference) {
            let d = Double(x) - Double(y)
            maximum = max(maximum, abs(d))
            squares += d * d
            referenceSquares += Double(y) * Double(y)
        }
        return (maximum, (squares / max(referenceSquares, .leastNormalMagnitude)).squareRoot())
    }

    /// GFLOP/s of `C = A·Bᵀ` (m×k by n×k) with `threads` BLAS threads: median of 5 after a warm-up.
    static func measureSGEMM(m: Int, n: Int, k: Int, threads: Int) -> Double {
        var rng = SeededRNG(seed: 2)
        var a = [Float](repeating: 0, count: m * k), b = [Float](repeating: 0, count: n * k)
        var c = [Float](repeating: 0, count: m * n)
        rng.fillNormal(&a, count: a.count, std: 1)
        rng.fillNormal(&b, count: b.count, std: 1)
        var times: [Double] = []
        BLAS.withThreadCount(threads) {
            for iteration in 0..<6 {
                let start = DispatchTime.now().uptimeNanoseconds
                BLAS.sgemm(transB: true, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: k, c: &c, ldc: n)
                if iteration > 0 { times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9) }
            }
        }
        return 2 * Double(m) * Double(n) * Double(k) / times.sorted()[times.count / 2] / 1e9
    }
}

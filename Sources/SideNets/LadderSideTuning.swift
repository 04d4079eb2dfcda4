// Over 300 lines because the ladder's forward and backward passes mirror each other step for step and are checked
// against each other by eye; splitting them would separate what must change together (pruning is LadderPruning.swift).

import Backbone
import Cache
import Essentials
import Foundation
import Numerics

/// `lst`: Ladder Side-Tuning (Sung, Cho, Bansal 2022, arXiv 2206.06522; code ylsung/Ladder-Side-Tuning),
/// as shared/METHODS.md writes it for a ViT backbone:
///   h = Down₀(z₀);  for each kept layer i:  μᵢ = σ(αᵢ / T),  h = μᵢ·h + (1 − μᵢ)·Downᵢ(zᵢ),  h = SideBlockᵢ(h)
///   logits = W_h · Up(LN(h))[cls] + b
/// Side width d = D / r; side blocks are pre-norm transformer blocks of width d with the backbone's
/// head count and MLP 4d; Downᵢ: Linear D → d with bias; T = 0.1, αᵢ = 0 at start (gates ½); LN has
/// affine parameters; Up: Linear d → D. Layer dropping = the choice of kept layers.
/// Legend: B batch, N tokens, D backbone width, d side width, L depth, C classes, M = B·N.
public final class LadderSideTuning: SideTuningMethod {
    public let layout: ParameterLayout
    public let classes: Int
    public let width: Int, sideWidth: Int, depth: Int, heads: Int
    /// Backbone layers (1…L) that feed the ladder.
    public let layers: [Int]
    public static let temperature: Float = 0.1
    struct Rung { let downWeight, downBias, gate: Int; let block: SideTransformerBlock }
    // (LadderPruning.swift reads `rungs` and `layers` to initialise the side blocks from the backbone.)
    let down0Weight, down0Bias: Int
    let rungs: [Rung]
    let normWeight, normBias, upWeight, upBias, headWeight, headBias: Int
    static let eps: Float = 1e-6

    /// Per rung, with M = B·N rows and d = D / r the side width:
    private struct RungSaved {
        var before: [Float] = []  // (M, d) the side state entering the rung
        var projected: [Float] = []  // (M, d) the backbone tap, projected down
        var block = SideTransformerBlock.Saved()
    }
    // Kept from step to step (same batch shape, same storage: no fresh pages to fault in each step).
    private var saved: [RungSaved] = []
    private var scratch = SideTransformerBlock.Scratch()
    // The side state and its gradients, (M, d) each.
    private var state: [Float] = [], dstate: [Float] = [], dprojected: [Float] = []
    // The head's input: class tokens (B, d), normalised (B, d), statistics (B), Up's output (B, D).
    private var finalInput: [Float] = [], finalNormalized: [Float] = [], finalMean: [Float] = [],
        finalRstd: [Float] = [], upOutput: [Float] = []
    private var tokens = 0

    /// How the random initialisation draws weights (the `init` hyperparameter).
    public let rule: InitRule

    /// The Linear layers, at the trial's compute precision.
    let linear: LinearCompute

    public static let methodName = "lst"
    public static let chartColor = 2
    public static let defaultInitRule = InitRule.xavier
    /// No head LayerNorm of the kind `norm_affine` sets: the ladder's final norm is always affine.
    public static let hasHeadNorm = false
    public static let hyperparameters = [
        MethodHyperparameter(
            "reduction", kind: .integer(minimum: 1), defaultValue: 8, help: "the width reduction r: side width D / r"),
        MethodHyperparameter(
            "layers", settingsKey: "lstLayers", kind: .integers, defaultValue: nil,
            help: "the backbone blocks feeding the ladder, increasing (default: every one)"),
        MethodHyperparameter(
            "lst_init", settingsKey: "lstInit", kind: .word(LadderInitialization.allCases.map(\.rawValue)),
            defaultValue: .word(LadderInitialization.random.rawValue), group: .initialization,
            help: "random, or pruned from the backbone's blocks"),
    ]

    public static func problem(_ v: MethodValues, backbone: BackboneShape) -> String? {
        problem(
            width: backbone.width, depth: backbone.depth, heads: backbone.heads, reduction: v.int("reduction"),
            layers: v.ints("layers"))
    }

    public static func makeNetwork(_ v: MethodValues, backbone: BackboneShape, classes: Int, shared: SharedOptions)
        -> LadderSideTuning
    {
        LadderSideTuning(
            width: backbone.width, depth: backbone.depth, heads: backbone.heads, classes: classes,
            reduction: v.int("reduction"), layers: v.ints("layers"), rule: shared.rule, compute: shared.compute)
    }

    public static func needsBackboneWeights(_ v: MethodValues) -> Bool {
        v.word("lst_init") == LadderInitialization.pruned.rawValue
    }

    /// Pruned from the backbone's blocks with `lst_init` "pruned" (the caller checked it has weights).
    public func initialize(
        _ p: UnsafeMutablePointer<Float>, values: MethodValues, backbone: ViTParameters?, rng: inout SeededRNG
    ) {
        if Self.needsBackboneWeights(values), let backbone {
            initializeByPruning(p, backbone: backbone, rng: &rng)
        } else {
            initialize(p, rng: &rng)
        }
    }

    /// What keeps these sizes from making a network on a backbone of `width`, `depth` and `heads`, or
    /// nil: the one check the initialiser and the sweep's spec check share.
    public static func problem(width: Int, depth: Int, heads: Int, reduction: Int, layers: [Int]?) -> String? {
        if reduction < 1 || width % reduction != 0 {
            return "lst: reduction \(reduction) must divide the backbone width \(width)"
        }
        if (width / reduction) % heads != 0 {
            return
                "lst: side width \(width / reduction) (width \(width) / reduction \(reduction)) must be divisible by the backbone's \(heads) heads"
        }
        if let layers,
            layers.isEmpty || !layers.allSatisfy({ (1...depth).contains($0) }) || layers != layers.sorted()
                || Set(layers).count != layers.count
        {
            return "lst: layers \(layers) must be increasing, within 1...\(depth)"
        }
        return nil
    }

    /// - Parameters: reduction factor r (d = D / r); `layers` defaults to every layer 1…L; `rule` draws
    ///   the weights of the random initialisation (pruning replaces the side blocks' afterwards);
    ///   `compute` is the Linear layers' precision.
    public init(
        width: Int, depth: Int, heads: Int, classes: Int, reduction: Int, layers: [Int]? = nil, rule: InitRule = .timm,
        compute: ComputePrecision = .fp32
    ) {
        if let problem = Self.problem(width: width, depth: depth, heads: heads, reduction: reduction, layers: layers) {
            preconditionFailure(problem)
        }
        let d = width / reduction
        let kept = layers ?? Array(1...depth)
        var layout = ParameterLayout()
        let linear = LinearCompute(compute)
        self.linear = linear
        down0Weight = layout.add("down.0.weight", [d, width], decays: true)
        down0Bias = layout.add("down.0.bias", [d], decays: false)
        rungs = kept.map { i in
            Rung(
                downWeight: layout.add("down.\(i).weight", [d, width], decays: true),
                downBias: layout.add("down.\(i).bias", [d], decays: false),
                gate: layout.add("gates.\(i)", [1], decays: false),
                block: SideTransformerBlock(
                    prefix: "blocks.\(i)", width: d, heads: heads, linear: linear, layout: &layout))
        }
        normWeight = layout.add("norm.weight", [d], decays: false)
        normBias = layout.add("norm.bias", [d], decays: false)
        upWeight = layout.add("up.weight", [width, d], decays: true)
        upBias = layout.add("up.bias", [width], decays: false)
        headWeight = layout.add("head.weight", [classes, width], decays: true)
        headBias = layout.add("head.bias", [classes], decays: false)
        self.layout = layout
        self.classes = classes; self.width = width; self.sideWidth = d; self.depth = depth; self.heads = heads
        self.layers = kept
        self.rule = rule
    }

    public var requiredTaps: [Tap] { [.block(0)] + layers.map { .block($0) } }

    /// Random initialisation (the paper's ablation): every Linear by `rule`, gates α = 0, LayerNorm 1/0.
    public func initialize(_ p: UnsafeMutablePointer<Float>, rng: inout SeededRNG) {
        let d = sideWidth, D = width
        rule.fill(p, weight: down0Weight, bias: down0Bias, outFeatures: d, inFeatures: D, rng: &rng)
        for rung in rungs {
            rule.fill(p, weight: rung.downWeight, bias: rung.downBias, outFeatures: d, inFeatures: D, rng: &rng)
            p[rung.gate] = 0
            rung.block.initialize(p, rule: rule, rng: &rng)
        }
        (p + normWeight).initialize(repeating: 1, count: d); (p + normBias).initialize(repeating: 0, count: d)
        rule.fill(p, weight: upWeight, bias: upBias, outFeatures: D, inFeatures: d, rng: &rng)
        rule.fill(p, weight: headWeight, bias: headBias, outFeatures: classes, inFeatures: D, rng: &rng)
    }

    @inline(__always) func gate(_ alpha: Float) -> Float { 1 / (1 + Foundation.exp(-alpha / Self.temperature)) }

    /// The side state h (B, N, d) after the first `rungCount` rungs (all by default), saving for backward.
    func ladder(_ p: UnsafePointer<Float>, _ input: TapBatch, rungCount: Int? = nil) -> [Float] {
        let B = input.batch, N = input.tokens, D = width, d = sideWidth, M = B * N
        tokens = N
        if saved.count != rungs.count { saved = Array(repeating: RungSaved(), count: rungs.count) }
        var h = [Float]()
        swap(&h, &state)  // moved out, filled, moved back: no copy-on-write of a class's property
        defer { state = h }
        h.reuse(count: M * d, zeroed: false)
        linear.forward(
            out: &h, inp: input.pointer(.block(0)), weight: p + down0Weight, bias: p + down0Bias, rows: M,
            inFeatures: D, outFeatures: d)
        for (index, (rung, layer)) in zip(rungs, layers).prefix(rungCount ?? rungs.count).enumerated() {
            var s = RungSaved()
            swap(&s, &saved[index])
            s.projected.reuse(count: M * d, zeroed: false)
            linear.forward(
                out: &s.projected, inp: input.pointer(.block(layer)), weight: p + rung.downWeight,
                bias: p + rung.downBias,
                rows: M, inFeatures: D, outFeatures: d)
            let mu = gate(p[rung.gate])
            s.before.assign(h)
            h.withUnsafeMutableBufferPointer { hs in
                s.projected.withUnsafeBufferPointer { ps in
                    for k in 0..<hs.count { hs[k] = mu * hs[k] + (1 - mu) * ps[k] }
                }
            }
            rung.block.forward(p, &h, batch: B, tokens: N, saved: &s.block, scratch: &scratch)
            swap(&s, &saved[index])
        }
        return h
    }

    /// The side state after rung `rung` (0-based), as (B, N, d): for tests of the side blocks.
    func sideBlockOutput(_ p: UnsafePointer<Float>, _ input: TapBatch, rung: Int) throws -> Tensor {
        Tensor(shape: [input.batch, input.tokens, sideWidth], storage: ladder(p, input, rungCount: rung + 1))
    }

    public func forward(_ p: UnsafePointer<Float>, _ input: TapBatch) -> [Float] {
        let B = input.batch, N = input.tokens, D = width, d = sideWidth
        let h = ladder(p, input)
        // Only the class token reaches the logits after the last block.
        finalInput = classTokens(h, batch: B, tokens: N, width: d)
        finalNormalized = [Float](repeating: 0, count: B * d)
        finalMean = [Float](repeating: 0, count: B); finalRstd = finalMean
        layerNormForward(
            out: &finalNormalized, mean: &finalMean, rstd: &finalRstd, inp: finalInput, weight: p + normWeight,
            bias: p + normBias,
            rows: B, cols: d, eps: Self.eps)
        upOutput = [Float](repeating: 0, count: B * D)
        linear.forward(
            out: &upOutput, inp: finalNormalized, weight: p + upWeight, bias: p + upBias, rows: B, inFeatures: d,
            outFeatures: D)
        var logits = [Float](repeating: 0, count: B * classes)
        linear.forward(
            out: &logits, inp: upOutput, weight: p + headWeight, bias: p + headBias, rows: B, inFeatures: D,
            outFeatures: classes)
        return logits
    }

    public func backward(
        _ p: UnsafePointer<Float>, gradients g: UnsafeMutablePointer<Float>, _ input: TapBatch, dlogits: [Float]
    ) {
        let B = input.batch, N = tokens, D = width, d = sideWidth, M = B * N
        var dup = [Float](repeating: 0, count: B * D)
        linear.backward(
            dinp: &dup, dweight: g + headWeight, dbias: g + headBias, dout: dlogits, inp: upOutput,
            weight: p + headWeight,
            rows: B, inFeatures: D, outFeatures: classes)
        var dnormalized = [Float](repeating: 0, count: B * d)
        linear.backward(
            dinp: &dnormalized, dweight: g + upWeight, dbias: g + upBias, dout: dup, inp: finalNormalized,
            weight: p + upWeight,
            rows: B, inFeatures: d, outFeatures: D)
        var dcls = [Float](repeating: 0, count: B * d)
        layerNormBackward(
            dinp: &dcls, dweight: g + normWeight, dbias: g + normBias, dout: dnormalized, inp: finalInput,
            weight: p + normWeight,
            mean: finalMean, rstd: finalRstd, rows: B, cols: d)
        var dh = [Float](), dprojected = [Float]()
        swap(&dh, &dstate); swap(&dprojected, &self.dprojected)
        defer { dstate = dh; self.dprojected = dprojected }
        dh.reuse(count: M * d, zeroed: true)
        dprojected.reuse(count: M * d, zeroed: false)
        for b in 0..<B { for k in 0..<d { dh[b * N * d + k] = dcls[b * d + k] } }
        for (index, (rung, layer)) in zip(rungs, layers).enumerated().reversed() {
            rung.block.backward(p, g, &dh, batch: B, tokens: N, saved: saved[index].block, scratch: &scratch)
            // mixed = μ·before + (1 − μ)·projected
            let mu = gate(p[rung.gate])
            var dmu: Float = 0
            saved[index].before.withUnsafeBufferPointer { before in
                saved[index].projected.withUnsafeBufferPointer { projected in
                    dh.withUnsafeMutableBufferPointer { dh in
                        dprojected.withUnsafeMutableBufferPointer { dp in
                            for k in 0..<dh.count {
                                dmu += (before[k] - projected[k]) * dh[k]
                                dp[k] = (1 - mu) * dh[k]
                                dh[k] *= mu
                            }
                        }
                    }
                }
            }
            g[rung.gate] += dmu * mu * (1 - mu) / Self.temperature
            linear.backward(
                dinp: nil, dweight: g + rung.downWeight, dbias: g + rung.downBias, dout: dprojected,
                inp: input.pointer(.block(layer)), weight: p + rung.downWeight, rows: M, inFeatures: D, outFeatures: d)
        }
        linear.backward(
            dinp: nil, dweight: g + down0Weight, dbias: g + down0Bias, dout: dh, inp: input.pointer(.block(0)),
            weight: p + down0Weight, rows: M, inFeatures: D, outFeatures: d)
    }

    public func releaseBuffers() {
        saved = []; scratch = SideTransformerBlock.Scratch(); state = []; dstate = []; dprojected = []
        finalInput = []; finalNormalized = []; finalMean = []; finalRstd = []; upOutput = []
        linear.releaseBuffers()
    }

    public var forwardFLOPsPerExample: Double {
        let n = Double(tokens > 0 ? tokens : 197), D = Double(width), d = Double(sideWidth)
        let downs = Double(rungs.count + 1) * 2 * n * D * d
        let blocks = rungs.reduce(0.0) { $0 + n * $1.block.flopsPerToken(tokens: Int(n)) }
        return downs + blocks + 2 * d * D + 2 * D * Double(classes)
    }

    public func workingMemoryBytes(batch B: Int) -> Int {
        workingMemoryBytes(batch: B, tokens: tokens > 0 ? tokens : 197)
    }

    public func expectTokens(_ tokens: Int) { self.tokens = tokens }

    public func workingMemoryBytes(batch B: Int, tokens N: Int) -> Int {
        let M = B * N, d = sideWidth
        let perRung = 2 * M * d + (rungs.first?.block.savedFloats(batch: B, tokens: N) ?? 0)
        let blockScratch = rungs.first?.block.scratchFloats(batch: B, tokens: N) ?? 0
        let scratch = 3 * M * d + blockScratch + B * (3 * d + 2 * width + 3 * classes + 2)
        let D = width, F = 4 * d
        let linears = linear.scratchBytes(layers: [
            (M, D, d), (M, d, 3 * d), (M, d, d), (M, d, F), (M, F, d), (B, d, D), (B, D, classes),
        ])
        return 4 * (5 * layout.count + rungs.count * perRung + scratch) + linears
    }
}

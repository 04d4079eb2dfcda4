import Cache
import Essentials
import Numerics

/// `adapter`: bottleneck side adapters after Houlsby et al. 2019 (arXiv 1902.00751), on a side path
/// (shared/METHODS.md):
///   u₀ = 0,  uᵢ = uᵢ₋₁ + W_up φ(W_down LN(uᵢ₋₁ + zᵢ) + b₁) + b₂   (i = 1…L, φ = GELU, D → m → D)
///   logits = W_h · LN(u_L + z_L)[cls] + b        (z_L dropped with includeFinalTap = false)
/// The adapters' LayerNorms have no affine parameters, so each adapter has the closed-form 2mD + D + m
/// parameters (the head's is affine with `normAffine`); their weights start near the identity
/// (truncated N(0, initStd), METHODS.md), and only the head follows the `init` rule. Every operation
/// is per token, so only the class token can reach the logits: the
/// network runs on class-token rows alone (B rows, not B·N), which a `cls` cache is enough for.
/// Legend: B batch, D width, m bottleneck, L depth, C classes.
public final class SideAdapters: SideTuningMethod {
    public let layout: ParameterLayout
    public let classes: Int
    public let width: Int, depth: Int, bottleneck: Int
    public let includeFinalTap: Bool
    /// Standard deviation of the near-identity initialisation of W_down and W_up.
    public let initStd: Float
    struct Adapter { let downWeight, downBias, upWeight, upBias: Int }
    let adapters: [Adapter]
    let head: ClassifierHead
    /// The Linear layers, at the trial's compute precision.
    let linear: LinearCompute
    static let eps: Float = 1e-6

    // Saved by forward, adapter k at offset k·(rows): input x (B, D), LN statistics (B), pre-activation
    // and activation (B, m). Kept from step to step, with the scratch, so a step allocates nothing.
    private var inputs: [Float] = [], means: [Float] = [], rstds: [Float] = [], pre: [Float] = [], act: [Float] = []
    private var u: [Float] = [], z: [Float] = [], normalized: [Float] = [], dnormalized: [Float] = []
    private var dg: [Float] = [], dh: [Float] = []
    private var rows = 0
    private var headSaved = ClassifierHead.Saved()

    private func prepare(batch B: Int) {
        guard rows != B else { return }
        rows = B
        let D = width, m = bottleneck, L = depth
        inputs = [Float](repeating: 0, count: L * B * D)
        means = [Float](repeating: 0, count: L * B); rstds = means
        pre = [Float](repeating: 0, count: L * B * m); act = pre
        u = [Float](repeating: 0, count: B * D); z = u; normalized = u; dnormalized = u
        dg = [Float](repeating: 0, count: B * m); dh = dg
    }

    /// Calls `body` with the class-token rows (B, D) of tap `tap`: the input itself when it holds one
    /// token per example, else gathered into `z`.
    private func withClassRows<R>(_ input: TapBatch, _ tap: Tap, _ body: (UnsafePointer<Float>) -> R) -> R {
        let source = input.pointer(tap)
        if input.tokens == 1 { return body(source) }
        z.withUnsafeMutableBufferPointer {
            gatherClassTokens(source, batch: input.batch, tokens: input.tokens, width: width, into: $0.baseAddress!)
        }
        return z.withUnsafeBufferPointer { body($0.baseAddress!) }
    }

    public static let methodName = "adapter"
    public static let chartColor = 3
    public static let defaultInitRule = InitRule.fanIn
    public static let hyperparameters = [
        MethodHyperparameter(
            "bottleneck", kind: .integer(minimum: 1), defaultValue: 32, help: "the bottleneck width m of each adapter")
    ]

    public static func problem(_ v: MethodValues, backbone: BackboneShape) -> String? {
        problem(bottleneck: v.int("bottleneck"))
    }

    public static func makeNetwork(_ v: MethodValues, backbone: BackboneShape, classes: Int, shared: SharedOptions)
        -> SideAdapters
    {
        SideAdapters(
            width: backbone.width, depth: backbone.depth, classes: classes, bottleneck: v.int("bottleneck"),
            rule: shared.rule, normAffine: shared.normAffine, compute: shared.compute)
    }

    /// What keeps this size from making a network, or nil: the one check the initialiser and the
    /// sweep's spec check share.
    public static func problem(bottleneck: Int) -> String? {
        bottleneck < 1 ? "adapter: bottleneck must be positive" : nil
    }

    public init(
        width: Int, depth: Int, classes: Int, bottleneck: Int, includeFinalTap: Bool = true, initStd: Float = 1e-3,
        rule: InitRule = .timm, normAffine: Bool = false, compute: ComputePrecision = .fp32
    ) {
        if let problem = Self.problem(bottleneck: bottleneck) { preconditionFailure(problem) }
        precondition(width > 0 && depth > 0, "SideAdapters: the backbone's sizes must be positive")
        var layout = ParameterLayout()
        let linear = LinearCompute(compute)
        self.linear = linear
        adapters = (1...depth).map { i in
            Adapter(
                downWeight: layout.add("adapters.\(i).down.weight", [bottleneck, width], decays: true),
                downBias: layout.add("adapters.\(i).down.bias", [bottleneck], decays: false),
                upWeight: layout.add("adapters.\(i).up.weight", [width, bottleneck], decays: true),
                upBias: layout.add("adapters.\(i).up.bias", [width], decays: false))
        }
        head = ClassifierHead(
            width: width, classes: classes, affine: normAffine, rule: rule, linear: linear, layout: &layout)
        self.layout = layout
        self.classes = classes; self.width = width; self.depth = depth; self.bottleneck = bottleneck
        self.includeFinalTap = includeFinalTap; self.initStd = initStd
    }

    public var requiredTaps: [Tap] { (1...depth).map { .block($0) } }
    public var classTokenOnly: Bool { true }

    public func initialize(_ p: UnsafeMutablePointer<Float>, rng: inout SeededRNG) {
        for a in adapters {
            for i in 0..<(bottleneck * width) { p[a.downWeight + i] = rng.nextTruncatedNormal(std: initStd) }
            for i in 0..<(width * bottleneck) { p[a.upWeight + i] = rng.nextTruncatedNormal(std: initStd) }
            (p + a.downBias).initialize(repeating: 0, count: bottleneck)
            (p + a.upBias).initialize(repeating: 0, count: width)
        }
        head.initialize(p, rng: &rng)
    }

    public func forward(_ p: UnsafePointer<Float>, _ input: TapBatch) -> [Float] {
        let B = input.batch, D = width, m = bottleneck
        prepare(batch: B)
        // Loops run over buffer pointers: element access to a class's array properties pays an
        // exclusivity check and a uniqueness check per element.
        u.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        for (index, a) in adapters.enumerated() {
            let x = index * B * D, st = index * B, h = index * B * m
            withClassRows(input, .block(index + 1)) { zi in
                inputs.withUnsafeMutableBufferPointer { xs in
                    u.withUnsafeBufferPointer { us in for k in 0..<(B * D) { xs[x + k] = us[k] + zi[k] } }
                }
            }
            inputs.withUnsafeBufferPointer { xs in
                means.withUnsafeMutableBufferPointer { mean in
                    rstds.withUnsafeMutableBufferPointer { rstd in
                        layerNormForward(
                            out: &normalized, mean: mean.baseAddress! + st, rstd: rstd.baseAddress! + st,
                            inp: xs.baseAddress! + x,
                            weight: nil, bias: nil, rows: B, cols: D, eps: Self.eps)
                    }
                }
            }
            pre.withUnsafeMutableBufferPointer { hs in
                linear.forward(
                    out: hs.baseAddress! + h, inp: normalized, weight: p + a.downWeight, bias: p + a.downBias, rows: B,
                    inFeatures: D, outFeatures: m)
                act.withUnsafeMutableBufferPointer { gs in
                    geluForward(out: gs.baseAddress! + h, inp: hs.baseAddress! + h, count: B * m)
                    linear.forward(
                        out: &u, inp: gs.baseAddress! + h, weight: p + a.upWeight, bias: p + a.upBias, rows: B,
                        inFeatures: m, outFeatures: D, accumulate: true)
                }
            }
        }
        var s = u
        if includeFinalTap {
            withClassRows(input, .block(depth)) { zL in for i in 0..<s.count { s[i] += zL[i] } }
        }
        return head.forward(p, cls: s, batch: B, saved: &headSaved)
    }

    public func backward(
        _ p: UnsafePointer<Float>, gradients g: UnsafeMutablePointer<Float>, _ input: TapBatch, dlogits: [Float]
    ) {
        let B = input.batch, D = width, m = bottleneck
        // d u_L = d s (z_L is frozen).
        var du = head.backward(p, g, dlogits: dlogits, batch: B, saved: headSaved)
        for (index, a) in adapters.enumerated().reversed() {
            let x = index * B * D, st = index * B, h = index * B * m
            // u_i = u_{i-1} + up(gelu(down(LN(x_i)))): du flows to u_{i-1} directly and through x_i.
            dg.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
            dh.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
            act.withUnsafeBufferPointer { gs in
                linear.backward(
                    dinp: &dg, dweight: g + a.upWeight, dbias: g + a.upBias, dout: du, inp: gs.baseAddress! + h,
                    weight: p + a.upWeight, rows: B, inFeatures: m, outFeatures: D)
            }
            pre.withUnsafeBufferPointer { hs in
                geluBackward(dinp: &dh, inp: hs.baseAddress! + h, dout: dg, count: B * m)
            }
            inputs.withUnsafeBufferPointer { xs in
                // Recompute LN(x_i) rather than keep it.
                layerNormForward(
                    out: &normalized, mean: nil, rstd: nil, inp: xs.baseAddress! + x, weight: nil, bias: nil, rows: B,
                    cols: D, eps: Self.eps)
                dnormalized.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
                linear.backward(
                    dinp: &dnormalized, dweight: g + a.downWeight, dbias: g + a.downBias, dout: dh, inp: normalized,
                    weight: p + a.downWeight, rows: B, inFeatures: D, outFeatures: m)
                means.withUnsafeBufferPointer { mean in
                    rstds.withUnsafeBufferPointer { rstd in
                        layerNormBackward(
                            dinp: &du, dweight: nil, dbias: nil, dout: dnormalized, inp: xs.baseAddress! + x,
                            weight: nil,
                            mean: mean.baseAddress! + st, rstd: rstd.baseAddress! + st, rows: B, cols: D)
                    }
                }
            }
        }
    }

    public func releaseBuffers() {
        inputs = []; means = []; rstds = []; pre = []; act = []
        u = []; z = []; normalized = []; dnormalized = []; dg = []; dh = []
        rows = 0
        headSaved = ClassifierHead.Saved()
        linear.releaseBuffers()
    }

    public var forwardFLOPsPerExample: Double {
        Double(depth) * 2 * 2 * Double(width * bottleneck) + head.flopsPerExample
    }

    public func workingMemoryBytes(batch B: Int) -> Int {
        let D = width, m = bottleneck
        let saved = depth * (B * D + 2 * B + 2 * B * m)  // x, stats, pre, act per adapter
        let scratch = 4 * B * D + 2 * B * m + 3 * B * classes + B * (2 * D + 2)  // u, s, ln, dln; dg, dh; logits; head
        let linears = linear.scratchBytes(layers: [(B, D, m), (B, m, D), (B, D, classes)])
        return 4 * (5 * layout.count + saved + scratch) + linears
    }
}

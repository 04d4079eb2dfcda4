import Cache
import Essentials
import Numerics

/// `last`: Low-rank Attention Side-Tuning (Tang, Fu, Zhu, Wu 2024, arXiv 2402.04009), as
/// shared/METHODS.md reads the paper (no official code is public):
///   the L blocks form m = L/g groups; u₀ = 0; uᵢ = Fᵢ(uᵢ₋₁ + z₍ᵢ₋₁₎g), Fᵢ = T stacked LSA modules;
///   LSA(X) = X + softmax(Q Kᵀ / √(R/H)) V · A_Oᵀ per head, Q|K|V = LN(X)·A_{Q|K|V} (D → R each);
///   s = u_m − Σ_{i<m} z_{ig};  logits = W_h · LN(s + z_L)[cls] + b.
/// A_O starts at zero, so the side network starts as the identity; A_Q, A_K, A_V by the `init` rule.
/// The modules' LayerNorms have no affine parameters (each module is exactly the paper's 4·D·R);
/// the head's is affine with `normAffine`.
/// Stored as Linear weights: A_{Q|K|V}ᵀ stacked as qkv (3R, D), A_O as out (D, R).
/// Legend: B batch, N tokens, D width, R rank, H heads, M = B·N rows.
public final class LowRankAttentionSideTuning: SideTuningMethod {
    public let layout: ParameterLayout
    public let classes: Int
    public let width: Int, depth: Int, rank: Int, heads: Int, gap: Int, modulesPerGroup: Int
    public let includeFinalTap: Bool
    struct Module { let qkv, out: Int }
    let modules: [[Module]]  // [group][t]
    let head: ClassifierHead
    /// The Linear layers, at the trial's compute precision.
    let linear: LinearCompute
    static let eps: Float = 1e-6

    /// What forward keeps of one module for backward (its input, LN statistics, q|k|v, attention).
    /// The attention probabilities (B·H·N² per module, as large as everything else kept) are not
    /// saved: backward recomputes them from q|k and each query's log-sum-exp (AttentionRecomputed.swift).
    /// The module's normalised input x̂ is kept (it is the q|k|v Linear's input, and LayerNorm's backward
    /// needs only x̂ and rstd), not the input itself: no copy forward, no recomputation backward.
    /// Shapes, with M = B·N rows and R the rank:
    struct Saved {
        var normalized: [Float]  // (M, D) the LayerNorm's output x̂
        var rstd: [Float]  // (M)
        var qkv: [Float]  // (M, 3R) q | k | v
        var attended: [Float]  // (M, R) softmax(q kᵀ / √(R/H)) v, heads side by side
        var logSumExp: [Float]  // (B, H, N) each query's log Σ exp of its scores
        static let empty = Saved(normalized: [], rstd: [], qkv: [], attended: [], logSumExp: [])
    }
    private var saved: [Saved] = []
    private var savedShape: [Int] = []
    private var u: [Float] = []  // (M, D) the side stream: Σ of the modules' outputs
    // Backward scratch: du (M, D), dnormalized (M, D), dattended (M, R), dqkv (M, 3R).
    private var du: [Float] = [], dnormalized: [Float] = [], dattended: [Float] = [], dqkv: [Float] = []
    private var headSaved = ClassifierHead.Saved()
    private var tokens = 0

    public static let methodName = "last"
    public static let chartColor = 0
    public static let defaultInitRule = InitRule.xavier
    public static let hyperparameters = [
        MethodHyperparameter(
            "rank", kind: .integer(minimum: 1), defaultValue: 32, help: "the rank R of each attention module"),
        MethodHyperparameter(
            "heads", kind: .integer(minimum: 1), defaultValue: 1,
            help: "heads H of each attention module, dividing R"),
        MethodHyperparameter(
            "gap", kind: .integer(minimum: 1), defaultValue: 1, help: "backbone blocks per group g, dividing L"),
        MethodHyperparameter(
            "modules_per_group", settingsKey: "modulesPerGroup", kind: .integer(minimum: 1), defaultValue: 1,
            help: "attention modules T stacked per group"),
    ]

    public static func problem(_ v: MethodValues, backbone: BackboneShape) -> String? {
        problem(
            depth: backbone.depth, rank: v.int("rank"), heads: v.int("heads"), gap: v.int("gap"),
            modulesPerGroup: v.int("modules_per_group"))
    }

    public static func makeNetwork(_ v: MethodValues, backbone: BackboneShape, classes: Int, shared: SharedOptions)
        -> LowRankAttentionSideTuning
    {
        LowRankAttentionSideTuning(
            width: backbone.width, depth: backbone.depth, classes: classes, rank: v.int("rank"), heads: v.int("heads"),
            gap: v.int("gap"), modulesPerGroup: v.int("modules_per_group"), rule: shared.rule,
            normAffine: shared.normAffine, compute: shared.compute)
    }

    /// What keeps these sizes from making a network on a backbone of `depth` blocks, or nil: the one
    /// check the initialiser and the sweep's spec check share.
    public static func problem(depth: Int, rank: Int, heads: Int, gap: Int, modulesPerGroup: Int) -> String? {
        if rank < 1 || heads < 1 || rank % heads != 0 {
            return "last: rank \(rank) must be a positive multiple of heads \(heads)"
        }
        if gap < 1 || depth % gap != 0 { return "last: gap \(gap) must divide the backbone depth \(depth)" }
        if modulesPerGroup < 1 { return "last: modules_per_group must be positive" }
        if depth / gap * modulesPerGroup > 4096 {
            return "last: \(depth / gap) groups × \(modulesPerGroup) modules is more than 4096 attention modules"
        }
        return nil
    }

    public init(
        width: Int, depth: Int, classes: Int, rank: Int, heads: Int = 1, gap: Int = 1, modulesPerGroup: Int = 1,
        includeFinalTap: Bool = true, rule: InitRule = .timm, normAffine: Bool = false,
        compute: ComputePrecision = .fp32
    ) {
        if let problem = Self.problem(
            depth: depth, rank: rank, heads: heads, gap: gap, modulesPerGroup: modulesPerGroup)
        {
            preconditionFailure(problem)
        }
        var layout = ParameterLayout()
        let linear = LinearCompute(compute)
        self.linear = linear
        modules = (1...(depth / gap)).map { i in
            (1...modulesPerGroup).map { t in
                Module(
                    qkv: layout.add("groups.\(i).lsa.\(t).qkv.weight", [3 * rank, width], decays: true),
                    out: layout.add("groups.\(i).lsa.\(t).out.weight", [width, rank], decays: true))
            }
        }
        head = ClassifierHead(
            width: width, classes: classes, affine: normAffine, rule: rule, linear: linear, layout: &layout)
        self.layout = layout
        self.classes = classes; self.width = width; self.depth = depth; self.rank = rank; self.heads = heads
        self.gap = gap; self.modulesPerGroup = modulesPerGroup; self.includeFinalTap = includeFinalTap
    }

    var groups: Int { depth / gap }
    var carriedTaps: [Tap] { (0..<groups).map { .block($0 * gap) } }

    public var requiredTaps: [Tap] { Array(Set(carriedTaps + [.block(depth)])).sorted() }

    public func initialize(_ p: UnsafeMutablePointer<Float>, rng: inout SeededRNG) {
        for group in modules {
            for module in group {
                if head.rule == .timm {  // as before `init` existed: untruncated N(0, 0.02)
                    for i in 0..<(3 * rank * width) { p[module.qkv + i] = rng.nextNormal() * 0.02 }
                } else {
                    head.rule.fill(
                        p, weight: module.qkv, bias: nil, outFeatures: 3 * rank, inFeatures: width, parts: 3, rng: &rng)
                }
                (p + module.out).initialize(repeating: 0, count: width * rank)
            }
        }
        head.initialize(p, rng: &rng)
    }

    public func forward(_ p: UnsafePointer<Float>, _ input: TapBatch) -> [Float] {
        let B = input.batch, N = input.tokens, D = width, M = B * N
        tokens = N
        // The saved buffers are kept from step to step (same batch shape): no fresh pages to fault in.
        let shape = [M * D, M, M * 3 * rank, M * rank, B * heads * N]
        if saved.count != groups * modulesPerGroup || savedShape != shape {
            saved = (0..<(groups * modulesPerGroup)).map { _ in
                Saved(
                    normalized: [Float](repeating: 0, count: M * D), rstd: [Float](repeating: 0, count: M),
                    qkv: [Float](repeating: 0, count: M * 3 * rank), attended: [Float](repeating: 0, count: M * rank),
                    logSumExp: [Float](repeating: 0, count: B * heads * N))
            }
            savedShape = shape
            u = [Float](repeating: 0, count: M * D)
        }
        // Loops run over buffer pointers: element access to a class's array properties pays an
        // exclusivity check and a uniqueness check per element.
        u.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        var index = 0
        for (i, group) in modules.enumerated() {
            let z = input.pointer(.block(i * gap))
            for (t, module) in group.enumerated() {
                // Move the module's buffers out (no copy-on-write), fill them, move them back.
                var s = Saved.empty
                swap(&s, &saved[index])
                if t == 0 {  // the group's input uᵢ₋₁ + z₍ᵢ₋₁₎g, added row by row as it is normalised
                    addThenLayerNormForward(
                        out: &s.normalized, rstd: &s.rstd, residual: &u, add: z, rows: M, cols: D, eps: Self.eps)
                } else {
                    layerNormForward(
                        out: &s.normalized, mean: nil, rstd: &s.rstd, inp: u, weight: nil, bias: nil, rows: M, cols: D,
                        eps: Self.eps)
                }
                linear.forward(
                    out: &s.qkv, inp: s.normalized, weight: p + module.qkv, bias: nil, rows: M, inFeatures: D,
                    outFeatures: 3 * rank)
                attentionForward(
                    out: &s.attended, logSumExp: &s.logSumExp, qkv: s.qkv, batch: B, tokens: N, heads: heads,
                    headDim: rank / heads, scale: 1 / Float(rank / heads).squareRoot())
                // X + O·A_Oᵀ, written into u (the module's output is the next module's input).
                linear.forward(
                    out: &u, inp: s.attended, weight: p + module.out, bias: nil, rows: M, inFeatures: rank,
                    outFeatures: D, accumulate: true)
                swap(&s, &saved[index])
                index += 1
            }
        }
        // s = u_m − Σ_{i<m} z_{ig} (+ z_L), needed at the class token only.
        var h = classTokens(u, batch: B, tokens: N, width: D)
        for tap in carriedTaps {
            let z = classTokens(input.pointer(tap), batch: B, tokens: N, width: D)
            for k in 0..<h.count { h[k] -= z[k] }
        }
        if includeFinalTap {
            let z = classTokens(input.pointer(.block(depth)), batch: B, tokens: N, width: D)
            for k in 0..<h.count { h[k] += z[k] }
        }
        return head.forward(p, cls: h, batch: B, saved: &headSaved)
    }

    public func backward(
        _ p: UnsafePointer<Float>, gradients g: UnsafeMutablePointer<Float>, _ input: TapBatch, dlogits: [Float]
    ) {
        let B = input.batch, N = tokens, D = width, M = B * N, R = rank
        let dh = head.backward(p, g, dlogits: dlogits, batch: B, saved: headSaved)
        // d u_m: the head's gradient at the class-token rows, zero elsewhere (taps are frozen).
        // Scratch kept across steps like the saved buffers (fresh 40 MB arrays per step cost page faults).
        du.reuse(count: M * D, zeroed: true)
        dattended.reuse(count: M * R, zeroed: false)
        dqkv.reuse(count: M * 3 * R, zeroed: false)
        dnormalized.reuse(count: M * D, zeroed: false)
        du.withUnsafeMutableBufferPointer { dus in
            for b in 0..<B { for d in 0..<D { dus[b * N * D + d] = dh[b * D + d] } }
        }
        var index = saved.count
        for group in modules.reversed() {
            for module in group.reversed() {
                index -= 1
                let s = saved[index]
                // out = X + attended·A_Oᵀ: du reaches X unchanged and A_O, attended through the Linear.
                // The scratch gradients are overwritten, never zeroed: each is written whole.
                linear.backward(
                    dinp: &dattended, dweight: g + module.out, dbias: nil, dout: du, inp: s.attended,
                    weight: p + module.out, rows: M, inFeatures: R, outFeatures: D, overwriteInputGradient: true)
                attentionBackward(
                    dqkv: &dqkv, dout: dattended, out: s.attended, qkv: s.qkv, logSumExp: s.logSumExp,
                    batch: B, tokens: N, heads: heads, headDim: R / heads, scale: 1 / Float(R / heads).squareRoot())
                linear.backward(
                    dinp: &dnormalized, dweight: g + module.qkv, dbias: nil, dout: dqkv, inp: s.normalized,
                    weight: p + module.qkv, rows: M, inFeatures: D, outFeatures: 3 * R, overwriteInputGradient: true)
                layerNormBackwardFromOutput(
                    dinp: &du, dout: dnormalized, normalized: s.normalized, rstd: s.rstd, rows: M, cols: D)
            }
            // The group's input is uᵢ₋₁ + z: du passes to uᵢ₋₁ unchanged.
        }
    }

    public func releaseBuffers() {
        saved = []; savedShape = []
        u = []; du = []; dnormalized = []; dattended = []; dqkv = []
        headSaved = ClassifierHead.Saved()
        linear.releaseBuffers()
    }

    public var forwardFLOPsPerExample: Double {
        // Per module: q|k|v 2·N·D·3R, attention 2·2·N²·R, output 2·N·R·D; N assumed 197 until a batch is seen.
        let n = Double(tokens > 0 ? tokens : 197), d = Double(width), r = Double(rank)
        return Double(groups * modulesPerGroup) * (8 * n * d * r + 4 * n * n * r) + head.flopsPerExample
    }

    public func workingMemoryBytes(batch B: Int) -> Int {
        workingMemoryBytes(batch: B, tokens: tokens > 0 ? tokens : 197)
    }

    public func expectTokens(_ tokens: Int) { self.tokens = tokens }

    public func workingMemoryBytes(batch B: Int, tokens N: Int) -> Int {
        let M = B * N, D = width, R = rank
        let perModule = M * D + M + 3 * M * R + M * R + B * heads * N
        let scratch =
            3 * M * D + M * R + 3 * M * R + 2 * attentionQueryBlock(tokens: N) * N + 3 * B * classes + B * (2 * D + 2)
            + 3 * B * D
        let linears = linear.scratchBytes(layers: [(M, D, 3 * R), (M, R, D), (B, D, classes)])
        return 4 * (5 * layout.count + groups * modulesPerGroup * perModule + scratch) + linears
    }
}

import Cache
import Essentials
import Numerics

/// `linear`: the linear probe every paper reports as baseline (shared/METHODS.md):
/// logits = W · LN(z_L)[cls] + b. Trainable: C·D + C (+ 2D with an affine LayerNorm).
public final class LinearProbe: SideTuningMethod {
    public let layout: ParameterLayout
    public let classes: Int
    let depth: Int
    let head: ClassifierHead
    private var saved = ClassifierHead.Saved()

    public static let methodName = "linear"
    public static let chartColor = 4
    public static let defaultInitRule = InitRule.timm
    public static let hyperparameters: [MethodHyperparameter] = []

    public static func problem(_ v: MethodValues, backbone: BackboneShape) -> String? { nil }

    public static func makeNetwork(_ v: MethodValues, backbone: BackboneShape, classes: Int, shared: SharedOptions)
        -> LinearProbe
    {
        LinearProbe(
            width: backbone.width, depth: backbone.depth, classes: classes, rule: shared.rule,
            normAffine: shared.normAffine, compute: shared.compute)
    }

    /// - Parameters: width D and depth L of the backbone; classes C; the head's initialisation and
    ///   whether its LayerNorm is affine (then C·D + C + 2D parameters); the head's compute precision.
    public init(
        width: Int, depth: Int, classes: Int, rule: InitRule = .timm, normAffine: Bool = false,
        compute: ComputePrecision = .fp32
    ) {
        var layout = ParameterLayout()
        head = ClassifierHead(
            width: width, classes: classes, affine: normAffine, rule: rule, linear: LinearCompute(compute),
            layout: &layout)
        self.layout = layout
        self.classes = classes
        self.depth = depth
    }

    public var requiredTaps: [Tap] { [.block(depth)] }
    public var classTokenOnly: Bool { true }

    public func initialize(_ parameters: UnsafeMutablePointer<Float>, rng: inout SeededRNG) {
        head.initialize(parameters, rng: &rng)
    }

    public func forward(_ p: UnsafePointer<Float>, _ input: TapBatch) -> [Float] {
        let cls = classTokens(
            input.pointer(.block(depth)), batch: input.batch, tokens: input.tokens, width: input.width)
        return head.forward(p, cls: cls, batch: input.batch, saved: &saved)
    }

    public func backward(
        _ p: UnsafePointer<Float>, gradients g: UnsafeMutablePointer<Float>, _ input: TapBatch, dlogits: [Float]
    ) {
        _ = head.backward(p, g, dlogits: dlogits, batch: input.batch, saved: saved)
    }

    public func releaseBuffers() { saved = ClassifierHead.Saved(); head.linear.releaseBuffers() }

    public var forwardFLOPsPerExample: Double { head.flopsPerExample }

    public func workingMemoryBytes(batch: Int) -> Int {
        let D = head.width, C = classes
        let saved = batch * (2 * D + 2) + batch * C * 3  // head input, normalised, stats; logits, probs, dlogits
        let linears = head.linear.scratchBytes(layers: [(batch, D, C)])
        return 4 * (5 * layout.count + saved + batch * D) + linears  // + dnormalised scratch
    }
}

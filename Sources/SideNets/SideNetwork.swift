import Cache
import Essentials
import Numerics

/// The cached backbone activations of one batch: each tap (B, N, D), and the labels.
/// Legend for all side networks: B batch, N tokens, D backbone width, C classes, L backbone depth.
/// The taps are buffers that own their memory: a network reads them by pointer (`pointer(_:)`) for as
/// long as it holds the batch.
public struct TapBatch {
    public let batch: Int
    public let tokens: Int
    public let width: Int
    public let taps: [Tap: FloatBuffer]
    public var labels: [Int32]

    public init(buffers: [Tap: FloatBuffer], batch: Int, tokens: Int, width: Int, labels: [Int32]) {
        precondition(!buffers.isEmpty, "TapBatch: no taps")
        precondition(
            buffers.values.allSatisfy { $0.count == batch * tokens * width },
            "TapBatch: taps are not (\(batch), \(tokens), \(width))")
        precondition(labels.count == batch, "TapBatch: \(labels.count) labels for batch \(batch)")
        self.batch = batch; self.tokens = tokens; self.width = width
        self.taps = buffers
        self.labels = labels
    }

    /// A batch holding copies of `taps` (tests and benchmarks).
    public init(taps: [Tap: Tensor], labels: [Int32]) {
        let first = taps.values.first!
        precondition(first.shape.count == 3, "TapBatch: taps must be (B, N, D), got \(first.shape)")
        precondition(taps.values.allSatisfy { $0.shape == first.shape }, "TapBatch: taps of different shapes")
        self.init(
            buffers: taps.mapValues { FloatBuffer($0.storage) }, batch: first.shape[0], tokens: first.shape[1],
            width: first.shape[2], labels: labels)
    }

    /// Tap `tap`, (B, N, D); valid while this batch lives.
    func pointer(_ tap: Tap) -> UnsafePointer<Float> {
        guard let t = taps[tap] else { preconditionFailure("TapBatch: tap \(tap) missing; have \(taps.keys.sorted())") }
        return UnsafePointer(t.pointer)
    }
}

/// A side network trained on cached taps (shared/METHODS.md), with a hand-written backward pass.
///
/// One instance belongs to one trial: it keeps the activations its forward pass saves for backward.
/// Parameters and gradients are flat buffers laid out by `layout`.
public protocol SideNetwork: AnyObject {
    /// "linear", "last", "lst" or "adapter".
    var name: String { get }
    var layout: ParameterLayout { get }
    var classes: Int { get }
    /// The taps the network reads.
    var requiredTaps: [Tap] { get }
    /// Whether only the class token of each tap reaches the logits (no token mixing): then a cache
    /// with token policy `cls` is enough, and batches can be sliced to that row.
    var classTokenOnly: Bool { get }
    /// Fills `parameters` (layout.count floats) with the method's initialisation.
    func initialize(_ parameters: UnsafeMutablePointer<Float>, rng: inout SeededRNG)
    /// Logits (B, C) of `input`, saving what backward needs.
    func forward(_ parameters: UnsafePointer<Float>, _ input: TapBatch) -> [Float]
    /// Accumulates parameter gradients from dlogits (B, C) of the last forward call.
    func backward(
        _ parameters: UnsafePointer<Float>, gradients: UnsafeMutablePointer<Float>, _ input: TapBatch, dlogits: [Float])
    /// Multiply–add FLOPs (2 per MAC) of one example's forward pass.
    var forwardFLOPsPerExample: Double { get }
    /// Frees the activations and scratch kept between steps (at the end of a trial: a finished trial
    /// must not keep its working memory while others are admitted in its place).
    func releaseBuffers()
    /// Bytes of the buffers one training step needs at `batch` (saved activations, scratch,
    /// parameters, gradients, the two AdamW moments and its weight-decay mask), excluding the input taps.
    func workingMemoryBytes(batch: Int) -> Int
    /// Tells a network that attends across tokens how many each example has, before any batch: its
    /// FLOPs and memory then count them (it would assume ViT-B/16's 197 until a forward pass shows
    /// otherwise, and a trial resumed at its last epoch runs none).
    func expectTokens(_ tokens: Int)
}

extension SideNetwork {
    public var trainableParameterCount: Int { layout.count }

    /// What admitting a trial costs in memory: its buffers plus a fixed 1 MiB for what every running
    /// trial adds besides (its thread's stack and allocator arena), measured with `hpsweep bench sidenet`.
    public func trialMemoryBytes(batch: Int) -> Int { workingMemoryBytes(batch: batch) + (1 << 20) }
    public var classTokenOnly: Bool { false }
    public func expectTokens(_ tokens: Int) {}

    /// Mean cross-entropy of `input` and the gradients of every parameter (added to `gradients`).
    @discardableResult
    public func lossAndGradients(
        _ parameters: UnsafePointer<Float>, gradients: UnsafeMutablePointer<Float>,
        _ input: TapBatch, labelSmoothing: Float = 0
    ) -> (loss: Float, logits: [Float]) {
        let logits = forward(parameters, input)
        var losses = [Float](repeating: 0, count: input.batch), probs = [Float](repeating: 0, count: logits.count)
        let loss = crossEntropyForward(
            losses: &losses, probs: &probs, logits: logits, labels: input.labels,
            rows: input.batch, classes: classes, labelSmoothing: labelSmoothing)
        var dlogits = [Float](repeating: 0, count: logits.count)
        crossEntropyBackward(
            dlogits: &dlogits, probs: probs, labels: input.labels, rows: input.batch,
            classes: classes, labelSmoothing: labelSmoothing)
        backward(parameters, gradients: gradients, input, dlogits: dlogits)
        return (loss, logits)
    }

    /// Mean cross-entropy only (for evaluation and finite differences).
    public func loss(_ parameters: UnsafePointer<Float>, _ input: TapBatch) -> Float {
        let logits = forward(parameters, input)
        var losses = [Float](repeating: 0, count: input.batch), probs = [Float](repeating: 0, count: logits.count)
        return crossEntropyForward(
            losses: &losses, probs: &probs, logits: logits, labels: input.labels,
            rows: input.batch, classes: classes)
    }
}

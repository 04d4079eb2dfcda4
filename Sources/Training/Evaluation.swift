import Cache
import Foundation
import Numerics
import SideNets

/// Correct predictions and summed cross-entropy of one batch of logits (B, C). Both evaluation paths
/// (cached and streamed) score through this, so they agree bit for bit on the same batches.
struct BatchScore {
    var correct = 0
    var lossSum = 0.0
    var count = 0
    /// Examples by (true class, predicted class), row-major classes × classes.
    var confusion: [Int] = []

    mutating func add(logits: [Float], labels: [Int32], classes: Int) {
        if confusion.isEmpty { confusion = [Int](repeating: 0, count: classes * classes) }
        let rows = labels.count
        var losses = [Float](repeating: 0, count: rows), probs = [Float](repeating: 0, count: logits.count)
        crossEntropyForward(
            losses: &losses, probs: &probs, logits: logits, labels: labels, rows: rows, classes: classes)
        for row in 0..<rows {
            lossSum += Double(losses[row])
            let scores = logits[(row * classes)..<((row + 1) * classes)]
            let predicted = scores.indices.max(by: { scores[$0] < scores[$1] })! - row * classes
            if predicted == Int(labels[row]) { correct += 1 }
            if (0..<classes).contains(Int(labels[row])) { confusion[Int(labels[row]) * classes + predicted] += 1 }
        }
        count += rows
    }

    var accuracy: Float { count == 0 ? 0 : Float(correct) / Float(count) }
    var meanLoss: Float { count == 0 ? .nan : Float(lossSum / Double(count)) }
    var score: EvaluationScore { EvaluationScore(accuracy: accuracy, loss: meanLoss, confusion: confusion) }
}

/// A trained network scored on a split: accuracy, mean cross-entropy, and the confusion matrix
/// (`confusion[t][p]`: examples of true class t predicted as p).
public struct EvaluationScore: Sendable, Equatable {
    public var accuracy: Float
    public var loss: Float
    public var confusionCounts: [Int]
    public init(accuracy: Float, loss: Float, confusion: [Int]) {
        self.accuracy = accuracy; self.loss = loss; confusionCounts = confusion
    }

    /// The score of logits (examples × classes) against labels, as evaluations compute it.
    public init(logits: [Float], labels: [Int], classes: Int) {
        var score = BatchScore()
        score.add(logits: logits, labels: labels.map { Int32($0) }, classes: classes)
        self = score.score
    }

    public var confusion: [[Int]] {
        let classes = Int(Double(confusionCounts.count).squareRoot())
        return (0..<classes).map { Array(confusionCounts[($0 * classes)..<(($0 + 1) * classes)]) }
    }
}

extension ActivationCache {
    /// Examples `indices` of `split` as a batch of `taps`, read into `buffers` (one per tap, each
    /// indices × tokens × width): whole rows, or class-token rows only when `tokens` is 1.
    func tapBatch(split: String, taps: [Tap], indices: [Int], tokens: Int, labels: [Int32], into buffers: [FloatBuffer])
        throws -> TapBatch
    {
        for (buffer, tap) in zip(buffers, taps) {
            if tokens == 1 {
                try readClassTokens(split: split, tap: tap, indices: indices, into: buffer.pointer)
            } else {
                try read(split: split, tap: tap, indices: indices, into: buffer.pointer)
            }
        }
        return TapBatch(
            buffers: Dictionary(uniqueKeysWithValues: zip(taps, buffers)), batch: indices.count, tokens: tokens,
            width: header.width, labels: labels)
    }
}

/// A trained side network ready to be evaluated.
public struct TrainedModel {
    public let network: SideNetwork
    public let parameters: [Float]
    /// The batch its evaluation on a cache runs in (its trial's batch size): a streamed evaluation
    /// scores it in the same batches, since BLAS may round a product differently in a matrix of other
    /// height. nil: the stream's batches.
    public let evaluationBatch: Int?
    public init(network: SideNetwork, parameters: [Float], evaluationBatch: Int? = nil) {
        self.network = network; self.parameters = parameters; self.evaluationBatch = evaluationBatch
    }
}

/// Evaluates many trained side networks on a split too large to cache: the backbone runs over it
/// once (`BackboneStream`), and every model scores each batch while it is in memory. The taps are
/// decoded from the cache dtype, and each model scores batches of its `evaluationBatch` examples, so
/// the scores equal those of the same split read from a cache built in the stream's batch size.
public enum StreamingEvaluation {
    public static func evaluate(
        _ models: [TrainedModel], stream: BackboneStream,
        progress: (Int) -> Void = { _ in }
    ) throws -> [EvaluationScore] {
        let labels = stream.split.labels
        var scores = [BatchScore](repeating: BatchScore(), count: models.count)
        try forEachBatch(models, stream: stream, progress: progress) { model, range, logits in
            scores[model].add(
                logits: logits, labels: range.map { Int32(labels[$0]) }, classes: models[model].network.classes)
        }
        return scores.map(\.score)
    }

    /// The logits (examples × classes) of one model over the whole stream.
    public static func logits(_ model: TrainedModel, stream: BackboneStream, progress: (Int) -> Void = { _ in }) throws
        -> [Float]
    {
        var all: [Float] = []
        try forEachBatch([model], stream: stream, progress: progress) { _, _, logits in all += logits }
        return all
    }

    /// The models that score in batches of one size, and the encoded tap rows of the examples they
    /// have not scored yet (the stream's batches need not line up with theirs).
    private struct Cohort {
        let batch: Int
        var members: [Int] = []
        var taps: [Tap] = []
        var pending: [Tap: [UInt8]] = [:]
        var first = 0, count = 0
    }

    /// Runs the backbone over the stream once and calls `body(model index, examples, logits)` for every
    /// model on every batch of its own size, in order, and `progress(examples streamed)` after each
    /// batch of the stream.
    static func forEachBatch(
        _ models: [TrainedModel], stream: BackboneStream, progress: (Int) -> Void,
        _ body: (Int, Range<Int>, [Float]) throws -> Void
    ) throws {
        let plan = stream.plan, width = plan.vit.config.width, tokens = stream.tokens
        let dtype = plan.request.dtype, rowBytes = tokens * width * dtype.byteCount
        let tapIndex = Dictionary(uniqueKeysWithValues: plan.taps.enumerated().map { ($1, $0) })
        var cohorts: [Cohort] = []
        for (i, model) in models.enumerated() {
            for tap in model.network.requiredTaps where tapIndex[tap] == nil {
                throw TrialError("\(model.network.name) needs tap \(tap), which the streamed backbone does not emit")
            }
            if tokens == 1 && !model.network.classTokenOnly {
                throw TrialError("\(model.network.name) needs all tokens; the stream keeps one per example")
            }
            let batch = max(1, model.evaluationBatch ?? stream.batchSize)
            if !cohorts.contains(where: { $0.batch == batch }) { cohorts.append(Cohort(batch: batch)) }
            let c = cohorts.firstIndex { $0.batch == batch }!
            cohorts[c].members.append(i)
            cohorts[c].taps = Array(Set(cohorts[c].taps + model.network.requiredTaps)).sorted()
        }

        // Scores the cohort's first `n` pending examples: each tap decoded once for its members, and its
        // class-token rows gathered once for the cls-only ones (they train on such rows).
        func score(_ cohort: inout Cohort, _ n: Int) throws {
            var decoded: [Tap: FloatBuffer] = [:], classRows: [Tap: FloatBuffer] = [:]
            for tap in cohort.taps {
                let t = FloatBuffer(count: n * tokens * width)
                cohort.pending[tap]!.withUnsafeBytes {
                    dtype.decode($0.baseAddress!, count: n * tokens * width, into: t.pointer)
                }
                decoded[tap] = t
            }
            let range = cohort.first..<(cohort.first + n)
            for i in cohort.members {
                let model = models[i]
                var taps: [Tap: FloatBuffer] = [:]
                for tap in model.network.requiredTaps {
                    guard model.network.classTokenOnly && tokens > 1 else { taps[tap] = decoded[tap]; continue }
                    if classRows[tap] == nil {
                        let rows = FloatBuffer(count: n * width)
                        gatherClassTokens(
                            decoded[tap]!.pointer, batch: n, tokens: tokens, width: width, into: rows.pointer)
                        classRows[tap] = rows
                    }
                    taps[tap] = classRows[tap]
                }
                let batch = TapBatch(
                    buffers: taps, batch: n, tokens: model.network.classTokenOnly ? 1 : tokens, width: width,
                    labels: [Int32](repeating: 0, count: n))
                try body(i, range, model.network.forward(model.parameters, batch))
            }
            for tap in cohort.taps { cohort.pending[tap]!.removeFirst(n * rowBytes) }
            cohort.first += n; cohort.count -= n
        }

        try stream.forEachBatch { range, encoded in
            for c in cohorts.indices {
                for tap in cohorts[c].taps {
                    cohorts[c].pending[tap, default: []] += encoded[tapIndex[tap]!].prefix(range.count * rowBytes)
                }
                cohorts[c].count += range.count
                while cohorts[c].count >= cohorts[c].batch { try score(&cohorts[c], cohorts[c].batch) }
            }
            progress(range.upperBound)
        }
        for c in cohorts.indices where cohorts[c].count > 0 { try score(&cohorts[c], cohorts[c].count) }
        for model in models { model.network.releaseBuffers() }
    }
}

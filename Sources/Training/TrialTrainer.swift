// Over 300 lines because construction checks, the step, the stretch to a rung and evaluation all share one run's state
// (checkpoint, optimiser, batch buffers).

import Backbone
import Cache
import Essentials
import Foundation
import Numerics
import SideNets

/// The cached data a trial trains and evaluates on.
public struct TrialData {
    public let cache: ActivationCache
    public let trainSplit: String
    /// nil: no evaluation while training (a final run whose eval split is streamed afterwards).
    public let evalSplit: String?
    public let classes: Int
    public init(cache: ActivationCache, trainSplit: String, evalSplit: String?, classes: Int) {
        self.cache = cache; self.trainSplit = trainSplit; self.evalSplit = evalSplit; self.classes = classes
    }
}

/// Trains one side network on a cache: AdamW with warmup and decay, evaluation every `evalEvery`
/// epochs, atomic checkpoints at epoch boundaries (resumed bit for bit), and a NaN/inf stop.
/// Initialisation comes from the trial seed alone, the data order from the data-order seed (epoch e
/// shuffles with stream e).
public final class TrialTrainer {
    public let settings: TrialSettings
    public let data: TrialData
    public let network: any SideTuningMethod
    public let checkpointPath: String?
    /// The parameters at the end of the last `run` (for final evaluation).
    public private(set) var trainedParameters: [Float]?
    let backboneParameters: ViTParameters?
    private let backbone: (width: Int, depth: Int, heads: Int)
    /// How many threads a step may use now: the trial's slot and the slots idle then (set by whoever
    /// runs the trial; the bits do not depend on it). Used when the trial has more than one shard.
    public var threads: () -> Int = { 1 }
    /// Told how many threads beyond its own a step takes (negative: gives them back after the step),
    /// so that other trials do not count them idle meanwhile.
    public var borrowThreads: (Int) -> Void = { _ in }
    /// With `shards` > 1: the step over replicas of `network` (built on first use).
    private lazy var shardedStep: DataParallelStep? =
        settings.effectiveShards > 1
        ? DataParallelStep(
            replicas: [network]
                + (1..<settings.effectiveShards).map { _ in
                    let replica = settings.makeNetwork(
                        width: backbone.width, depth: backbone.depth, backboneHeads: backbone.heads,
                        classes: data.classes)
                    replica.expectTokens(data.cache.header.tokens)
                    return replica
                }) : nil

    public init(
        settings: TrialSettings, data: TrialData, backboneWidth: Int, backboneDepth: Int, backboneHeads: Int,
        backboneParameters: ViTParameters? = nil, checkpointPath: String? = nil
    ) throws {
        // The method's own check too: a trial planned before its combination was refused at planning
        // (a journal of 0.1.0) fails with the reason instead of trapping in the network's initialiser.
        if let problem = settings.problem(width: backboneWidth, depth: backboneDepth, backboneHeads: backboneHeads) {
            throw TrialError(problem)
        }
        self.settings = settings
        self.data = data
        self.checkpointPath = checkpointPath
        self.backboneParameters = backboneParameters
        backbone = (backboneWidth, backboneDepth, backboneHeads)
        network = settings.makeNetwork(
            width: backboneWidth, depth: backboneDepth, backboneHeads: backboneHeads, classes: data.classes)
        network.expectTokens(data.cache.header.tokens)
        let available = Set(data.cache.header.taps)
        for tap in network.requiredTaps where !available.contains(tap) {
            throw TrialError(
                "\(settings.method) needs tap \(tap), which the cache does not hold (it has \(data.cache.header.taps.map(\.description).joined(separator: ", ")))"
            )
        }
        if data.cache.header.tokens == 1 && !network.classTokenOnly {
            throw TrialError(
                "\(settings.method) needs all tokens; the cache keeps only one per example (token_policy \(data.cache.header.tokenPolicy.rawValue))"
            )
        }
        if settings.needsBackboneWeights && backboneParameters == nil {
            throw TrialError(
                "\(settings.method) with \(settings.values) needs the backbone weights file (a random backbone has none)"
            )
        }
    }

    /// What admitting this trial costs: the network's working memory plus one batch of input taps.
    public var memoryBytes: Int {
        Self.memoryBytes(
            network: network, batch: settings.batchSize, cacheTokens: data.cache.header.tokens,
            width: data.cache.header.width,
            shards: settings.effectiveShards)
    }

    /// The working memory of a trial of `network` at `batch` on a cache of `cacheTokens` tokens per
    /// example (class-token networks read one) and `width`: the network's plus one batch of input taps;
    /// with `shards` > 1 also the other replicas (a shard's batch each) and a gradient per shard (shards
    /// read windows of the batch's taps; a class-token network's shards copy their class tokens).
    public static func memoryBytes(network: SideNetwork, batch: Int, cacheTokens: Int, width: Int, shards: Int = 1)
        -> Int
    {
        let tokens = network.classTokenOnly ? 1 : cacheTokens
        let taps = network.requiredTaps.count * batch * tokens * width * 4
        guard shards > 1 else { return network.trialMemoryBytes(batch: batch) + taps }
        let shardBatch = (batch + shards - 1) / shards
        return network.trialMemoryBytes(batch: batch) + (shards - 1) * network.trialMemoryBytes(batch: shardBatch)
            + shards * network.layout.count * 4 + (network.classTokenOnly ? 2 : 1) * taps
    }

    /// Frees the working buffers of the network and of its shards' replicas.
    func releaseBuffers() {
        network.releaseBuffers()
        if settings.effectiveShards > 1 { shardedStep?.releaseBuffers() }
    }

    /// The taps of `indices` of `split`, class-token rows only when the network reads no more.
    /// Full-size batches reuse the same arrays step after step (half a gigabyte for `last` on ViT-B/16:
    /// fresh arrays would be zeroed and faulted in every step). Each call moves them out, so they are
    /// uniquely referenced while being filled; the previous batch must have been dropped by then.
    var batchBuffers: [FloatBuffer] = []

    func batch(_ split: String, _ indices: [Int], labels: [Int]) throws -> TapBatch {
        let cache = data.cache
        let tokens = network.classTokenOnly ? 1 : cache.header.tokens,
            elements = indices.count * tokens * cache.header.width
        let buffers =
            batchBuffers.first?.count == elements
            ? batchBuffers : network.requiredTaps.map { _ in FloatBuffer(count: elements) }
        batchBuffers = []
        let batch = try cache.tapBatch(
            split: split, taps: network.requiredTaps, indices: indices, tokens: tokens,
            labels: indices.map { Int32(labels[$0]) }, into: buffers)
        if indices.count == settings.batchSize { batchBuffers = buffers }
        return batch
    }

    /// Accuracy and mean loss on the eval split, in batches of the training batch size (a larger one
    /// would make the network's kept buffers, and the trial's memory, exceed its estimate).
    func evaluate(_ parameters: [Float], split: String, labels: [Int]) throws -> (accuracy: Float, loss: Float) {
        let score = try score(parameters, split: split, labels: labels)
        return (score.accuracy, score.loss)
    }

    func score(_ parameters: [Float], split: String, labels: [Int]) throws -> EvaluationScore {
        var score = BatchScore()
        for start in stride(from: 0, to: labels.count, by: settings.batchSize) {
            let input = try batch(split, Array(start..<min(start + settings.batchSize, labels.count)), labels: labels)
            score.add(logits: network.forward(parameters, input), labels: input.labels, classes: data.classes)
        }
        return score.score
    }

    /// Trains to `settings.epochs` (resuming from the checkpoint when there is one), calling
    /// `onEpoch` after each epoch; stops cleanly (status `stopped`, checkpoint written) after
    /// `untilEpoch` epochs (a rung of early stopping) or when `shouldStop` answers true at an epoch
    /// boundary. The schedule always spans `settings.epochs`, so pausing changes nothing.
    public func run(
        untilEpoch: Int? = nil, shouldStop: () -> Bool = { false },
        onEpoch: (EpochRecord) -> Void = { _ in }
    ) throws -> TrialResult {
        defer { releaseBuffers(); batchBuffers = [] }
        let run = try begin(untilEpoch: untilEpoch)
        while run.wantsEpoch(shouldStop: shouldStop) {
            run.beginEpoch()
            for indices in run.epochBatches() {
                let readStart = DispatchTime.now().uptimeNanoseconds
                let input = try batch(data.trainSplit, indices, labels: run.trainLabels)
                run.readNanoseconds += DispatchTime.now().uptimeNanoseconds - readStart
                guard step(run, input) else { break }
            }
            try endEpoch(run, onEpoch: onEpoch)
        }
        return finish(run)
    }

    /// A run in progress: what `run` steps through, one batch at a time, and what a lockstep cohort
    /// (SharedReads.swift) steps several of over one read of each batch.
    final class Run {
        var state: TrainingState
        let trainLabels: [Int]
        let evalLabels: [Int]
        let learningRate: (Int) -> Float
        let stepsPerEpoch: Int
        let batchSize: Int
        let seed: UInt64
        let epochs: Int
        let untilEpoch: Int?
        var gradients: [Float]
        var status = TrialStatus.finished
        var lossSum = 0.0
        var diverged = false
        var readNanoseconds: UInt64 = 0
        let started = Date()
        /// In a cohort: the trial's own time (its steps, its evaluations, its share of the reads),
        /// which its result reports instead of the wall time that includes waiting for the others.
        var ownNanoseconds: UInt64?

        init(
            state: TrainingState, trainLabels: [Int], evalLabels: [Int], learningRate: @escaping (Int) -> Float,
            batchSize: Int, seed: UInt64, epochs: Int, untilEpoch: Int?
        ) {
            self.state = state; self.trainLabels = trainLabels; self.evalLabels = evalLabels;
            self.learningRate = learningRate
            self.batchSize = batchSize; self.seed = seed; self.epochs = epochs; self.untilEpoch = untilEpoch
            stepsPerEpoch = (trainLabels.count + batchSize - 1) / batchSize
            gradients = [Float](repeating: 0, count: state.parameters.count)
        }

        /// Whether to train another epoch (marking the run stopped when a pause or stop ends it).
        func wantsEpoch(shouldStop: () -> Bool) -> Bool {
            guard state.epochsDone < epochs, status == .finished else { return false }
            if shouldStop() || state.epochsDone >= (untilEpoch ?? .max) { status = .stopped; return false }
            return true
        }

        /// Clears the sums of the epoch about to start.
        func beginEpoch() {
            lossSum = 0
            diverged = false
        }

        /// The example indices of each batch of the next epoch: a shuffle seeded by the data-order
        /// seed and the epoch alone.
        func epochBatches() -> [[Int]] {
            TrialTrainer.batches(
                examples: trainLabels.count, batchSize: batchSize, dataOrderSeed: seed, epoch: state.epochsDone)
        }
    }

    /// The example indices of each batch of epoch `epoch` (0-based) of `examples` training examples:
    /// a shuffle seeded by the data-order seed and the epoch alone; the last batch may be short.
    static func batches(examples n: Int, batchSize: Int, dataOrderSeed: UInt64, epoch: Int) -> [[Int]] {
        var order = Array(0..<n)
        var shuffler = SeededRNG(seed: dataOrderSeed, stream: UInt64(epoch + 1))
        order.shuffle(using: &shuffler)
        return stride(from: 0, to: n, by: batchSize).map { Array(order[$0..<min($0 + batchSize, n)]) }
    }

    /// Loads the checkpoint (or initialises) and sets up the schedule.
    func begin(untilEpoch: Int?) throws -> Run {
        let trainLabels = try data.cache.labels(data.trainSplit, classes: data.classes)
        let evalLabels = try data.evalSplit.map { try data.cache.labels($0, classes: data.classes) } ?? []
        if let bad = (trainLabels + evalLabels).first(where: { $0 < 0 || $0 >= data.classes }) {
            throw TrialError("label \(bad) in the cache is out of range 0..<\(data.classes)")
        }
        let B = settings.batchSize
        let totalSteps = (trainLabels.count + B - 1) / B * settings.epochs
        let lr = Schedule.make(
            peak: settings.learningRate, totalSteps: totalSteps,
            warmupSteps: Int(settings.warmupFraction * Float(totalSteps)),
            decay: settings.decay, floor: settings.lrFloor)
        var state: TrainingState
        if let path = checkpointPath,
            let restored = try TrainingState.load(path, settings: settings, decayMask: network.layout.decayMask)
        {
            state = restored
        } else {
            var parameters = [Float](repeating: 0, count: network.layout.count)
            var rng = SeededRNG(seed: settings.seed, stream: 0xC0FFEE)
            settings.initialize(network, &parameters, backbone: backboneParameters, rng: &rng)
            state = TrainingState(
                settings: settings, parameters: parameters,
                optimizer: AdamW(
                    parameterCount: parameters.count, weightDecay: settings.weightDecay,
                    decayMask: network.layout.decayMask))
        }
        return Run(
            state: state, trainLabels: trainLabels, evalLabels: evalLabels, learningRate: lr, batchSize: B,
            seed: settings.dataOrderSeed, epochs: settings.epochs, untilEpoch: untilEpoch)
    }

    /// One optimiser step on `input`; false when the loss is not finite (the epoch ends there).
    func step(_ run: Run, _ input: TapBatch) -> Bool {
        for i in 0..<run.gradients.count { run.gradients[i] = 0 }
        let loss: Float
        if let shardedStep {
            let borrowed = min(shardedStep.replicas.count, max(1, threads())) - 1
            borrowThreads(borrowed)
            defer { borrowThreads(-borrowed) }
            loss = shardedStep.lossAndGradients(
                run.state.parameters, gradients: &run.gradients, input, labelSmoothing: settings.labelSmoothing,
                threads: borrowed + 1)
        } else {
            loss =
                network.lossAndGradients(
                    run.state.parameters, gradients: &run.gradients, input, labelSmoothing: settings.labelSmoothing
                ).loss
        }
        guard loss.isFinite else { run.diverged = true; return false }
        if let clip = settings.gradientClip {
            clipGradientNorm(&run.gradients, count: run.gradients.count, maxNorm: clip)
        }
        // One access to `run.state` (a class property: its optimizer and parameters may not be
        // borrowed separately at once).
        func update(_ state: inout TrainingState, _ gradients: [Float], lr: Float) {
            state.optimizer.update(&state.parameters, gradients: gradients, lr: lr)
        }
        update(&run.state, run.gradients, lr: run.learningRate(run.state.optimizer.step))
        run.lossSum += Double(loss) * Double(input.labels.count)
        return true
    }

    /// Ends an epoch: divergence check, evaluation, history, checkpoint, `onEpoch`.
    func endEpoch(_ run: Run, onEpoch: (EpochRecord) -> Void) throws {
        if run.diverged || !run.state.parameters.allSatisfy({ $0.isFinite }) { run.status = .diverged; return }
        let epoch = run.state.epochsDone
        var record = EpochRecord(
            epoch: epoch + 1, trainLoss: Float(run.lossSum / Double(run.trainLabels.count)),
            learningRate: run.learningRate(max(0, run.state.optimizer.step - 1)))
        if let evalSplit = data.evalSplit, (epoch + 1) % settings.evalEvery == 0 || epoch + 1 == settings.epochs {
            let (accuracy, loss) = try evaluate(run.state.parameters, split: evalSplit, labels: run.evalLabels)
            record.valAccuracy = accuracy
            record.valLoss = loss
        }
        run.state.history.append(record)
        run.state.epochsDone += 1
        if let path = checkpointPath { try run.state.save(path) }
        onEpoch(record)
    }

    /// The result of a run that has ended (finished, paused, stopped or diverged).
    func finish(_ run: Run) -> TrialResult {
        trainedParameters = run.state.parameters
        let evaluated = run.state.history.filter { $0.valAccuracy != nil }
        let best = evaluated.max { ($0.valAccuracy!, -$0.epoch) < ($1.valAccuracy!, -$1.epoch) }
        var result = TrialResult(
            status: run.status, epochsRun: run.state.epochsDone, bestEpoch: best?.epoch ?? 0,
            bestValAccuracy: best?.valAccuracy ?? 0, finalValAccuracy: evaluated.last?.valAccuracy ?? 0,
            finalValLoss: evaluated.last?.valLoss ?? .nan, history: run.state.history,
            trainableParameters: network.trainableParameterCount,
            trainingFLOPs: 3 * network.forwardFLOPsPerExample * Double(run.trainLabels.count * run.state.epochsDone),
            workingMemoryBytes: memoryBytes,
            trainSeconds: run.ownNanoseconds.map { Double($0) / 1e9 } ?? Date().timeIntervalSince(run.started))
        result.readSeconds = Double(run.readNanoseconds) / 1e9
        return result
    }

    /// Accuracy, mean loss and confusion matrix of the trained parameters (after `run`) on a cached split.
    public func evaluateTrained(on split: String) throws -> EvaluationScore {
        guard let parameters = trainedParameters else { throw TrialError("evaluateTrained before run") }
        defer { releaseBuffers(); batchBuffers = [] }
        return try score(parameters, split: split, labels: try data.cache.labels(split, classes: data.classes))
    }

    /// The parameters saved in this trial's checkpoint (nil without one).
    public func checkpointParameters() throws -> [Float]? {
        guard let path = checkpointPath else { return nil }
        return try TrainingState.load(path, settings: settings, decayMask: network.layout.decayMask)?.parameters
    }
}

import Backbone
import Cache
import Datasets
import Essentials
import Foundation
import Numerics
import SideNets
import Training
import XCTest
import _TestSupport

/// Training on a real cache: the bundled digits through a small random ViT (built once per run).
final class TrainingTests: XCTestCase {
    static var cache: ActivationCache!
    static var plan: CachePlan!
    static let config = ViTConfig(imageSize: 16, patchSize: 4, width: 48, depth: 4, heads: 3)
    static var root: URL!

    override class func setUp() {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("hpsweep-training-\(UUID().uuidString)")
        let digits = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("sweeps/data/digits").path
        let splits = try! ["train800", "val200"].map {
            try NumpySplit(
                name: $0, images: "\(digits)/\($0)_images.npy", labels: "\(digits)/\($0)_labels.npy", classes: 10)
        }
        var request = CacheRequest(backbone: .random(config: config, seed: 7), splits: splits)
        request.dtype = .float16
        plan = try! CachePlan(request)
        cache = try! CacheBuilder(root: root.path).build(plan)
    }

    override class func tearDown() { try? FileManager.default.removeItem(at: root) }

    var data: TrialData { TrialData(cache: Self.cache, trainSplit: "train800", evalSplit: "val200", classes: 10) }

    func trainer(_ settings: TrialSettings, checkpoint: String? = nil) throws -> TrialTrainer {
        try TrialTrainer(
            settings: settings, data: data, backboneWidth: 48, backboneDepth: 4, backboneHeads: 3,
            checkpointPath: checkpoint)
    }

    func settings(_ method: String, lr: Float = 3e-3, epochs: Int = 3, seed: UInt64 = 1) -> TrialSettings {
        var s = TrialSettings(method: method)
        s.learningRate = lr; s.epochs = epochs; s.seed = seed; s.batchSize = 64
        s.setDeclared(["rank": 4, "heads": 1, "bottleneck": 8, "reduction": 4])
        return s
    }

    /// Settings the method refuses on this backbone (a trial planned by a hpsweep that did not check
    /// them) fail the trial with the method's reason; they never reach the network's initialiser.
    func testSettingsTheMethodRefusesFailTheTrialWithItsReason() throws {
        var s = settings("last")
        s.values["rank"] = 3; s.values["heads"] = 2
        XCTAssertThrowsError(try trainer(s)) { error in
            XCTAssertTrue("\(error)".contains("rank 3 must be a positive multiple of heads 2"), "\(error)")
        }
    }

    /// A random backbone's class token carries little of the image (near-uniform attention averages
    /// the patches), so cls-only methods stay weak here; LAST attends over all tokens and learns.
    func testTrainingBeatsChanceClearly() throws {
        for method in ["linear", "adapter", "last", "lst"] {
            let result = try trainer(settings(method, lr: 1e-2, epochs: method == "last" ? 15 : 5)).run()
            XCTAssertEqual(result.status, .finished)
            print(
                "digits, \(method) on a random ViT: val accuracy \(result.finalValAccuracy) (best \(result.bestValAccuracy) at epoch \(result.bestEpoch))"
            )
            XCTAssertLessThan(result.history.last!.trainLoss, result.history.first!.trainLoss, method)
            if method == "last" { XCTAssertGreaterThan(result.finalValAccuracy, 0.6, "10 classes: chance is 0.1") }
        }
    }

    func testSameResultsWhateverThePoolWidth() throws {
        let trials = [
            settings("linear", lr: 1e-2), settings("adapter"), settings("last", epochs: 2), settings("lst", epochs: 2),
            settings("linear", lr: 1e-3, seed: 2),
        ]
        func run(width: Int) throws -> [TrialResult] {
            let pool = TrialPool(workers: width)
            let outcomes = pool.run(
                try trials.enumerated().map { i, s in
                    let t = try trainer(s)
                    return PoolTrial(id: "t\(i)", memoryBytes: t.memoryBytes) { try t.run() }
                })
            return try outcomes.map { try XCTUnwrap($0.result) }
        }
        let one = try run(width: 1), two = try run(width: 2), four = try run(width: 4)
        for i in trials.indices {
            XCTAssertTrue(one[i].sameOutcome(as: two[i]), "trial \(i): width 1 vs 2")
            XCTAssertTrue(one[i].sameOutcome(as: four[i]), "trial \(i): width 1 vs 4")
        }
        XCTAssertFalse(one[0].sameOutcome(as: one[4]), "other settings, other results")
    }

    /// A trial of 4 shards gives the same bits on 1, 2 or 4 threads (the count may change from step
    /// to step), and, as the gradient of the same mean loss, nearly the numbers of one shard.
    func testShardsGiveTheSameBitsOnAnyNumberOfThreads() throws {
        for method in ["adapter", "last", "lst"] {
            var sharded = settings(method, epochs: 2)
            sharded.shards = 4
            func run(_ threads: @escaping () -> Int) throws -> TrialResult {
                let t = try trainer(sharded)
                t.threads = threads
                // The threads beyond its own that a step takes are lent, at most shards − 1, and given back.
                var lent = 0, most = 0
                t.borrowThreads = {
                    lent += $0; most = max(most, lent)
                }
                let result = try t.run()
                XCTAssertEqual(lent, 0, method)
                XCTAssertLessThanOrEqual(most, 3, method)
                return result
            }
            let one = try run { 1 }, four = try run { 4 }
            var calls = 0
            let varying = try run {
                calls += 1; return 1 + calls % 3
            }
            XCTAssertTrue(one.sameOutcome(as: four), "\(method): 1 vs 4 threads")
            XCTAssertTrue(one.sameOutcome(as: varying), "\(method): 1 vs 1–3 threads")
            XCTAssertEqual(one.history.map(\.trainLoss.bitPattern), four.history.map(\.trainLoss.bitPattern), method)
            let whole = try trainer(settings(method, epochs: 2)).run()
            XCTAssertEqual(
                one.history.last!.trainLoss, whole.history.last!.trainLoss,
                accuracy: 1e-3 * whole.history.last!.trainLoss, method)
            XCTAssertGreaterThan(
                try trainer(sharded).memoryBytes, try trainer(settings(method, epochs: 2)).memoryBytes,
                "\(method): the replicas are counted")
        }
        var tooMany = settings("last")
        tooMany.shards = 65
        XCTAssertThrowsError(try trainer(tooMany)) {
            XCTAssertTrue("\($0)".contains("shards must be from 1 to batch_size (64)"), "\($0)")
        }
    }

    /// A cohort sharing each batch read trains every trial bitwise as it trains alone, a diverging
    /// member included (it drops out, the rest go on), and pauses at a rung like a lone trial.
    func testSharedReadsEqualIndependentTrials() throws {
        var trials = [
            settings("last", lr: 3e-3, epochs: 3), settings("last", lr: 1e-2, epochs: 3),
            settings("last", lr: 1e30, epochs: 3),
        ]
        trials[1].values["rank"] = 8
        // Alone as in the pool: single-threaded BLAS.
        let alone = try BLAS.withThreadCount(1) { try trials.map { try trainer($0).run() } }
        XCTAssertEqual(alone[2].status, .diverged)
        let cohort = try trials.map { try trainer($0) }
        let together = try SharedReads.run(cohort, workers: 2)
        for i in 0..<2 {
            XCTAssertTrue(
                together[i].sameOutcome(as: alone[i]), "trial \(i): \(together[i].history) vs \(alone[i].history)")
        }
        XCTAssertEqual(together[2].status, .diverged)  // (its final loss is NaN: compared field by field)
        XCTAssertEqual(together[2].epochsRun, alone[2].epochsRun)
        XCTAssertEqual(together[2].history, alone[2].history)
        XCTAssertGreaterThan(together[0].readSeconds, 0, "read time is attributed in shares")
        let paused = try SharedReads.run(try trials.prefix(2).map { try trainer($0) }, workers: 2, untilEpoch: 2)
        XCTAssertEqual(paused.map(\.status), [.stopped, .stopped])
        XCTAssertEqual(paused.map(\.epochsRun), [2, 2])
        XCTAssertEqual(paused[1].history, Array(alone[1].history.prefix(2)))

        XCTAssertThrowsError(
            try SharedReads.run([try trainer(settings("last")), try trainer(settings("last", seed: 2))], workers: 2)
        ) { error in
            XCTAssertTrue("\(error)".contains("different data orders"), "\(error)")
        }
        XCTAssertNotNil(
            SharedReads.incompatibility([try trainer(settings("last")), try trainer(settings("linear"))]),
            "different taps")
        // Checkpoints at different epochs (a crash between members' saves): refused before training.
        let dir = temporaryDirectory(self)
        let ahead = try trainer(trials[0], checkpoint: dir.appendingPathComponent("a.ckpt").path)
        _ = try ahead.run(untilEpoch: 1)
        let behind = try trainer(trials[1], checkpoint: dir.appendingPathComponent("b.ckpt").path)
        XCTAssertThrowsError(try SharedReads.run([ahead, behind], workers: 2)) {
            XCTAssertTrue($0 is SharedReads.UnevenProgress, "\($0)")
        }
        XCTAssertFalse(
            FileManager.default.fileExists(atPath: dir.appendingPathComponent("b.ckpt").path), "nothing trained")
    }

    /// A split evaluated by streaming it through the backbone scores exactly as the cached split.
    func testStreamingEvaluationEqualsCachedEvaluation() throws {
        var models: [TrainedModel] = []
        var cached: [Float] = [], cachedScores: [EvaluationScore] = []
        for method in ["linear", "last", "lst"] {
            var s = settings(method, lr: 1e-2, epochs: method == "last" ? 3 : 1)
            s.initRule = method == "linear" ? .timm : .xavier; s.normAffine = true  // the catalogue's defaults
            let t = try trainer(s)
            let result = try t.run()
            cached += [result.finalValAccuracy, result.finalValLoss]
            cachedScores.append(try t.evaluateTrained(on: "val200"))
            models.append(
                TrainedModel(
                    network: t.network, parameters: try XCTUnwrap(t.trainedParameters), evaluationBatch: s.batchSize))
        }
        let split = Self.plan.request.splits.first { $0.name == "val200" }!
        var batchesSeen = 0
        // The backbone runs in the cache builder's batches: BLAS may round an activation differently
        // in a matrix of other height, and a few f16 roundings would then flip.
        let stream = BackboneStream(
            plan: Self.plan, split: split, batchSize: CacheBuilder(root: Self.root.path).batchSize)
        let streamed = try StreamingEvaluation.evaluate(models, stream: stream) { _ in batchesSeen += 1 }
        XCTAssertEqual(batchesSeen, 7, "200 images in batches of 32")
        XCTAssertEqual(
            streamed.flatMap { [$0.accuracy, $0.loss] }, cached,
            "one backbone pass, three models, same scores as the cache")
        XCTAssertGreaterThan(streamed[1].accuracy, 0.3, "a trained LAST scores far above chance")
        XCTAssertEqual(streamed, cachedScores, "and the same confusion matrices")
        for score in streamed {
            let matrix = score.confusion
            XCTAssertEqual(matrix.count, 10)
            XCTAssertEqual(matrix.joined().reduce(0, +), 200, "every example counted once")
            XCTAssertEqual(
                Float((0..<10).map { matrix[$0][$0] }.reduce(0, +)) / 200, score.accuracy,
                "the diagonal is the accuracy")
        }
    }

    func testResumeFromCheckpointEqualsUninterruptedTraining() throws {
        let dir = temporaryDirectory(self)
        for method in ["adapter", "last"] {
            let s = settings(method, epochs: 4)
            let straight = try trainer(s, checkpoint: dir.appendingPathComponent("\(method)-a.ckpt").path)
            let uninterrupted = try straight.run()
            let path = dir.appendingPathComponent("\(method)-b.ckpt").path
            var epochs = 0
            let stopped = try trainer(s, checkpoint: path).run(
                shouldStop: { epochs >= 2 }, onEpoch: { _ in epochs += 1 })
            XCTAssertEqual(stopped.status, .stopped)
            XCTAssertEqual(stopped.epochsRun, 2)
            let resumedTrainer = try trainer(s, checkpoint: path)  // a new process would do the same
            let resumed = try resumedTrainer.run()
            XCTAssertTrue(
                resumed.sameOutcome(as: uninterrupted),
                "\(method): resumed \(resumed.history) vs \(uninterrupted.history)")
            XCTAssertEqual(
                try resumedTrainer.checkpointParameters(), try straight.checkpointParameters(),
                "\(method): bitwise equal weights")
        }
    }

    /// A trial killed after its checkpoint at the rung was written but before its result was journaled
    /// resumes with nothing left to train: its result (FLOPs and memory included) must still be the
    /// uninterrupted one's (networks that attend across tokens once assumed 197 until a batch was seen).
    func testResumingAtTheRungItselfReportsTheSameCosts() throws {
        let dir = temporaryDirectory(self)
        for method in ["lst", "last"] {
            let s = settings(method, epochs: 3)
            let path = dir.appendingPathComponent("\(method)-rung.ckpt").path
            let trained = try trainer(s, checkpoint: path).run(untilEpoch: 2)
            let resumed = try trainer(s, checkpoint: path).run(untilEpoch: 2)
            XCTAssertEqual(resumed.epochsRun, 2)
            XCTAssertTrue(
                resumed.sameOutcome(as: trained),
                "\(method): \(resumed.trainingFLOPs) FLOPs, \(resumed.workingMemoryBytes) B vs \(trained.trainingFLOPs), \(trained.workingMemoryBytes)"
            )
        }
    }

    func testCheckpointOfOtherSettingsIsRefused() throws {
        let path = temporaryDirectory(self).appendingPathComponent("x.ckpt").path
        _ = try trainer(settings("linear", epochs: 1), checkpoint: path).run()
        XCTAssertThrowsError(try trainer(settings("linear", lr: 5e-3, epochs: 1), checkpoint: path).run()) { error in
            XCTAssertTrue("\(error)".contains("other trial settings"), "\(error)")
        }
        try Data("HPSWCKPT garbage".utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try trainer(settings("linear", epochs: 1), checkpoint: path).run()) { error in
            XCTAssertTrue("\(error)".hasPrefix(path), "\(error)")
        }
    }

    func testDivergingTrialStopsAndThePoolGoesOn() throws {
        let diverging = try trainer(settings("linear", lr: 1e30, epochs: 3))
        let healthy = try trainer(settings("linear", lr: 1e-2, epochs: 2))
        let outcomes = TrialPool(workers: 2).run([
            PoolTrial(id: "bad", memoryBytes: 1) { try diverging.run() },
            PoolTrial(id: "good", memoryBytes: 1) { try healthy.run() },
        ])
        let bad = try XCTUnwrap(outcomes[0].result), good = try XCTUnwrap(outcomes[1].result)
        XCTAssertEqual(bad.status, .diverged)
        XCTAssertLessThan(bad.epochsRun, 3)
        XCTAssertEqual(good.status, .finished)
        XCTAssertEqual(good.epochsRun, 2)
    }

    func testMemoryBudgetAdmission() {
        let lock = NSLock()
        var concurrent = 0, peak = 0
        func work() throws -> TrialResult {
            lock.lock(); concurrent += 1; peak = max(peak, concurrent); lock.unlock()
            usleep(50_000)
            lock.lock(); concurrent -= 1; lock.unlock()
            throw TrialError("no result needed")
        }
        let pool = TrialPool(workers: 4, memoryBudget: 100)
        var events: [String] = []
        let outcomes = pool.run([
            PoolTrial(id: "a", memoryBytes: 60, work: work), PoolTrial(id: "b", memoryBytes: 60, work: work),
            PoolTrial(id: "c", memoryBytes: 30, work: work), PoolTrial(id: "huge", memoryBytes: 101, work: work),
        ]) { event in
            if case .started(let id, _, _) = event { events.append(id) }
        }
        XCTAssertEqual(peak, 2, "60 + 30 fit in 100, 60 + 60 do not")
        guard case .failed(let message) = outcomes[3] else { return XCTFail("huge must fail") }
        XCTAssertTrue(message.contains("more than the whole budget"), message)
        XCTAssertEqual(Set(events), ["a", "b", "c"])
    }

    func testSchedules() {
        let cosine = Schedule.make(peak: 1, totalSteps: 110, warmupSteps: 10, decay: .cosine, floor: 0.1)
        XCTAssertEqual(cosine(0), 0.1, accuracy: 1e-6)
        XCTAssertEqual(cosine(9), 1, accuracy: 1e-6)
        XCTAssertEqual(cosine(60), 0.55, accuracy: 1e-6)
        XCTAssertEqual(cosine(110), 0.1, accuracy: 1e-6)
        let linear = Schedule.make(peak: 2, totalSteps: 10, warmupSteps: 0, decay: .linear)
        XCTAssertEqual(linear(5), 1, accuracy: 1e-6)
        XCTAssertEqual(Schedule.make(peak: 3, totalSteps: 10, warmupSteps: 2, decay: .constant)(7), 3)
        var g: [Float] = [3, 4]
        XCTAssertEqual(clipGradientNorm(&g, count: 2, maxNorm: 1), 5)
        XCTAssertEqual(g[0], 0.6, accuracy: 1e-5)
    }
}

final class PoolProgressTests: XCTestCase {
    func testCountsBestAndETA() {
        var p = PoolProgress(workers: 2, queued: 4)
        XCTAssertNil(p.etaSeconds, "no estimate before a trial finished")
        var good = TrialResult(
            status: .finished, epochsRun: 1, bestEpoch: 1, bestValAccuracy: 0.8, finalValAccuracy: 0.8,
            finalValLoss: 0.5, history: [EpochRecord(epoch: 1, trainLoss: 1, learningRate: 1e-3, valAccuracy: 0.8)],
            trainableParameters: 1, trainingFLOPs: 0, workingMemoryBytes: 0, trainSeconds: 10)
        p.record(.started(id: "a", running: 1, queued: 3), now: 0)
        p.record(.started(id: "b", running: 2, queued: 2), now: 0)
        p.record(.finished(id: "a", outcome: .completed(good), done: 1, running: 1, queued: 2), now: 10)
        XCTAssertEqual(p.done, 1); XCTAssertEqual(p.running, 1); XCTAssertEqual(p.queued, 2)
        // 2 queued + half of 1 running, at 10 s each, over 2 workers.
        XCTAssertEqual(p.etaSeconds!, 12.5, accuracy: 1e-9)
        good.bestValAccuracy = 0.6
        p.record(.finished(id: "b", outcome: .completed(good), done: 2, running: 0, queued: 2), now: 30)
        XCTAssertEqual(p.best?.id, "a")
        XCTAssertEqual(p.best?.accuracy, 0.8)
        p.record(.finished(id: "c", outcome: .failed("boom"), done: 3, running: 0, queued: 1), now: 31)
        XCTAssertEqual(p.failed, 1)
        XCTAssertEqual(
            p.etaSeconds!, 20, accuracy: 1e-9,
            "one queued at the mean of 10 s and 30 s (a trial that never started adds no time)")
        good.history = [EpochRecord(epoch: 1, trainLoss: 1, learningRate: 1e-3)]  // a final retraining: no evaluation
        good.bestValAccuracy = 0.95
        p.record(.finished(id: "d", outcome: .completed(good), done: 4, running: 0, queued: 0), now: 40)
        XCTAssertEqual(p.best?.id, "a", "runs without evaluation do not count as best")
    }
}

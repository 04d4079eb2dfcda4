import Cache
import Foundation
import Numerics
import SideNets
import Training

/// What the runner reports as it goes (the CLI turns these into progress lines).
public enum RunnerEvent {
    case generation(index: Int, of: Int, trials: Int, rung: Int)
    case pool(PoolEvent)
    case pruned(ids: [String], rung: Int)
    case finalPhase(trials: [String], streamed: Bool)
}

/// Runs a sweep to completion from wherever its journal left it.
///
/// Generations are run in order. Each generation's configurations are proposed from the results of
/// earlier generations only, and successive halving ranks a generation's trials at each rung only once
/// all of them reached it, so every decision is a function of the journal: a sweep interrupted at any
/// point and resumed proposes, prunes and trains exactly what the uninterrupted run would have
/// (trials resume from their epoch checkpoints bit for bit).
public final class SweepRunner {
    public enum Outcome { case completed, interrupted }

    public let spec: SweepSpec
    public let search: SearchSpec
    public let cache: ActivationCache
    public let plan: CachePlan
    public let directory: String
    public private(set) var state: SweepState
    let journal: Journal
    let pool: TrialPool
    let sampler: Sampler
    let shouldStop: () -> Bool
    let onEvent: (RunnerEvent) -> Void
    let depth: Int, heads: Int
    private var planningNanoseconds: UInt64 = 0

    /// Wall time of the sweep machinery itself: proposing trials and appending to the journal.
    public var machinerySeconds: Double { Double(planningNanoseconds) / 1e9 + journal.secondsSpent }

    public static func journalPath(_ directory: String) -> String { (directory as NSString).appendingPathComponent("journal.jsonl") }

    /// Opens (or starts) the sweep in `directory`; refuses a journal written for another spec.
    public init(spec: SweepSpec, cache: ActivationCache, plan: CachePlan, directory: String, workers: Int, memoryBudget: Int,
                hpsweepVersion: String, shouldStop: @escaping () -> Bool, onEvent: @escaping (RunnerEvent) -> Void) throws {
        guard let search = spec.search else { throw SpecError(file: spec.file, path: "$", message: "has no 'methods': nothing to search") }
        self.spec = spec; self.search = search; self.cache = cache; self.plan = plan; self.directory = directory
        self.shouldStop = shouldStop; self.onEvent = onEvent
        depth = plan.vit.config.depth; heads = plan.vit.config.heads
        let fm = FileManager.default
        try? fm.createDirectory(atPath: (directory as NSString).appendingPathComponent("checkpoints"), withIntermediateDirectories: true)
        let path = Self.journalPath(directory)
        state = SweepState(events: try Journal.read(path))
        if let hash = state.specHash, hash != spec.contentHash {
            throw JournalError(path: path, line: nil, message: "was written for a different version of \(spec.file) (spec hash \(hash.prefix(12)), now \(spec.contentHash.prefix(12))); rerun with --fresh to start over (the old results are moved aside)")
        }
        journal = try Journal(path: path)
        pool = TrialPool(workers: workers, memoryBudget: memoryBudget)
        sampler = Sampler(search)
        if state.specHash == nil {
            var event = JournalEvent(.sweep)
            event.specSha256 = spec.contentHash; event.hpsweepVersion = hpsweepVersion; event.cacheKey = cache.key
            event.sweepName = spec.name; event.specFile = spec.file
            event.objectives = search.objectives.map { "\($0.name):\($0.direction.rawValue)" }
            event.trialsPlanned = search.trials * search.seeds.count
            try record(event)
        }
    }

    func record(_ event: JournalEvent) throws { try record([event]) }

    func record(_ events: [JournalEvent]) throws {
        try journal.append(contentsOf: events)
        for event in events { state.apply(event) }
    }

    func checkpoint(_ id: String) -> String { (directory as NSString).appendingPathComponent("checkpoints/\(id).ckpt") }

    public func run() throws -> Outcome {
        for g in 0..<search.generationCount {
            try plan(generation: g)
            let ids = state.generation(g).map(\.id)
            var alive = ids.filter { state.trials[$0]!.status != .failed && state.trials[$0]!.status != .diverged }
            for (r, rung) in search.rungs.enumerated() {
                let pending = alive.filter { let t = state.trials[$0]!; return !t.isDone && t.epochsDone < rung }
                onEvent(.generation(index: g, of: search.generationCount, trials: pending.count, rung: rung))
                if !pending.isEmpty { try train(pending, until: rung) }
                if shouldStop() { return .interrupted }
                alive = alive.filter { state.trials[$0]!.status == .paused || state.trials[$0]!.status == .finished || state.trials[$0]!.status == .pruned }
                guard r + 1 < search.rungs.count, let factor = search.earlyStopping?.reductionFactor else { continue }
                // Successive halving: the best ceil(n/η) by the primary objective continue.
                let ranked = alive.sorted {
                    let a = objectiveVector(state.trials[$0]!, [search.primary])[0], b = objectiveVector(state.trials[$1]!, [search.primary])[0]
                    return (a, $0) < (b, $1)
                }
                let keep = Set(ranked.prefix((ranked.count + factor - 1) / factor))
                let prunedNow = ranked.filter { !keep.contains($0) && state.trials[$0]!.status == .paused }
                try record(prunedNow.map { id in
                    var event = JournalEvent(.pruned, trial: id)
                    event.epochs = rung
                    return event
                })
                for id in prunedNow { try? FileManager.default.removeItem(atPath: checkpoint(id)) }
                if !prunedNow.isEmpty { onEvent(.pruned(ids: prunedNow, rung: rung)) }
                alive = ranked.filter { keep.contains($0) }
            }
        }
        return try runFinal() ? .completed : .interrupted
    }

    /// Journals the trials of generation `g` that are not yet (all of them, or the rest after a kill
    /// part-way through): proposals depend only on earlier, complete generations, so recomputing them
    /// gives the same trials.
    func plan(generation g: Int) throws {
        let expected = sampler.indices(generation: g).count * search.seeds.count
        guard state.generation(g).count < expected else { return }
        let start = DispatchTime.now().uptimeNanoseconds
        defer { planningNanoseconds += DispatchTime.now().uptimeNanoseconds - start }
        let proposals = sampler.propose(generation: g, history: state.observations(before: g, objectives: search.objectives))
        var events: [JournalEvent] = []
        for (proposal, k) in zip(proposals, sampler.indices(generation: g)) {
            for seed in search.seeds {
                let id = String(format: "t%04d-s%d", k, seed)
                guard state.trials[id] == nil else { continue }
                var event = JournalEvent(.planned, trial: id)
                event.generation = g; event.config = k; event.method = proposal.method; event.params = proposal.values
                event.seed = seed; event.trialSeed = trialSeed(sweepSeed: search.seed, trialID: id)
                events.append(event)
            }
        }
        try record(events)
    }

    func settings(_ record: TrialRecord) -> TrialSettings {
        Hyperparameter.settings(method: record.method, values: record.values, epochs: search.epochs, seed: record.trialSeed)
    }

    func trainer(_ record: TrialRecord, data: TrialData, checkpointID: String) throws -> TrialTrainer {
        try TrialTrainer(settings: settings(record), data: data, backboneWidth: cache.header.width, backboneDepth: depth,
                         backboneHeads: heads, backboneParameters: plan.vit.parameters, checkpointPath: checkpoint(checkpointID))
    }

    /// Trains `ids` up to `rung` epochs in the pool, journaling each epoch and each outcome.
    func train(_ ids: [String], until rung: Int) throws {
        let data = TrialData(cache: cache, trainSplit: spec.data.searchTrain, evalSplit: spec.data.searchEval, classes: spec.data.classes)
        let journal = self.journal, shouldStop = self.shouldStop
        var trials: [PoolTrial] = []
        var failures: [(String, Error)] = []
        for id in ids {
            let record = state.trials[id]!
            let previousSeconds = record.result?.trainSeconds ?? 0
            let trainer: TrialTrainer
            do { trainer = try self.trainer(record, data: data, checkpointID: id) } catch { failures.append((id, error)); continue }
            trials.append(PoolTrial(id: id, memoryBytes: trainer.memoryBytes) {
                var result = try trainer.run(untilEpoch: rung, shouldStop: shouldStop) { epoch in
                    var event = JournalEvent(.epoch, trial: id)
                    event.record = epoch
                    try? journal.append(event)
                }
                result.trainSeconds += previousSeconds
                return result
            })
        }
        for (id, error) in failures {
            var event = JournalEvent(.failed, trial: id)
            event.error = "\(error)"
            try record(event)
        }
        var journalError: Error?
        let outcomes = pool.run(trials) { [self] event in
            onEvent(.pool(event))
            if case let .started(id, _, _) = event {
                var e = JournalEvent(.started, trial: id)
                e.epochs = rung
                do { try record(e) } catch { journalError = journalError ?? error }
            }
            guard case let .finished(id, outcome, _, _, _) = event else { return }
            // Journal outcomes as they come: a kill loses only the trials still running.
            do {
                switch outcome {
                case .failed(let message):
                    var e = JournalEvent(.failed, trial: id); e.error = message
                    try record(e)
                case .completed(let result):
                    var e: JournalEvent
                    switch result.status {
                    case .diverged: e = JournalEvent(.diverged, trial: id)
                    case .finished: e = JournalEvent(.finished, trial: id)
                    case .stopped:
                        guard result.epochsRun == rung else { return }   // interrupted: resumes from its checkpoint
                        e = JournalEvent(.rung, trial: id)
                        e.epochs = rung
                    }
                    e.result = result
                    try record(e)
                    if result.status != .stopped { try? FileManager.default.removeItem(atPath: checkpoint(id)) }
                }
            } catch { journalError = journalError ?? error }
        }
        _ = outcomes
        if let journalError { throw journalError }
    }

    /// Retrains the best `finalTop` finished configurations of each method on the final train split
    /// and scores them on the final eval split: from the cache when it holds the split, otherwise in one
    /// streamed backbone pass for all of them. Returns false when interrupted.
    func runFinal() throws -> Bool {
        guard search.finalTop > 0 else { return true }
        var chosen: [TrialRecord] = []
        for space in search.methods {
            let finished = state.records.filter { $0.method == space.method && $0.status == .finished }
            chosen += finished.sorted {
                (objectiveVector($0, [search.primary])[0], $0.id) < (objectiveVector($1, [search.primary])[0], $1.id)
            }.prefix(search.finalTop)
        }
        let pending = chosen.filter { $0.testAccuracy == nil }
        guard !pending.isEmpty else { return true }
        let cached = cache.header.splits[spec.data.finalEval] != nil
        guard cache.header.splits[spec.data.finalTrain] != nil else {
            throw TrialError("the final train split '\(spec.data.finalTrain)' is not in the cache; add it to cache.splits or set final_top to 0")
        }
        onEvent(.finalPhase(trials: pending.map(\.id), streamed: !cached))
        let data = TrialData(cache: cache, trainSplit: spec.data.finalTrain, evalSplit: nil, classes: spec.data.classes)
        var trainers: [String: TrialTrainer] = [:]
        let outcomes = pool.run(try pending.map { record in
            let trainer = try self.trainer(record, data: data, checkpointID: record.id + "-final")
            trainers[record.id] = trainer
            let shouldStop = self.shouldStop
            return PoolTrial(id: record.id + "-final", memoryBytes: trainer.memoryBytes) {
                let result = try trainer.run(shouldStop: shouldStop)
                if result.status == .finished && cached {
                    // Score inside the worker: the pool runs the final evaluations in parallel too.
                    var scored = result
                    (scored.finalValAccuracy, scored.finalValLoss) = try trainer.evaluateTrained(on: self.spec.data.finalEval)
                    return scored
                }
                return result
            }
        }) { onEvent(.pool($0)) }
        if shouldStop() { return false }
        var scores: [String: (Float, Float)] = [:]
        var results: [String: TrialResult] = [:]
        for (record, outcome) in zip(pending, outcomes) {
            switch outcome {
            case .failed(let message): throw TrialError("final run of \(record.id) failed: \(message)")
            case .completed(let result):
                guard result.status == .finished else { throw TrialError("final run of \(record.id) \(result.status.rawValue)") }
                results[record.id] = result
                if cached { scores[record.id] = (result.finalValAccuracy, result.finalValLoss) }
            }
        }
        if !cached {
            let split = try spec.openSplit(spec.data.finalEval)
            let models = pending.map { TrainedModel(network: trainers[$0.id]!.network, parameters: trainers[$0.id]!.trainedParameters!) }
            let streamed = try StreamingEvaluation.evaluate(models, stream: BackboneStream(plan: plan, split: split, batchSize: spec.cache.batchSize))
            for (record, score) in zip(pending, streamed) { scores[record.id] = (score.accuracy, score.loss) }
        }
        for record in pending {
            var event = JournalEvent(.final, trial: record.id)
            event.testAcc = scores[record.id]!.0; event.testLoss = scores[record.id]!.1
            event.result = results[record.id]
            try self.record(event)
            try? FileManager.default.removeItem(atPath: checkpoint(record.id + "-final"))
        }
        return true
    }
}

import Cache
import Essentials
import Foundation
import Training

/// What the runner reports as it goes (the CLI turns these into progress lines).
public enum RunnerEvent {
    case generation(index: Int, of: Int, trials: Int, rung: Int)
    case pool(PoolEvent)
    case pruned(ids: [String], rung: Int)
    case finalPhase(trials: [String], streamed: Bool)
    /// Nothing to claim: other workers hold the remaining trials of this stage.
    case waiting(trials: [String])
    /// The sweep file was extended since the journals began (each line a change).
    case extended(changes: [String], revision: Int)
    /// The run decided whether trials share reads, from the share of trial time spent reading.
    case readSharing(cohorts: Bool, readShare: Double)
    /// A stretch trains `trials` of its trials in `cohorts` cohorts that share each batch read.
    case cohorts(trials: Int, cohorts: Int)
}

/// Runs a sweep to completion from wherever its journals left it, alone or as one of several worker
/// processes sharing the results directory.
///
/// The runner repeatedly rereads the journals and takes the next step they call for: plan a
/// generation, train the trials that have not reached the current rung, prune at a rung, or run the
/// final phase. Each generation's configurations are proposed from the results of earlier generations
/// only, and successive halving ranks a generation's trials at a rung only once all of them reached
/// it, so every decision is a function of the journals: whatever the interruptions and however many
/// workers share the sweep, it proposes, prunes and trains what one uninterrupted run would have
/// (trials resume from their epoch checkpoints bit for bit). Workers claim trials through leases
/// (`LeaseKeeper`); a trial's outcome is journaled before its lease is released.
public final class SweepRunner {
    public enum Outcome { case completed, interrupted }

    public let spec: SweepSpec
    public let search: SearchSpec
    public let cache: ActivationCache
    public let plan: CachePlan
    public let directory: String
    /// This process's worker id (nil for a plain `hpsweep run`, which owns the directory alone).
    public let worker: String?
    /// The journals, their folded state, leases and checkpoints (SweepStore.swift).
    let store: SweepStore
    public var state: SweepState { store.state }
    let pool: TrialPool
    /// Whether compatible trials train in cohorts that share each batch read.
    let sharedReads: ReadSharing
    /// Once decided: whether sharing reads pays in this sweep (SweepRunner+Cohorts.swift).
    var sharingDecision: Bool?
    let sampler: Sampler
    let shouldStop: () -> Bool
    let onEvent: (RunnerEvent) -> Void
    let depth: Int, heads: Int
    let pollSeconds: Double
    /// The time of the sweep machinery itself: proposing trials, reading and appending to journals.
    public let machinery = MachineryClock()

    /// The journal a plain run writes (workers write `journal-<worker>.jsonl` beside it).
    public static func journalPath(_ directory: String) -> String { SweepStore.journalPath(directory) }

    /// Opens (or starts) the sweep in `directory`; refuses journals written for another spec.
    /// `worker`: this process's id when it is one of several workers (nil: a plain run, which holds the
    /// directory's exclusive lock, so any lease left in it belongs to a dead process).
    public init(spec: SweepSpec, cache: ActivationCache, plan: CachePlan, directory: String, workers: Int, memoryBudget: Int,
                hpsweepVersion: String, worker: String? = nil, leaseSeconds: Double = 60, sharedReads: ReadSharing = .auto,
                shouldStop: @escaping () -> Bool, onEvent: @escaping (RunnerEvent) -> Void) throws {
        guard let search = spec.search else { throw SpecError(file: spec.file, path: "$", message: "has no 'methods': nothing to search") }
        self.spec = spec; self.search = search; self.cache = cache; self.plan = plan; self.directory = directory
        self.worker = worker; self.shouldStop = shouldStop; self.onEvent = onEvent; self.sharedReads = sharedReads
        depth = plan.vit.config.depth; heads = plan.vit.config.heads
        pollSeconds = min(1, max(0.05, leaseSeconds / 8))
        self.hpsweepVersion = hpsweepVersion
        let recorded = SpecRevision.recorded(spec)
        var changes: [String] = []
        store = try SweepStore(directory: directory, worker: worker, leaseSeconds: leaseSeconds, machinery: machinery) { journaled in
            if let old = journaled.spec {
                let refused = SpecRevision.incompatibilities(old, recorded)
                if !refused.isEmpty {
                    throw JournalError(path: SweepStore.journalPath(directory), line: nil, message: "\(spec.file) changed in ways that make its old and new trials incomparable (\(refused.joined(separator: "; "))); extend a sweep only through methods, space, trials, seeds or final_top, or rerun with --fresh to start over (the old results are moved aside)")
                }
                changes = SpecRevision.diff(old, recorded)
            } else if let hash = journaled.specHash, hash != spec.contentHash {
                throw JournalError(path: SweepStore.journalPath(directory), line: nil, message: "was written for a different version of \(spec.file) (spec hash \(hash.prefix(12)), now \(spec.contentHash.prefix(12))); rerun with --fresh to start over (the old results are moved aside)")
            }
        }
        pool = TrialPool(workers: workers, memoryBudget: memoryBudget)
        sampler = Sampler(search)
        let journaled = store.state
        if journaled.specHash == nil || !changes.isEmpty {
            var event = JournalEvent(.sweep)
            event.specSha256 = spec.contentHash; event.hpsweepVersion = hpsweepVersion; event.cacheKey = cache.key
            event.sweepName = spec.name; event.specFile = spec.file
            event.objectives = search.objectives.map { "\($0.name):\($0.direction.rawValue)" }
            event.trialsPlanned = search.trials * search.seeds.count
            event.spec = JSONValue(any: recorded)
            let splits = cache.header.splits
            var basis: [String: Double] = ["cache_images": Double(splits.values.reduce(0, +))]
            basis["cache_seconds"] = cache.header.buildSeconds
            basis["train_images"] = splits[spec.data.searchTrain].map(Double.init)
            basis["eval_images"] = splits[spec.data.searchEval].map(Double.init)
            basis["final_train_images"] = splits[spec.data.finalTrain].map(Double.init)
            basis["final_eval_images"] = (splits[spec.data.finalEval] ?? (try? spec.openSplit(spec.data.finalEval))?.count).map(Double.init)
            event.costBasis = basis
            event.revision = journaled.revision + 1
            try store.record(event)
            if !changes.isEmpty { onEvent(.extended(changes: changes, revision: store.state.revision)) }
        }
    }

    let hpsweepVersion: String
    typealias PlannedTrial = (id: String, key: TrialKey, proposal: Proposal, config: Int, seed: Int)
    /// Each generation's trials, proposed once (when the earlier generations are complete).
    private var generationTrials: [Int: [PlannedTrial]] = [:]
    private let generationLock = NSLock()

    func key(_ proposal: Proposal, seed: Int) -> TrialKey {
        TrialKey(cacheKey: cache.key, train: spec.data.searchTrain, eval: spec.data.searchEval, method: proposal.method,
                 values: proposal.values, epochs: search.epochs, sweepSeed: search.seed, seedIndex: seed)
    }

    /// The trials of generation `g` (every seed of each proposal), in proposal order, proposed on
    /// first use. Valid once all earlier generations are complete, which is when `nextStep` asks.
    func trials(ofGeneration g: Int, _ state: SweepState) -> [PlannedTrial] {
        generationLock.lock(); defer { generationLock.unlock() }
        if let trials = generationTrials[g] { return trials }
        let proposals = machinery.measure(pooled: false) {
            sampler.propose(generation: g, history: state.observations(before: g, objectives: search.objectives))
        }
        let trials = zip(proposals, sampler.indices(generation: g)).flatMap { proposal, k in
            search.seeds.map { seed -> PlannedTrial in let key = key(proposal, seed: seed); return (key.id, key, proposal, k, seed) }
        }
        generationTrials[g] = trials
        return trials
    }

    enum Step {
        case plan(generation: Int)
        case train(generation: Int, rung: Int, trials: [String])
        case prune(rung: Int, trials: [String])
        case final([TrialRecord])
        case done
    }

    /// The next thing the sweep needs, from the journals alone.
    func nextStep() -> Step {
        let state = self.state
        for g in 0..<search.generationCount {
            let members = trials(ofGeneration: g, state).map(\.id)
            if members.contains(where: { state.trials[$0] == nil }) { return .plan(generation: g) }
            var alive = members.filter { ![.failed, .diverged, .rejected].contains(state.trials[$0]!.status) }
            for (r, rung) in search.rungs.enumerated() {
                let pending = alive.filter { let t = state.trials[$0]!; return !t.isDone && t.epochsDone < rung }
                if !pending.isEmpty { return .train(generation: g, rung: rung, trials: pending) }
                alive = alive.filter { [.paused, .finished, .pruned].contains(state.trials[$0]!.status) }
                guard r + 1 < search.rungs.count, let pruner = search.earlyStopping?.pruner else { continue }
                let decision = RungDecision(pruner: pruner, objectives: search.objectives).survivors(alive, rung: rung, state)
                if !decision.pruneNow.isEmpty { return .prune(rung: rung, trials: decision.pruneNow) }
                alive = decision.continuing
            }
        }
        let pendingFinal = finalChoice(state).filter { $0.testAccuracy == nil }
        return pendingFinal.isEmpty ? .done : .final(pendingFinal)
    }

    public func run() throws -> Outcome {
        var waitingFor: [String] = []
        while true {
            if shouldStop() { return .interrupted }
            try store.refresh()
            switch nextStep() {
            case .done:
                return .completed
            case .plan(let g):
                try plan(generation: g)
            case let .prune(rung, ids):
                try store.record(ids.map { id in
                    var event = JournalEvent(.pruned, trial: id)
                    event.epochs = rung
                    return event
                })
                for id in ids { try? FileManager.default.removeItem(atPath: store.checkpoint(id)) }
                onEvent(.pruned(ids: ids, rung: rung))
            case let .train(g, rung, ids):
                onEvent(.generation(index: g, of: search.generationCount, trials: ids.count, rung: rung))
                if try train(ids, until: rung) == 0 {
                    if waitingFor != ids { onEvent(.waiting(trials: ids)); waitingFor = ids }
                    Thread.sleep(forTimeInterval: pollSeconds)
                }
            case .final(let records):
                // One worker runs the whole final phase (one streamed pass for all its models).
                guard let generation = store.leases.acquire("final") else {
                    let ids = records.map(\.id)
                    if waitingFor != ids { onEvent(.waiting(trials: ids)); waitingFor = ids }
                    Thread.sleep(forTimeInterval: pollSeconds)
                    continue
                }
                defer { store.leases.release("final") }
                try store.refresh()
                let pending = finalChoice(state).filter { $0.testAccuracy == nil }
                if !pending.isEmpty, try !runFinal(pending, leaseGeneration: generation) { return .interrupted }
            }
        }
    }

    /// Journals the trials of generation `g` that are not yet: all of them, or the rest after a kill
    /// part-way through, or none when another worker planned them at the same moment; a trial whose
    /// content key exists already (a finished trial of an earlier revision of the sweep) is reused.
    func plan(generation g: Int) throws {
        let state = self.state
        var events: [JournalEvent] = []
        for trial in trials(ofGeneration: g, state) where state.trials[trial.id] == nil && !events.contains(where: { $0.trial == trial.id }) {
            var event = JournalEvent(.planned, trial: trial.id)
            event.generation = g; event.config = trial.config; event.method = trial.proposal.method; event.params = trial.proposal.values
            event.seed = trial.seed; event.trialSeed = trial.key.seed; event.key = trial.key.hex
            events.append(event)
            if let rejection = constraintViolation(method: trial.proposal.method, values: trial.proposal.values, seed: trial.key.seed) {
                var rejected = JournalEvent(.rejected, trial: trial.id)
                rejected.error = rejection.reason; rejected.result = rejection.costs
                events.append(rejected)
            }
        }
        try store.record(events)
    }

    /// A trial's settings: its initialisation from its own seed, its data order from its seed
    /// replicate (one order per replicate, so that trials can share reads).
    func settings(_ record: TrialRecord) -> TrialSettings {
        var settings = Hyperparameter.settings(method: record.method, values: record.values, epochs: search.epochs, seed: record.trialSeed)
        settings.dataSeed = trialSeed(sweepSeed: UInt64(truncatingIfNeeded: search.seed), trialID: "data-order/\(record.seed)")
        return settings
    }

    func trainer(_ record: TrialRecord, data: TrialData, checkpointID: String) throws -> TrialTrainer {
        try TrialTrainer(settings: settings(record), data: data, backboneWidth: cache.header.width, backboneDepth: depth,
                         backboneHeads: heads, backboneParameters: plan.vit.parameters, checkpointPath: store.checkpoint(checkpointID))
    }
}

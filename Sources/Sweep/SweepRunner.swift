// Over 300 lines because the runner's decisions (plan, rung, final phase) are one state machine over the journals;
// slots and journaling are its extensions in SweepRunner+Slots.swift and SweepRunner+Journaling.swift.

import Essentials
import Foundation

/// What the runner reports as it goes (the CLI turns these into progress lines; the objective
/// reports its own: training progress, the final phase).
public enum RunnerEvent {
    /// A generation's configurations were proposed and journaled.
    case planned(generation: Int, of: Int, trials: [String])
    case pruned(ids: [String], rung: Int)
    /// Nothing to claim: other workers hold the remaining trials of this stage.
    case waiting(trials: [String])
    /// The sweep read what it takes from earlier sweeps (before its first plan).
    case warmStarted(WarmStart)
    /// The sweep file was extended since the journals began (each line a change).
    case extended(changes: [String], revision: Int)
    /// The journal predates hyperparameters the file leaves at their defaults: its trials' values are kept.
    case keptRecordedDefaults([String])
}

/// Runs a sweep to completion from wherever its journals left it, alone or as one of several worker
/// processes sharing the results directory.
///
/// Its slots (SweepRunner+Slots.swift) each reread the journals when free and take the next step
/// they call for: plan a generation, prune at a rung, or train the most urgent ready stretch; then
/// the final phase. A generation's configurations are proposed from fixed earlier generations as they
/// stood at the lowest rung (`sampler.lag`), and successive halving ranks a generation's trials at a
/// rung once all of them reached it, so every decision is a function of the journals: whatever the
/// interruptions and however many workers share the sweep, it proposes, prunes and trains what one
/// uninterrupted run would have (trials resume from their epoch checkpoints bit for bit), while no
/// slot waits on work that no decision waits for. Workers claim trials through leases
/// (`LeaseKeeper`); a trial's outcome is journaled before its lease is released.
public final class SweepRunner {
    public enum Outcome { case completed, interrupted }

    public let identity: SweepIdentity
    /// The sweep's search, with the values of a journal older than some hyperparameters kept (RecordedDefaults.swift).
    public let search: SearchSpec
    public let objective: SweepObjective
    public let directory: String
    /// This process's worker id (nil for a plain `hpsweep run`, which owns the directory alone).
    public let worker: String?
    /// The journals, their folded state, leases and checkpoints (SweepStore.swift).
    let store: SweepStore
    public var state: SweepState { store.state }
    let sampler: Sampler
    public let shouldStop: () -> Bool
    let onEvent: (RunnerEvent) -> Void
    let pollSeconds: Double
    /// The time of the sweep machinery itself: proposing trials, reading and appending to journals.
    public let machinery = MachineryClock()
    public let hpsweepVersion: String
    /// The earlier sweeps' directories a warm-started sweep reads before its first plan (its spec's
    /// `warm_start`, resolved by the caller: a suite knows its earlier tasks' directories).
    let warmStartFrom: [String]

    /// The stretches this process holds (SweepRunner+Slots.swift).
    let slots = SlotBoard()
    /// Held by a slot while it rereads the journals and journals a decision.
    let decisionLock = NSLock()
    /// The trials last reported as held by other workers (reported once until they change).
    var waitingFor: [String] = []

    /// The journal a plain run writes (workers write `journal-<worker>.jsonl` beside it).
    public static func journalPath(_ directory: String) -> String { SweepStore.journalPath(directory) }

    /// Opens (or starts) the sweep in `directory`; refuses journals written for another spec.
    /// `worker`: this process's id when it is one of several workers (nil: a plain run, which holds the
    /// directory's exclusive lock, so any lease left in it belongs to a dead process).
    public init(
        identity: SweepIdentity, search: SearchSpec, objective: SweepObjective, directory: String,
        hpsweepVersion: String,
        worker: String? = nil, leaseSeconds: Double = 60, warmStartFrom: [String] = [],
        shouldStop: @escaping () -> Bool, onEvent: @escaping (RunnerEvent) -> Void
    ) throws {
        self.identity = identity; self.objective = objective; self.directory = directory
        self.worker = worker; self.shouldStop = shouldStop; self.onEvent = onEvent
        self.warmStartFrom = warmStartFrom
        pollSeconds = min(1, max(0.05, leaseSeconds / 8))
        self.hpsweepVersion = hpsweepVersion
        let file = identity.file
        let recorded = identity.recorded
        var changes: [String] = []
        store = try SweepStore(
            directory: directory, worker: worker, leaseSeconds: leaseSeconds, machinery: machinery,
            methods: Set(search.catalogue.methods)
        ) { journaled in
            if let old = journaled.spec {
                let refused = SpecRevision.incompatibilities(old, recorded)
                if !refused.isEmpty {
                    throw JournalError.incomparableChange(
                        journal: SweepStore.journalPath(directory), file: file, changes: refused)
                }
                changes = SpecRevision.diff(old, recorded)
            } else if let hash = journaled.specHash, hash != identity.contentHash {
                throw JournalError.otherSpec(
                    journal: SweepStore.journalPath(directory), file: file, journaled: hash, now: identity.contentHash)
            }
        }
        let (resumed, kept) = search.keepingRecordedDefaults(of: store.state)
        self.search = resumed
        sampler = Sampler(resumed)
        if !kept.isEmpty { onEvent(.keptRecordedDefaults(kept)) }
        let journaled = store.state
        if journaled.specHash == nil || !changes.isEmpty {
            var opened = SweepOpened(specSha256: identity.contentHash)
            opened.hpsweepVersion = hpsweepVersion; opened.cacheKey = objective.dataKey
            opened.sweepName = identity.name; opened.specFile = identity.file
            opened.objectives = search.objectives.map { "\($0.name):\($0.direction.rawValue)" }
            opened.trialsPlanned = search.trials * search.seeds.count
            opened.spec = .object(recorded)
            opened.costBasis = objective.costBasis
            opened.revision = journaled.revision + 1
            try store.record(.sweep(opened))
            if !changes.isEmpty { onEvent(.extended(changes: changes, revision: store.state.revision)) }
        }
    }

    typealias PlannedTrial = (id: String, key: TrialKey, proposal: Proposal, config: Int, seed: Int)
    /// Each generation's trials, proposed once (when the results they depend on are complete).
    private var generationTrials: [Int: [PlannedTrial]] = [:]
    private let generationLock = NSLock()

    func key(_ proposal: Proposal, seed: Int) -> TrialKey {
        // A hyperparameter added later, at the value every trial had before it existed, stays out of
        // the key: such trials keep the keys (and so the seeds) they had then.
        let values = proposal.values.filter { name, value in
            guard let parameter = search.catalogue.named(name), parameter.addedLater else { return true }
            return value != parameter.absentValue
        }
        return TrialKey(
            context: objective.trialKeyContext, method: proposal.method, values: values, epochs: search.epochs,
            sweepSeed: search.seed, seedIndex: seed)
    }

    /// The generations whose results generation `g` is proposed (and, Pareto-aware, pruned) from:
    /// 0...g − lag, and at least every generation before the first that the model proposes (so the
    /// model never starts without the startup design's results).
    func sourceGenerations(of g: Int, _ state: SweepState) -> Range<Int> {
        let firstModelled =
            (0..<search.generationCount).first { sampler.usesResults(generation: $0, warmStart: state.warmStart) }
            ?? search.generationCount
        return 0..<max(0, min(g, max(g - search.sampler.lag + 1, firstModelled)))
    }

    /// Whether generation `g` can be proposed: its sampler uses no results, or every trial of its
    /// source generations reached the lowest rung (or ended before it). Valid once the generations
    /// before `g` are planned, which is when `nextStep` asks.
    func isProposable(_ g: Int, _ state: SweepState) -> Bool {
        generationLock.lock(); defer { generationLock.unlock() }
        // (Trials only go forward: once proposable, always.)
        if generationTrials[g] != nil { return true }
        guard sampler.usesResults(generation: g, warmStart: state.warmStart) else { return true }
        let sources = sourceGenerations(of: g, state).flatMap { proposedTrials(ofGeneration: $0, state).map(\.id) }
        return state.reached(search.rungs[0], trials: sources)
    }

    /// The trials of generation `g` (every seed of each proposal), in proposal order, proposed on
    /// first use from its source generations as they stood at the lowest rung.
    func trials(ofGeneration g: Int, _ state: SweepState) -> [PlannedTrial] {
        generationLock.lock(); defer { generationLock.unlock() }
        return proposedTrials(ofGeneration: g, state)
    }

    private func proposedTrials(ofGeneration g: Int, _ state: SweepState) -> [PlannedTrial] {
        if let trials = generationTrials[g] { return trials }
        let sources = sourceGenerations(of: g, state).flatMap { proposedTrials(ofGeneration: $0, state).map(\.id) }
        let history =
            sampler.usesResults(generation: g, warmStart: state.warmStart)
            ? state.observations(of: sources, atRung: search.rungs[0], objectives: search.objectives) : []
        let proposals = machinery.measure(pooled: false) {
            sampler.propose(generation: g, history: history, warmStart: state.warmStart)
        }
        let trials = zip(proposals, sampler.indices(generation: g)).flatMap { proposal, k in
            search.seeds.map { seed -> PlannedTrial in
                let key = key(proposal, seed: seed); return (key.id, key, proposal, k, seed)
            }
        }
        generationTrials[g] = trials
        return trials
    }

    /// The finished trials a Pareto-aware rung decision of generation `g` compares with: those of its
    /// source generations, once every one of their trials ended (nil until then: the decision waits).
    func reference(forGeneration g: Int, _ state: SweepState) -> [TrialRecord]? {
        guard search.earlyStopping?.pruner.usesFinishedTrials == true else { return [] }
        let ids = sourceGenerations(of: g, state).flatMap { trials(ofGeneration: $0, state).map(\.id) }
        let records = ids.compactMap { state.trials[$0] }
        return records.count == ids.count && records.allSatisfy(\.isDone) ? records : nil
    }

    /// The last step computed, and the version of the state it was computed from.
    private var lastStep: (version: Int, step: Step)?
    /// Rung decisions that can no longer change (generation → rung index → survivors).
    private var settledDecisions: [Int: [Int: Set<String>]] = [:]
    private func settledDecision(_ g: Int, _ r: Int) -> Set<String>? {
        generationLock.lock(); defer { generationLock.unlock() }
        return settledDecisions[g]?[r]
    }
    private func settle(_ g: Int, _ r: Int, _ survivors: [String]) {
        generationLock.lock(); defer { generationLock.unlock() }
        settledDecisions[g, default: [:]][r] = Set(survivors)
    }

    enum Step {
        case warmStart
        case plan(generation: Int)
        case prune(rung: Int, trials: [String])
        /// Stretches ready to train, most urgent first.
        case train([Stretch])
        case final([TrialRecord])
        case done
    }

    /// The next thing the sweep needs, from the journals alone: a decision due (plan a generation,
    /// prune at a rung), else every stretch that can train now, else the final phase.
    ///
    /// A generation is proposed once its source generations reached the lowest rung; a rung decision
    /// waits only for its own generation's trials (and, Pareto-aware, its reference). So every
    /// decision depends on a fixed set of results, never on which others happen to be ready.
    func nextStep() -> Step {
        let (state, version) = store.versionedState
        generationLock.lock()
        if let last = lastStep, last.version == version { generationLock.unlock(); return last.step }
        generationLock.unlock()
        let step = nextStep(state)
        generationLock.lock(); lastStep = (version, step); generationLock.unlock()
        return step
    }

    /// The step for `state` (nextStep keeps the last answer until the journals change).
    private func nextStep(_ state: SweepState) -> Step {
        if search.warmStart != nil && state.warmStart == nil { return .warmStart }
        var ready: [(stretch: Stretch, generation: Int, rung: Int)] = []
        var complete = true
        generations: for g in 0..<search.generationCount {
            guard isProposable(g, state) else { complete = false; break }
            let members = trials(ofGeneration: g, state).map(\.id)
            if members.contains(where: { state.progress[$0] == nil }) { return .plan(generation: g) }
            var alive = members.filter { ![.failed, .diverged, .rejected].contains(state.progress[$0]!.status) }
            for (r, rung) in search.rungs.enumerated() {
                let pending = alive.filter {
                    let t = state.progress[$0]!; return !t.isDone && t.epochsDone < rung
                }
                if !pending.isEmpty {
                    complete = false
                    ready += pending.map { (Stretch(id: $0, rung: rung), g, r) }
                    continue generations
                }
                alive = alive.filter { [.paused, .finished, .pruned].contains(state.progress[$0]!.status) }
                guard r + 1 < search.rungs.count, let pruner = search.earlyStopping?.pruner else { continue }
                if let settled = settledDecision(g, r) { alive = alive.filter(settled.contains); continue }
                guard let reference = reference(forGeneration: g, state) else { complete = false; continue generations }
                let decision = RungDecision(pruner: pruner, objectives: search.objectives).survivors(
                    alive, rung: rung, state, reference: reference)
                if !decision.pruneNow.isEmpty { return .prune(rung: rung, trials: decision.pruneNow) }
                alive = decision.continuing
                // With its prunings journaled the decision stands (later it is read back from the
                // journal, to the same survivors): kept, not derived again at every step.
                settle(g, r, alive)
            }
        }
        if !complete { return .train(Self.claimOrder(ready)) }
        let pendingFinal = finalChoice(state).filter { $0.testAccuracy == nil }
        return pendingFinal.isEmpty ? .done : .final(pendingFinal)
    }

    /// The order free slots take ready stretches in: lowest rung first (those results unlock the next
    /// proposals and rung decisions; the survivors' long stretches fill the slots after), then earlier
    /// generations, then plan order (docs/workers.md has the measured alternatives). It decides only
    /// who trains what when, never what is decided.
    static func claimOrder(_ ready: [(stretch: Stretch, generation: Int, rung: Int)]) -> [Stretch] {
        ready.enumerated().sorted { a, b in
            (a.element.rung, a.element.generation, a.offset) < (b.element.rung, b.element.generation, b.offset)
        }.map(\.element.stretch)
    }

    public func run() throws -> Outcome {
        while true {
            if shouldStop() { return .interrupted }
            try store.refresh()
            switch nextStep() {
            case .done:
                return .completed
            case .warmStart:
                // One worker reads the earlier sweeps; the others wait for its line.
                guard store.leases.acquire("warm-start") != nil else {
                    Thread.sleep(forTimeInterval: pollSeconds)
                    continue
                }
                defer { store.leases.release("warm-start") }
                try store.refresh(rescan: true)
                guard state.warmStart == nil else { continue }
                let taken = try machinery.measure(pooled: false) {
                    try WarmStart.gather(from: warmStartFrom, for: search)
                }
                try store.record(.warmStart(taken, time: Date().timeIntervalSince1970))
                onEvent(.warmStarted(taken))
            case .plan, .prune, .train:
                try trainWhileWorkRemains()
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
                if !pending.isEmpty, try !objective.runFinal(pending, leaseGeneration: generation, runner: self) {
                    return .interrupted
                }
            }
        }
    }

    /// Journals the trials of generation `g` that are not yet: all of them, or the rest after a kill
    /// part-way through, or none when another worker planned them at the same moment; a trial whose
    /// content key exists already (a finished trial of an earlier revision of the sweep) is reused.
    func plan(generation g: Int) throws {
        let state = self.state
        var events: [JournalEvent] = []
        for trial in trials(ofGeneration: g, state)
        where state.trials[trial.id] == nil && !events.contains(where: { $0.trial == trial.id }) {
            events.append(
                .planned(
                    TrialPlan(
                        trial: trial.id, generation: g, config: trial.config, method: trial.proposal.method,
                        params: trial.proposal.values, seed: trial.seed, trialSeed: trial.key.seed, key: trial.key.hex))
            )
            if let rejection = objective.rejection(
                method: trial.proposal.method, values: trial.proposal.values, seed: trial.key.seed)
            {
                events.append(
                    .rejected(TrialRejection(trial: trial.id, reason: rejection.reason, costs: rejection.costs)))
            }
        }
        try store.record(events)
        if !events.isEmpty {
            onEvent(
                .planned(
                    generation: g, of: search.generationCount, trials: events.filter(\.isPlanned).compactMap(\.trial)))
        }
    }

    /// The configurations of the final phase: the best `finalTop` finished ones of each method.
    func finalChoice(_ state: SweepState) -> [TrialRecord] {
        guard search.finalTop > 0 else { return [] }
        var chosen: [TrialRecord] = []
        for space in search.methods {
            let finished = state.records.filter { $0.method == space.method && $0.status == .finished }
            chosen += finished.sorted {
                (objectiveVector($0, [search.primary])[0], $0.id) < (objectiveVector($1, [search.primary])[0], $1.id)
            }.prefix(search.finalTop)
        }
        return chosen
    }
}

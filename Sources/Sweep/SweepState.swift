// Over 300 lines because it is the one fold of the journal: every kind of event is applied here, one function each,
// and resume correctness depends on reading them side by side.

import Essentials
import Foundation

/// A trial as the journal tells it.
public struct TrialRecord {
    public enum Status: String, Sendable { case planned, paused, finished, pruned, diverged, failed, rejected }
    public let id: String
    public let generation: Int
    public let config: Int
    public let method: String
    public let values: [String: ParameterValue]
    public let seed: Int
    public let trialSeed: UInt64
    /// The content key (TrialKey.hex).
    public let key: String
    public var status: Status = .planned
    /// The latest result (at a rung, or the end), if any.
    public var result: TrialResult?
    /// The result at each epoch count it paused or ended at (the first line of each): what the trial
    /// was at a rung, after it went past it.
    public var rungResults: [Int: TrialResult] = [:]
    public var epochsDone: Int { result?.epochsRun ?? 0 }
    /// Epoch records seen so far (including those of an unfinished rung).
    public var curve: [EpochRecord] = []
    /// Whether training began (a `started` line), and the epoch count it was started towards.
    public var startedTowards: Int?
    public var error: String?
    public var testAccuracy: Float?
    public var testLoss: Float?
    public var finalSeconds: Double?
    /// The final model's file, else the search model's (relative to the sweep's directory), if kept.
    public var modelFile: String?
    /// The final model's confusion matrix on the final eval split (rows: true class, columns: predicted).
    public var confusion: [[Int]]?
    /// Its classes' names in label order, when the data names them.
    public var classNames: [String]?
    public var startTime: Double?
    public var endTime: Double?

    public var isDone: Bool { [.finished, .pruned, .diverged, .failed, .rejected].contains(status) }

    /// Lease generation of the accepted outcome, the host, hpsweep version, CPU and BLAS kernel that reported it.
    public var lease = 0
    public var host: String?
    public var version: String?
    public var cpu: String?
    public var blas: String?
    public internal(set) var starts = 0
    var stretchesEnded = 0
    /// Training stretches begun, beyond those that ended: 1 for a trial never interrupted.
    public var attempts: Int { max(1, starts - stretchesEnded + 1) }
}

/// One stretch of training as the journals tell it: trial, the epochs it trained towards, start and end
/// (Unix seconds).
public struct StretchSpan: Equatable, Sendable {
    public var trial: String
    public var towards: Int
    public var start: Double
    public var end: Double
}

/// Where a trial stands: its status and the epochs it trained.
public struct TrialProgress: Equatable, Sendable {
    public var status: TrialRecord.Status
    public var epochsDone: Int
    public var isDone: Bool { [.finished, .pruned, .diverged, .failed, .rejected].contains(status) }
}

/// The sweep rebuilt from its journal(s): the spec hash it belongs to and every trial in plan order.
///
/// Applying events is order-independent, so journals of several workers can be read one after another
/// (a trial's lines read before its `planned` line wait for it):
/// a trial's first `planned` line defines it, its furthest `rung` result is kept, its first terminal
/// event (finished, pruned, diverged, failed) is final and later ones are duplicates, and its first
/// `final` line gives the test scores.
public struct SweepState {
    public var specHash: String?
    public var cacheKey: String?
    public var sweepName: String?
    /// The sweep file's path as the first `sweep` line gave it.
    public var specFile: String?
    public var objectives: [SearchSpec.Objective] = []
    public var trialsPlanned: Int?
    /// Objectives the sweep header names that this hpsweep does not know (a newer one wrote it).
    public var unknownObjectives: [String] = []
    /// Why this state cannot be read as a sweep's (no header, or objectives it does not know), or nil.
    public var headerProblem: String? {
        if !unknownObjectives.isEmpty {
            return "the journal's sweep header names objectives this hpsweep does not know: "
                + unknownObjectives.joined(separator: ", ") + " (was it written by a newer hpsweep?)"
        }
        return objectives.isEmpty ? "the journal has no sweep header" : nil
    }
    /// The latest recorded revision of the sweep file, and its number.
    public var spec: [String: JSONValue]?
    public var revision = 0
    public var costBasis: [String: Double]?
    /// What the sweep took from earlier sweeps (the first `warm_start` line), if it was warm-started.
    public var warmStart: WarmStart?
    /// Outcome lines for trials that already had one (the first wins; these were ignored).
    public private(set) var duplicates = 0
    public private(set) var order: [String] = []
    public private(set) var trials: [String: TrialRecord] = [:]
    /// Each trial's status and epochs, kept beside `trials` for the scheduler, which asks for them many
    /// times per step (a whole record is much dearer to copy).
    public private(set) var progress: [String: TrialProgress] = [:]
    /// Every training stretch that ended, from its `started` line to the line that ended it, in the
    /// order read (the schedule's timeline: ScheduleTimeline).
    public private(set) var spans: [StretchSpan] = []
    private var openStretches: [String: (start: Double, towards: Int)] = [:]
    /// Lines about trials whose `planned` line is in a journal not read yet (another worker planned
    /// them): kept until it is, then applied in the order read.
    private var unplanned: [String: [JournalEvent]] = [:]

    /// Methods a planned line may name (nil: any); a line naming another is not a trial of this sweep.
    public let methods: Set<String>?

    public init(events: [JournalEvent], methods: Set<String>? = nil) {
        self.methods = methods
        for event in events { apply(event) }
    }

    /// The state of journal contents, their undecodable lines counted (`status` reports them).
    public init(_ contents: JournalContents, methods: Set<String>? = nil) {
        self.init(events: [], methods: methods)
        apply(contents)
    }

    /// Complete journal lines that held no event (a newer hpsweep's, or edited): skipped, and reported.
    public private(set) var undecodable: [JournalError] = []

    public var records: [TrialRecord] { order.map { trials[$0]! } }

    public func generation(_ g: Int) -> [TrialRecord] { records.filter { $0.generation == g } }

    public mutating func apply(_ contents: JournalContents) {
        for event in contents.events { apply(event) }
        undecodable += contents.undecodable
    }

    /// Folds in one line: one function per kind of line.
    public mutating func apply(_ event: JournalEvent) {
        switch event {
        case .sweep(let opened): apply(opened)
        case .warmStart(let taken, _): warmStart = warmStart ?? taken
        case .planned(let plan): apply(plan)
        default:
            guard let id = event.trial else { return }
            guard var record = trials[id] else { unplanned[id, default: []].append(event); return }
            record.startTime = min(record.startTime ?? event.time, event.time)
            switch event {
            case .started(let start):
                record.startedTowards = start.towards
                record.starts += 1
                openStretches[id] = (start.time, start.towards ?? 0)
            case .epoch(let epoch):
                record.curve.removeAll { $0.epoch >= epoch.record.epoch }
                record.curve.append(epoch.record)
            case .rung(let outcome): applyRung(outcome, to: &record)
            case .finished(let o):
                applyEnd(
                    .finished, result: o.result, reporter: o.reporter, modelFile: o.modelFile, time: o.time, to: &record
                )
            case .diverged(let o):
                applyEnd(
                    .diverged, result: o.result, reporter: o.reporter, modelFile: o.modelFile, time: o.time, to: &record
                )
            case .failed(let f):
                applyEnd(.failed, error: f.error, reporter: f.reporter, time: f.time, to: &record)
            case .rejected(let rejection):
                guard !record.isDone else { break }
                record.status = .rejected; record.error = rejection.reason; record.result = rejection.costs
                record.endTime = rejection.time
            case .pruned(let pruning):
                guard !record.isDone else { break }  // (workers pruning at the same moment write the same line)
                record.status = .pruned; record.endTime = pruning.time
            case .final(let score): applyFinal(score, to: &record)
            case .sweep, .warmStart, .planned: break
            }
            if let open = openStretches[id], endsStretch(event) {
                openStretches[id] = nil
                spans.append(
                    StretchSpan(trial: id, towards: open.towards, start: open.start, end: max(open.start, event.time)))
            }
            if let history = record.result?.history {
                record.curve = history + record.curve.filter { $0.epoch > history.count }
            }
            trials[id] = record
            progress[id] = TrialProgress(status: record.status, epochsDone: record.epochsDone)
        }
    }

    private mutating func apply(_ opened: SweepOpened) {
        specHash = specHash ?? opened.specSha256
        if let spec = opened.spec?.object, (opened.revision ?? 1) > revision {
            self.spec = spec; revision = opened.revision ?? 1
            specHash = opened.specSha256
        }
        cacheKey = opened.cacheKey ?? cacheKey
        sweepName = opened.sweepName ?? sweepName
        specFile = specFile ?? opened.specFile
        trialsPlanned = opened.trialsPlanned ?? trialsPlanned
        costBasis = opened.costBasis ?? costBasis
        if let names = opened.objectives {
            let parsed = names.map { item -> SearchSpec.Objective? in
                let parts = item.split(separator: ":").map(String.init)
                guard parts.count == 2, let metric = SearchSpec.Metric(rawValue: parts[0]),
                    let direction = SearchSpec.Direction(rawValue: parts[1])
                else { return nil }
                return SearchSpec.Objective(metric: metric, direction: direction)
            }
            objectives = parsed.compactMap { $0 }
            unknownObjectives = zip(names, parsed).filter { $0.1 == nil }.map(\.0)
        }
    }

    /// A trial's first `planned` line defines it (a line naming a method the sweep lacks is not its trial).
    private mutating func apply(_ plan: TrialPlan) {
        let id = plan.trial
        guard trials[id] == nil, methods?.contains(plan.method) ?? true else { return }
        trials[id] = TrialRecord(
            id: id, generation: plan.generation, config: plan.config, method: plan.method, values: plan.params,
            seed: plan.seed, trialSeed: plan.trialSeed, key: plan.key ?? id)
        order.append(id)
        progress[id] = TrialProgress(status: .planned, epochsDone: 0)
        for early in unplanned.removeValue(forKey: id) ?? [] { apply(early) }
    }

    /// A stretch that paused at its rung: the furthest result is kept, and the first at each epoch count.
    private func applyRung(_ outcome: StretchOutcome, to record: inout TrialRecord) {
        record.stretchesEnded += 1
        record.host = outcome.reporter.host ?? record.host
        if outcome.result.epochsRun > record.epochsDone { record.result = outcome.result }
        if record.rungResults[outcome.result.epochsRun] == nil {
            record.rungResults[outcome.result.epochsRun] = outcome.result
        }
        if !record.isDone { record.status = .paused }
    }

    /// A trial's end (finished, diverged, failed). A result under a newer lease fences out a late one
    /// under an older lease; otherwise the first result wins and later ones are duplicates.
    private mutating func applyEnd(
        _ status: TrialRecord.Status, result: TrialResult? = nil, error: String? = nil, reporter: Reporter,
        modelFile: String? = nil, time: Double, to record: inout TrialRecord
    ) {
        record.stretchesEnded += 1
        let lease = reporter.lease ?? 0
        if record.isDone {
            duplicates += 1
            guard lease > record.lease, record.status != .pruned else { return }
        }
        record.lease = lease
        record.host = reporter.host ?? record.host
        record.version = reporter.version ?? record.version
        record.cpu = reporter.cpu ?? record.cpu
        record.blas = reporter.blas ?? record.blas
        record.endTime = time
        record.status = status
        if status == .failed { record.error = error }
        if let result {
            record.result = result
            if record.rungResults[result.epochsRun] == nil { record.rungResults[result.epochsRun] = result }
        }
        if record.modelFile == nil { record.modelFile = modelFile }
    }

    /// The first `final` line of a configuration gives its test scores.
    private mutating func applyFinal(_ score: FinalScore, to record: inout TrialRecord) {
        guard record.testAccuracy == nil else { duplicates += 1; return }
        record.testAccuracy = score.testAccuracy; record.testLoss = score.testLoss;
        record.finalSeconds = score.result?.trainSeconds
        record.modelFile = score.modelFile ?? record.modelFile
        record.confusion = score.confusion
        record.classNames = score.classNames
    }

    private func endsStretch(_ event: JournalEvent) -> Bool {
        switch event {
        case .rung, .finished, .diverged, .failed: true
        default: false
        }
    }

    /// What the model-based sampler learns from: trials `ids` as they stood at `rung` epochs (the
    /// lowest rung), all at one fidelity. A rejected configuration carries its known costs and accuracy
    /// 0, the worst there is; a trial that failed or diverged before the rung is left out.
    public func observations(of ids: [String], atRung rung: Int, objectives: [SearchSpec.Objective]) -> [Observation] {
        ids.compactMap { trials[$0] }.compactMap { record in
            guard let result = record.status == .rejected ? record.result : record.rungResults[rung] else { return nil }
            var atRung = record
            atRung.result = result
            return Observation(
                method: record.method, values: record.values,
                objectives: objectiveVector(atRung, objectives, forSampler: true),
                completed: true)
        }
    }

    /// Whether every one of trials `ids` is planned and has reached `rung` epochs or ended before it:
    /// their observations at that rung are then complete, whatever happens later.
    public func reached(_ rung: Int, trials ids: [String]) -> Bool {
        ids.allSatisfy { id in progress[id].map { $0.isDone || $0.epochsDone >= rung } ?? false }
    }
}

/// A trial's objective values, oriented so that smaller is better. The sampler sees training FLOPs in
/// place of measured seconds, which vary from run to run: its proposals must be reproducible.
public func objectiveVector(_ record: TrialRecord, _ objectives: [SearchSpec.Objective], forSampler: Bool = false)
    -> [Double]
{
    objectives.map { objective in
        let value =
            metricValue(record, forSampler && objective.metric == .trainSeconds ? .flops : objective.metric)
            ?? .infinity
        return objective.direction == .maximize ? -value : value
    }
}

/// One metric of a trial (nil when the trial has no result).
public func metricValue(_ record: TrialRecord, _ metric: SearchSpec.Metric) -> Double? {
    guard let r = record.result else { return nil }
    switch metric {
    case .valAccuracy: return Double(r.bestValAccuracy)
    case .valLoss: return Double(r.finalValLoss)
    case .params: return Double(r.trainableParameters)
    case .flops: return r.trainingFLOPs
    case .trainSeconds: return r.trainSeconds
    case .peakMemory: return Double(r.workingMemoryBytes)
    }
}

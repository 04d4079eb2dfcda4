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
    public var objectives: [SearchSpec.Objective] = []
    public var trialsPlanned: Int?
    /// The latest recorded revision of the sweep file, and its number.
    public var spec: [String: Any]?
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

    public var records: [TrialRecord] { order.map { trials[$0]! } }

    public func generation(_ g: Int) -> [TrialRecord] { records.filter { $0.generation == g } }

    public mutating func apply(_ event: JournalEvent) {
        switch event.event {
        case .sweep:
            specHash = specHash ?? event.specSha256
            if let spec = event.spec?.any as? [String: Any], (event.revision ?? 1) > revision {
                self.spec = spec; revision = event.revision ?? 1
                specHash = event.specSha256 ?? specHash
            }
            cacheKey = event.cacheKey ?? cacheKey
            sweepName = event.sweepName ?? sweepName
            trialsPlanned = event.trialsPlanned ?? trialsPlanned
            costBasis = event.costBasis ?? costBasis
            if let names = event.objectives {
                objectives = names.compactMap { item in
                    let parts = item.split(separator: ":").map(String.init)
                    guard parts.count == 2, let metric = SearchSpec.Metric(rawValue: parts[0]),
                          let direction = SearchSpec.Direction(rawValue: parts[1]) else { return nil }
                    return SearchSpec.Objective(metric: metric, direction: direction)
                }
            }
        case .warmStart:
            warmStart = warmStart ?? event.warmStart
        case .planned:
            guard let id = event.trial, trials[id] == nil, let g = event.generation, let config = event.config,
                  let method = event.method, methods?.contains(method) ?? true, let params = event.params, let seed = event.seed, let trialSeed = event.trialSeed else { return }
            trials[id] = TrialRecord(id: id, generation: g, config: config, method: method, values: params, seed: seed, trialSeed: trialSeed,
                                     key: event.key ?? id)
            order.append(id)
            progress[id] = TrialProgress(status: .planned, epochsDone: 0)
            for early in unplanned.removeValue(forKey: id) ?? [] { apply(early) }
        default:
            guard let id = event.trial else { return }
            guard var record = trials[id] else { unplanned[id, default: []].append(event); return }
            record.startTime = min(record.startTime ?? event.time, event.time)
            let terminal = record.isDone
            switch event.event {
            case .started:
                record.startedTowards = event.epochs
                record.starts += 1
                openStretches[id] = (event.time, event.epochs ?? 0)
            case .epoch:
                if let r = event.record { record.curve.removeAll { $0.epoch >= r.epoch }; record.curve.append(r) }
            case .rung:
                record.stretchesEnded += 1
                record.host = event.host ?? record.host
                if let result = event.result, result.epochsRun > record.epochsDone { record.result = result }
                if let result = event.result, record.rungResults[result.epochsRun] == nil { record.rungResults[result.epochsRun] = result }
                if !terminal { record.status = .paused }
            case .finished, .diverged, .failed:
                record.stretchesEnded += 1
                // A result under a newer lease fences out a late one under an older lease; otherwise
                // the first result wins and later ones are duplicates.
                let lease = event.lease ?? 0
                if terminal {
                    guard lease > record.lease, record.status != .pruned else { duplicates += 1; break }
                    duplicates += 1
                }
                record.lease = lease
                record.host = event.host ?? record.host
                record.version = event.version ?? record.version
                record.cpu = event.cpu ?? record.cpu
                record.blas = event.blas ?? record.blas
                record.endTime = event.time
                if event.event == .failed { record.status = .failed; record.error = event.error }
                else if let result = event.result {
                    record.result = result; record.status = event.event == .finished ? .finished : .diverged
                    if record.rungResults[result.epochsRun] == nil { record.rungResults[result.epochsRun] = result }
                }
                if record.modelFile == nil { record.modelFile = event.modelFile }
            case .rejected:
                guard !terminal else { break }
                record.status = .rejected; record.error = event.error; record.result = event.result; record.endTime = event.time
            case .pruned:
                guard !terminal else { break }   // (workers pruning at the same moment write the same line)
                record.status = .pruned; record.endTime = event.time
            case .final:
                guard record.testAccuracy == nil else { duplicates += 1; break }
                record.testAccuracy = event.testAcc; record.testLoss = event.testLoss; record.finalSeconds = event.result?.trainSeconds
                record.modelFile = event.modelFile ?? record.modelFile
                record.confusion = event.confusion
            default: break
            }
            if [.rung, .finished, .diverged, .failed].contains(event.event), let open = openStretches.removeValue(forKey: id) {
                spans.append(StretchSpan(trial: id, towards: open.towards, start: open.start, end: max(open.start, event.time)))
            }
            if let history = record.result?.history { record.curve = history + record.curve.filter { $0.epoch > history.count } }
            trials[id] = record
            progress[id] = TrialProgress(status: record.status, epochsDone: record.epochsDone)
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
            return Observation(method: record.method, values: record.values, objectives: objectiveVector(atRung, objectives, forSampler: true),
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
public func objectiveVector(_ record: TrialRecord, _ objectives: [SearchSpec.Objective], forSampler: Bool = false) -> [Double] {
    objectives.map { objective in
        let value = metricValue(record, forSampler && objective.metric == .trainSeconds ? .flops : objective.metric) ?? .infinity
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

import Essentials
import Foundation

/// A journal line as it lies on disk: one flat JSON object, keys sorted, whose `event` names its kind
/// (the table in docs/formats.md). Only `JournalEvent`'s coding goes through it.
struct JournalLineFields: Codable {
    var event: String
    var time: Double
    var trial: String?
    var specSha256: String?
    var hpsweepVersion: String?
    var cacheKey: String?
    var sweepName: String?
    var specFile: String?
    var objectives: [String]?
    var trialsPlanned: Int?
    var spec: JSONValue?
    var revision: Int?
    var costBasis: [String: Double]?
    var key: String?
    var host: String?
    var lease: Int?
    var version: String?
    var cpu: String?
    var blas: String?
    var generation: Int?
    var config: Int?
    var method: String?
    var params: [String: ParameterValue]?
    var seed: Int?
    var trialSeed: UInt64?
    var epochs: Int?
    var record: EpochRecord?
    var result: TrialResult?
    var error: String?
    var testAcc: Float?
    var testLoss: Float?
    var modelFile: String?
    var confusion: [[Int]]?
    var classNames: [String]?
    var warmStart: WarmStart?

    enum CodingKeys: String, CodingKey {
        case event, time, trial
        case specSha256 = "spec_sha256"
        case hpsweepVersion = "hpsweep_version"
        case cacheKey = "cache_key"
        case sweepName = "sweep_name"
        case specFile = "spec_file"
        case objectives
        case trialsPlanned = "trials_planned"
        case spec, revision
        case key
        case costBasis = "cost_basis"
        case host, lease, version, cpu, blas
        case generation, config, method, params, seed
        case trialSeed = "trial_seed"
        case epochs, record, result, error
        case testAcc = "test_acc"
        case testLoss = "test_loss"
        case modelFile = "model_file"
        case confusion
        case classNames = "class_names"
        case warmStart = "warm_start"
    }

    init(_ event: String, time: Double, trial: String?) {
        self.event = event; self.time = time; self.trial = trial
    }

    mutating func set(_ reporter: Reporter) {
        (lease, host, version, cpu, blas) = (
            reporter.lease, reporter.host, reporter.version, reporter.cpu, reporter.blas
        )
    }

    var reporter: Reporter { Reporter(lease: lease, host: host, version: version, cpu: cpu, blas: blas) }
}

/// A journal line that is JSON but not an event of its kind: a field missing or an unknown kind.
struct UndecodableEvent: Error, CustomStringConvertible {
    let description: String
}

extension JournalEvent: Codable {
    public init(from decoder: Decoder) throws {
        try self.init(try JournalLineFields(from: decoder))
    }

    public func encode(to encoder: Encoder) throws {
        try JournalLineFields(self).encode(to: encoder)
    }

    /// The latest time a line may carry (10¹¹ s after 1970, in the year 5138).
    static let latestTime = 1e11

    /// The event a line's fields describe; throws `UndecodableEvent` naming what is missing.
    init(_ f: JournalLineFields) throws {
        func need<T>(_ value: T?, _ field: String) throws -> T {
            guard let value else { throw UndecodableEvent(description: "a '\(f.event)' line without '\(field)'") }
            return value
        }
        // Times and counts size loops and durations downstream (ETAs, charts, tables): bounded here.
        let time = f.time
        guard time.isFinite, time >= 0, time <= Self.latestTime else {
            throw UndecodableEvent(description: "a '\(f.event)' line whose time \(time) is not a Unix time")
        }
        func refuse(_ problem: String) -> UndecodableEvent {
            UndecodableEvent(description: "a '\(f.event)' line whose \(problem)")
        }
        if let matrix = f.confusion, let problem = FinalScore.problem(confusion: matrix) {
            throw refuse("confusion matrix \(problem)")
        }
        if let names = f.classNames, let matrix = f.confusion, names.count != matrix.count {
            throw refuse("class_names has \(names.count) names for \(matrix.count) classes")
        }
        if let problem = f.result?.problem { throw refuse("result's \(problem)") }
        if let problem = f.record?.problem { throw refuse("record's \(problem)") }
        let counts: [(String, Int?, ClosedRange<Int>)] = [
            ("epochs", f.epochs, 0...TrialResult.limits.epochs), ("generation", f.generation, 0...1 << 40),
            ("config", f.config, 0...1 << 40), ("seed", f.seed, 0...TrialResult.limits.count),
            ("lease", f.lease, 0...TrialResult.limits.count), ("trials_planned", f.trialsPlanned, 0...1 << 40),
            ("revision", f.revision, 1...1 << 20),
        ]
        for case let (name, value?, range) in counts where !range.contains(value) {
            throw refuse("\(name) \(value) is not from \(range.lowerBound) to \(range.upperBound)")
        }
        switch f.event {
        case "sweep":
            var opened = SweepOpened(specSha256: try need(f.specSha256, "spec_sha256"), time: time)
            opened.hpsweepVersion = f.hpsweepVersion; opened.cacheKey = f.cacheKey; opened.sweepName = f.sweepName
            opened.specFile = f.specFile; opened.objectives = f.objectives; opened.trialsPlanned = f.trialsPlanned
            opened.spec = f.spec; opened.revision = f.revision; opened.costBasis = f.costBasis
            self = .sweep(opened)
        case "warm_start":
            self = .warmStart(try need(f.warmStart, "warm_start"), time: time)
        case "planned":
            self = .planned(
                TrialPlan(
                    trial: try need(f.trial, "trial"), generation: try need(f.generation, "generation"),
                    config: try need(f.config, "config"), method: try need(f.method, "method"),
                    params: try need(f.params, "params"), seed: try need(f.seed, "seed"),
                    trialSeed: try need(f.trialSeed, "trial_seed"), key: f.key, time: time))
        case "rejected":
            self = .rejected(
                TrialRejection(
                    trial: try need(f.trial, "trial"), reason: try need(f.error, "error"), costs: f.result, time: time))
        case "started":
            self = .started(
                TrialStart(
                    trial: try need(f.trial, "trial"), towards: f.epochs, lease: f.lease, host: f.host, time: time))
        case "epoch":
            self = .epoch(
                TrialEpoch(trial: try need(f.trial, "trial"), record: try need(f.record, "record"), time: time))
        case "rung", "finished", "diverged":
            let outcome = StretchOutcome(
                trial: try need(f.trial, "trial"), result: try need(f.result, "result"), rung: f.epochs,
                modelFile: f.modelFile, reporter: f.reporter, time: time)
            self = f.event == "rung" ? .rung(outcome) : f.event == "finished" ? .finished(outcome) : .diverged(outcome)
        case "failed":
            self = .failed(
                TrialFailure(
                    trial: try need(f.trial, "trial"), error: try need(f.error, "error"), reporter: f.reporter,
                    time: time))
        case "pruned":
            self = .pruned(TrialPruning(trial: try need(f.trial, "trial"), rung: f.epochs, time: time))
        case "final":
            self = .final(
                FinalScore(
                    trial: try need(f.trial, "trial"), testAccuracy: try need(f.testAcc, "test_acc"),
                    testLoss: try need(f.testLoss, "test_loss"), confusion: f.confusion, result: f.result,
                    modelFile: f.modelFile, classNames: f.classNames, reporter: f.reporter, time: time))
        default:
            throw UndecodableEvent(description: "an event of unknown kind '\(f.event)' (written by a newer hpsweep?)")
        }
    }
}

extension JournalLineFields {
    /// The fields of `event`, as hpsweep has always written them.
    init(_ event: JournalEvent) {
        switch event {
        case .sweep(let e):
            self.init("sweep", time: e.time, trial: nil)
            specSha256 = e.specSha256; hpsweepVersion = e.hpsweepVersion; cacheKey = e.cacheKey; sweepName = e.sweepName
            specFile = e.specFile; objectives = e.objectives; trialsPlanned = e.trialsPlanned; spec = e.spec;
            revision = e.revision
            costBasis = e.costBasis
        case .warmStart(let w, let time):
            self.init("warm_start", time: time, trial: nil)
            warmStart = w
        case .planned(let e):
            self.init("planned", time: e.time, trial: e.trial)
            generation = e.generation; config = e.config; method = e.method; params = e.params; seed = e.seed
            trialSeed = e.trialSeed; key = e.key
        case .rejected(let e):
            self.init("rejected", time: e.time, trial: e.trial)
            error = e.reason; result = e.costs
        case .started(let e):
            self.init("started", time: e.time, trial: e.trial)
            epochs = e.towards; lease = e.lease; host = e.host
        case .epoch(let e):
            self.init("epoch", time: e.time, trial: e.trial)
            record = e.record
        case .rung(let e), .finished(let e), .diverged(let e):
            let kind =
                if case .rung = event { "rung" } else if case .finished = event { "finished" } else { "diverged" }
            self.init(kind, time: e.time, trial: e.trial)
            result = e.result; epochs = e.rung; modelFile = e.modelFile
            set(e.reporter)
        case .failed(let e):
            self.init("failed", time: e.time, trial: e.trial)
            error = e.error
            set(e.reporter)
        case .pruned(let e):
            self.init("pruned", time: e.time, trial: e.trial)
            epochs = e.rung
        case .final(let e):
            self.init("final", time: e.time, trial: e.trial)
            testAcc = e.testAccuracy; testLoss = e.testLoss; confusion = e.confusion; result = e.result;
            classNames = e.classNames
            modelFile = e.modelFile
            set(e.reporter)
        }
    }
}

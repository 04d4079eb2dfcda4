import Essentials
import Foundation

/// One line of `journal.jsonl` (docs/formats.md): what happened to the sweep, one case per kind of line,
/// each with what that kind carries. On disk each is one flat JSON object whose `event` field names the
/// case (`JournalLineFields`); a line lacking a field its kind needs does not decode (`JournalEvent.init`).
public enum JournalEvent: Equatable {
    /// The sweep began, or its file was extended (a new revision).
    case sweep(SweepOpened)
    /// What the sweep takes from earlier sweeps, written once before its first plan.
    case warmStart(WarmStart, time: Double)
    case planned(TrialPlan)
    /// A planned configuration its method refuses, with the costs known without training it.
    case rejected(TrialRejection)
    /// A stretch of training began (progress only: not fsync'ed).
    case started(TrialStart)
    /// One epoch of a stretch (progress only).
    case epoch(TrialEpoch)
    /// A stretch that stopped at its rung.
    case rung(StretchOutcome)
    case finished(StretchOutcome)
    case diverged(StretchOutcome)
    case failed(TrialFailure)
    case pruned(TrialPruning)
    /// The final phase's scores of a configuration retrained on the final split.
    case final(FinalScore)

    /// Unix time in seconds.
    public var time: Double {
        switch self {
        case .sweep(let e): e.time
        case .warmStart(_, let time): time
        case .planned(let e): e.time
        case .rejected(let e): e.time
        case .started(let e): e.time
        case .epoch(let e): e.time
        case .rung(let e), .finished(let e), .diverged(let e): e.time
        case .failed(let e): e.time
        case .pruned(let e): e.time
        case .final(let e): e.time
        }
    }

    /// The trial the line is about (nil for the sweep's own lines).
    public var trial: String? {
        switch self {
        case .sweep, .warmStart: nil
        case .planned(let e): e.trial
        case .rejected(let e): e.trial
        case .started(let e): e.trial
        case .epoch(let e): e.trial
        case .rung(let e), .finished(let e), .diverged(let e): e.trial
        case .failed(let e): e.trial
        case .pruned(let e): e.trial
        case .final(let e): e.trial
        }
    }

    /// Lines that only report progress: the next outcome line holds the state they describe.
    public var isProgress: Bool {
        switch self {
        case .started, .epoch: true
        default: false
        }
    }

    public var isPlanned: Bool { if case .planned = self { true } else { false } }
}

/// Who reported an outcome: the lease generation it held, its host, hpsweep version, CPU and BLAS kernel
/// (results differ in the last bits between kernels). All absent in lines of older versions.
public struct Reporter: Equatable {
    public var lease: Int?
    public var host: String?
    public var version: String?
    public var cpu: String?
    public var blas: String?
    public init(lease: Int? = nil, host: String? = nil, version: String? = nil, cpu: String? = nil, blas: String? = nil)
    {
        self.lease = lease; self.host = host; self.version = version; self.cpu = cpu; self.blas = blas
    }
}

public struct SweepOpened: Equatable {
    public var time: Double
    public var specSha256: String
    public var hpsweepVersion: String?
    public var cacheKey: String?
    public var sweepName: String?
    public var specFile: String?
    /// "metric:direction", primary first.
    public var objectives: [String]?
    /// Trials the sweep will run (configurations × seeds).
    public var trialsPlanned: Int?
    /// The sweep file (without workers and memory) and its revision: 1 when the sweep started, +1 at
    /// each extension.
    public var spec: JSONValue?
    public var revision: Int?
    /// For cost accounting: cache_seconds, cache_images, train_images, eval_images, final_train_images, final_eval_images.
    public var costBasis: [String: Double]?

    public init(specSha256: String, time: Double = Date().timeIntervalSince1970) {
        self.specSha256 = specSha256; self.time = time
    }
}

public struct TrialPlan: Equatable {
    public var time: Double
    public var trial: String
    public var generation: Int
    public var config: Int
    public var method: String
    public var params: [String: ParameterValue]
    public var seed: Int
    public var trialSeed: UInt64
    /// The trial's content key (TrialKey.hex); absent in the oldest journals, where it is the trial id.
    public var key: String?

    public init(
        trial: String, generation: Int, config: Int, method: String, params: [String: ParameterValue], seed: Int,
        trialSeed: UInt64, key: String?, time: Double = Date().timeIntervalSince1970
    ) {
        self.time = time; self.trial = trial; self.generation = generation; self.config = config; self.method = method
        self.params = params; self.seed = seed; self.trialSeed = trialSeed; self.key = key
    }
}

public struct TrialRejection: Equatable {
    public var time: Double
    public var trial: String
    /// The broken constraint.
    public var reason: String
    public var costs: TrialResult?

    public init(trial: String, reason: String, costs: TrialResult?, time: Double = Date().timeIntervalSince1970) {
        self.time = time; self.trial = trial; self.reason = reason; self.costs = costs
    }
}

public struct TrialStart: Equatable {
    public var time: Double
    public var trial: String
    /// The epoch count this stretch trains to: a rung or the end.
    public var towards: Int?
    public var lease: Int?
    public var host: String?

    public init(
        trial: String, towards: Int?, lease: Int? = nil, host: String? = nil,
        time: Double = Date().timeIntervalSince1970
    ) {
        self.time = time; self.trial = trial; self.towards = towards; self.lease = lease; self.host = host
    }
}

public struct TrialEpoch: Equatable {
    public var time: Double
    public var trial: String
    public var record: EpochRecord

    public init(trial: String, record: EpochRecord, time: Double = Date().timeIntervalSince1970) {
        self.time = time; self.trial = trial; self.record = record
    }
}

/// How a stretch of training ended: at its rung (paused), finished or diverged.
public struct StretchOutcome: Equatable {
    public var time: Double
    public var trial: String
    public var result: TrialResult
    /// The rung it paused at (rung lines only).
    public var rung: Int?
    /// The kept model, relative to the sweep's directory (finished trials with `"keep_models": "finished"`).
    public var modelFile: String?
    public var reporter: Reporter

    public init(
        trial: String, result: TrialResult, rung: Int? = nil, modelFile: String? = nil, reporter: Reporter = Reporter(),
        time: Double = Date().timeIntervalSince1970
    ) {
        self.time = time; self.trial = trial; self.result = result; self.rung = rung; self.modelFile = modelFile
        self.reporter = reporter
    }
}

public struct TrialFailure: Equatable {
    public var time: Double
    public var trial: String
    public var error: String
    public var reporter: Reporter

    public init(
        trial: String, error: String, reporter: Reporter = Reporter(), time: Double = Date().timeIntervalSince1970
    ) {
        self.time = time; self.trial = trial; self.error = error; self.reporter = reporter
    }
}

public struct TrialPruning: Equatable {
    public var time: Double
    public var trial: String
    /// The rung it was pruned at.
    public var rung: Int?

    public init(trial: String, rung: Int?, time: Double = Date().timeIntervalSince1970) {
        self.time = time; self.trial = trial; self.rung = rung
    }
}

public struct FinalScore: Equatable {
    public var time: Double
    public var trial: String
    public var testAccuracy: Float
    public var testLoss: Float
    /// Examples of the final eval split by true class (row) and predicted class (column).
    public var confusion: [[Int]]?
    /// The class names in label order, when the data names them (class folders).
    public var classNames: [String]?
    /// The retraining's result.
    public var result: TrialResult?
    public var modelFile: String?
    public var reporter: Reporter

    public init(
        trial: String, testAccuracy: Float, testLoss: Float, confusion: [[Int]]?, result: TrialResult?,
        modelFile: String?, classNames: [String]? = nil,
        reporter: Reporter = Reporter(), time: Double = Date().timeIntervalSince1970
    ) {
        self.time = time; self.trial = trial; self.testAccuracy = testAccuracy; self.testLoss = testLoss;
        self.confusion = confusion; self.classNames = classNames
        self.result = result; self.modelFile = modelFile; self.reporter = reporter
    }

    /// The most classes and the largest count a confusion matrix may hold (2²⁰ and 2⁴⁰), so that no row
    /// sum can overflow and no table be sized beyond what a cache can label.
    public static let confusionLimits = (classes: 1 << 20, count: 1 << 40)

    /// What is wrong with a confusion matrix read from a journal (not square, too many classes, a count
    /// out of range), or nil.
    public static func problem(confusion matrix: [[Int]]) -> String? {
        if matrix.count > confusionLimits.classes {
            return "has \(matrix.count) rows (at most \(confusionLimits.classes) classes)"
        }
        if let row = matrix.firstIndex(where: { $0.count != matrix.count }) {
            return "is not square (row \(row) has \(matrix[row].count) counts for \(matrix.count) classes)"
        }
        for (row, counts) in matrix.enumerated() {
            if let column = counts.firstIndex(where: { $0 < 0 || $0 > confusionLimits.count }) {
                return "holds \(counts[column]) at [\(row)][\(column)] (counts are 0 to 2^40)"
            }
        }
        return nil
    }
}

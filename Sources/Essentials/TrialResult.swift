import Foundation

/// One epoch of a trial's history.
public struct EpochRecord: Codable, Equatable, Sendable {
    public var epoch: Int
    public var trainLoss: Float
    public var learningRate: Float
    public var valAccuracy: Float?
    public var valLoss: Float?

    public init(epoch: Int, trainLoss: Float, learningRate: Float, valAccuracy: Float? = nil, valLoss: Float? = nil) {
        self.epoch = epoch; self.trainLoss = trainLoss; self.learningRate = learningRate
        self.valAccuracy = valAccuracy; self.valLoss = valLoss
    }

    /// What is wrong with a record read from a file, or nil: an epoch outside 1 to 2²⁰.
    public var problem: String? {
        (1...TrialResult.limits.epochs).contains(epoch)
            ? nil : "epoch \(epoch) is not from 1 to \(TrialResult.limits.epochs)"
    }

    enum CodingKeys: String, CodingKey {
        case epoch
        case trainLoss = "train_loss"
        case learningRate = "learning_rate"
        case valAccuracy = "val_accuracy"
        case valLoss = "val_loss"
    }
}

public enum TrialStatus: String, Codable, Sendable {
    case finished, diverged, stopped
}

/// What a trial reports. Everything but `trainSeconds` is a deterministic function of the settings
/// and the cache: the same trial gives bitwise the same result however and wherever it runs.
public struct TrialResult: Codable, Equatable, Sendable {
    public var status: TrialStatus
    public var epochsRun: Int
    public var bestEpoch: Int
    public var bestValAccuracy: Float
    public var finalValAccuracy: Float
    public var finalValLoss: Float
    public var history: [EpochRecord]
    public var trainableParameters: Int
    public var trainingFLOPs: Double
    public var workingMemoryBytes: Int
    public var trainSeconds: Double
    /// Of `trainSeconds`, the time spent reading (and converting) cached taps for training batches.
    public var readSeconds: Double = 0

    enum CodingKeys: String, CodingKey {
        case status
        case epochsRun = "epochs_run"
        case bestEpoch = "best_epoch"
        case bestValAccuracy = "best_val_accuracy"
        case finalValAccuracy = "final_val_accuracy"
        case finalValLoss = "final_val_loss"
        case history
        case trainableParameters = "trainable_parameters"
        case trainingFLOPs = "training_flops"
        case workingMemoryBytes = "working_memory_bytes"
        case trainSeconds = "train_seconds"
        case readSeconds = "read_seconds"
    }

    public init(
        status: TrialStatus, epochsRun: Int, bestEpoch: Int, bestValAccuracy: Float, finalValAccuracy: Float,
        finalValLoss: Float, history: [EpochRecord], trainableParameters: Int, trainingFLOPs: Double,
        workingMemoryBytes: Int, trainSeconds: Double
    ) {
        self.status = status; self.epochsRun = epochsRun; self.bestEpoch = bestEpoch;
        self.bestValAccuracy = bestValAccuracy
        self.finalValAccuracy = finalValAccuracy; self.finalValLoss = finalValLoss; self.history = history
        self.trainableParameters = trainableParameters; self.trainingFLOPs = trainingFLOPs
        self.workingMemoryBytes = workingMemoryBytes; self.trainSeconds = trainSeconds
    }

    /// The most epochs a trial can run (2²⁰) and the largest count or byte size it can report (2⁵³).
    public static let limits = (epochs: 1 << 20, count: 1 << 53)

    /// What is wrong with a result read from a file (a journal another program or an editor wrote),
    /// or nil: epochs beyond 2²⁰, counts that are negative or beyond 2⁵³, a cost that is negative or not
    /// finite. Accuracies and losses may be NaN (a diverged trial has them).
    public var problem: String? {
        for (name, value) in [("epochs_run", epochsRun), ("best_epoch", bestEpoch)]
        where !(0...Self.limits.epochs).contains(value) {
            return "\(name) \(value) is not from 0 to \(Self.limits.epochs)"
        }
        for (name, value) in [
            ("trainable_parameters", trainableParameters), ("working_memory_bytes", workingMemoryBytes),
        ]
        where !(0...Self.limits.count).contains(value) {
            return "\(name) \(value) is not from 0 to 2^53"
        }
        for (name, value) in [
            ("training_flops", trainingFLOPs), ("train_seconds", trainSeconds), ("read_seconds", readSeconds),
        ]
        where !(value >= 0 && value <= 1e30) {
            return "\(name) \(value) is not a number from 0 to 1e30"
        }
        if history.count > Self.limits.epochs { return "history has \(history.count) epochs" }
        if let record = history.first(where: { $0.problem != nil }) { return "history: " + record.problem! }
        return nil
    }

    /// Equality of everything deterministic (wall time excluded).
    public func sameOutcome(as other: TrialResult) -> Bool {
        var a = self, b = other
        a.trainSeconds = 0; b.trainSeconds = 0
        a.readSeconds = 0; b.readSeconds = 0
        return a == b
    }
}

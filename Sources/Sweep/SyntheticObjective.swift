import Essentials
import Foundation

/// An objective whose trials train by the clock instead of by arithmetic: a trial's validation
/// accuracy at each epoch is a fixed function of its hyperparameters, and each epoch takes a fixed
/// simulated time. The scheduler's tests (in milliseconds) and `hpsweep bench schedule` (with real
/// journals, leases and workers) run whole sweeps on it.
///
/// Accuracy rises with the epoch towards a ceiling set by the learning rate's distance from 0.05,
/// moved by up to ±0.04 by the other hyperparameters (a smooth bump for numbers, a fixed draw per
/// word); parameters are 10 times the product of the integer-valued hyperparameters (`shards` aside).
/// A trial with `shards` > 1 spreads each epoch over as many of the slots idle then, as real trials do.
public final class SyntheticObjective: SweepObjective, @unchecked Sendable {
    public let epochs: Int
    public let slots: Int
    /// Seconds one epoch takes (0: none).
    public let epochSeconds: Double
    /// When true, an epoch's time also grows with the method (by its place in name order) and with the
    /// trial's size, as real trials' do.
    public let variedDurations: Bool
    private let methods: [String]
    private let lock = NSLock()
    private var _stretches: [Stretch] = []
    private var _finals: [String] = []
    private var _busySeconds = 0.0
    /// Called before each stretch is claimed; returning true stops the runner there (a simulated Ctrl-C).
    public var interruptBefore: ((Stretch) -> Bool)?
    public private(set) var stopped = false

    public init(epochs: Int, methods: [String], slots: Int = 1, epochSeconds: Double = 0, variedDurations: Bool = false)
    {
        self.epochs = epochs; self.slots = slots; self.epochSeconds = epochSeconds;
        self.variedDurations = variedDurations
        self.methods = methods.sorted()
    }

    /// Stretches trained by this objective, in the order they ended.
    public var stretches: [Stretch] { lock.lock(); defer { lock.unlock() }; return _stretches }
    /// Trials retrained by the final phase.
    public var finals: [String] { lock.lock(); defer { lock.unlock() }; return _finals }
    /// Simulated seconds spent training (the work, summed over slots).
    public var busySeconds: Double { lock.lock(); defer { lock.unlock() }; return _busySeconds }

    public var dataKey: String { "synthetic-data" }
    public var trialKeyContext: [String: JSONValue] { ["data": .string(dataKey)] }
    public var costBasis: [String: Double] { ["train_images": 100] }
    public var provenance: (cpu: String, blas: String) { ("synthetic cpu", "no blas") }

    public func rejection(method: String, values: [String: ParameterValue], seed: UInt64) -> (
        reason: String, costs: TrialResult
    )? { nil }

    public func params(_ record: TrialRecord) -> Int {
        let sizes = record.values.filter { $0.key != "lr" && $0.key != "shards" }.compactMap(\.value.number).filter {
            $0 >= 1 && $0 == $0.rounded()
        }
        return 10 * Int(sizes.reduce(1, *))
    }

    public func accuracy(_ record: TrialRecord, epoch: Int) -> Float {
        let lr = record.values["lr"]?.number ?? 0.1
        var ceiling = 0.95 - 2 * abs(log10(lr / 0.05)) * 0.2
        for (name, value) in record.values where name != "lr" && name != "shards" {
            let salt = Double(Self.hash("\(record.method).\(name)") % 1000) / 1000
            switch value {
            case .number(let x): ceiling += 0.04 * sin(log2(max(x, 1e-12)) + 6.283 * salt)
            case .text(let word):
                ceiling += 0.08 * (Double(Self.hash("\(record.method).\(name)=\(word)") % 1000) / 1000 - 0.5)
            }
        }
        return Float(max(0.05, min(0.99, ceiling) * (1 - exp(-Double(epoch) * (0.2 + lr)))))
    }

    /// Simulated seconds of one epoch of `record`.
    public func epochDuration(_ record: TrialRecord) -> Double {
        guard variedDurations else { return epochSeconds }
        let methodFactor = 0.5 + 0.5 * Double((methods.firstIndex(of: record.method) ?? 0) % 4)
        let sizeFactor = 1 + 0.1 * log2(Double(max(1, params(record) / 10)))
        return epochSeconds * methodFactor * sizeFactor
    }

    public func result(_ record: TrialRecord, until rung: Int) -> TrialResult {
        let history = (1...rung).map {
            EpochRecord(
                epoch: $0, trainLoss: 1 / Float($0), learningRate: 0.1, valAccuracy: accuracy(record, epoch: $0),
                valLoss: 1)
        }
        let best = history.compactMap(\.valAccuracy).max()!
        return TrialResult(
            status: rung == epochs ? .finished : .stopped, epochsRun: rung, bestEpoch: rung, bestValAccuracy: best,
            finalValAccuracy: history.last!.valAccuracy!, finalValLoss: 1, history: history,
            trainableParameters: params(record), trainingFLOPs: Double(params(record) * rung), workingMemoryBytes: 1,
            trainSeconds: Double(rung) * epochDuration(record))
    }

    public func train(_ offered: [Stretch], runner: SweepRunner) throws -> Int {
        let fatal = FatalError()
        for stretch in offered {
            if interruptBefore?(stretch) == true { stopped = true; return 0 }
            guard let generation = runner.claim(stretch.id, until: stretch.rung, fatal: fatal) else {
                if let error = fatal.error { throw error }
                continue
            }
            defer { runner.release(stretch.id) }
            let record = runner.state.trials[stretch.id]!
            let result = result(record, until: stretch.rung)
            let seconds = Double(stretch.rung - record.epochsDone) * epochDuration(record)
            // A trial of several shards spreads each epoch over its slot and the slots idle then.
            let shards = Int(record.values["shards"]?.number ?? 1)
            for epoch in record.epochsDone..<stretch.rung {
                if epochDuration(record) > 0 {
                    let threads = min(shards, 1 + runner.idleSlots)
                    runner.borrowSlots(threads - 1)
                    Thread.sleep(forTimeInterval: epochDuration(record) / Double(threads))
                    runner.borrowSlots(1 - threads)
                }
                runner.journalEpoch(stretch.id, result.history[epoch])
            }
            lock.lock(); _stretches.append(stretch); _busySeconds += seconds; lock.unlock()
            _ = runner.report(
                stretch.id, result, previous: (0, 0), generation: generation, until: stretch.rung, fatal: fatal
            ) { "models/search/\(stretch.id)" }
            if let error = fatal.error { throw error }
            return 1
        }
        return 0
    }

    public func runFinal(_ pending: [TrialRecord], leaseGeneration: Int, runner: SweepRunner) throws -> Bool {
        for record in pending {
            lock.lock(); _finals.append(record.id); lock.unlock()
            let score = accuracy(record, epoch: epochs) - 0.01
            _ = try runner.recordFinal(
                record.id, testAccuracy: score, testLoss: 1, confusion: nil, result: result(record, until: epochs),
                modelFile: "models/\(record.id)", leaseGeneration: leaseGeneration)
        }
        return true
    }

    /// FNV-1a: a stable hash (Swift's own is seeded per process).
    static func hash(_ text: String) -> UInt64 {
        text.utf8.reduce(0xcbf2_9ce4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
    }
}

import Essentials
import Foundation

/// What a sweep optimises, as `SweepRunner` drives it. The runner knows trials only as methods,
/// hyperparameter values, seeds and journaled results; what a trial *is* — how it trains, what it
/// costs, what the final phase does — is the objective's (SideTuning's `SideTuningObjective`; the
/// scheduler tests use a synthetic one). Training goes back through the runner (`claim`, `report`,
/// `journalEpoch`), which owns the journal and the leases.
public protocol SweepObjective: AnyObject {
    /// The content key of what every trial reads (a cache key): the journal's `cache_key`.
    var dataKey: String { get }
    /// What a trial's key holds besides the trial's own method, values, epochs and seeds (the data
    /// it trains and is scored on): `TrialKey`.
    var trialKeyContext: [String: JSONValue] { get }
    /// Sizes the cost account's estimates start from (images, cache seconds), journaled with the sweep.
    var costBasis: [String: Double] { get }
    /// The machine that reports outcomes (CPU, and whatever else decides the last bits), stamped on each.
    var provenance: (cpu: String, blas: String) { get }
    /// The constraint a configuration breaks, judged before training, with the costs known then; nil if none.
    func rejection(method: String, values: [String: ParameterValue], seed: UInt64) -> (
        reason: String, costs: TrialResult
    )?
    /// How many stretches this process trains at once: the runner's slots, each asking for work when free.
    var slots: Int { get }
    /// Trains the first of `offered` (stretches ready now, most urgent first) that this process can
    /// claim (`runner.claim`), or several together (a cohort), journaling each outcome through
    /// `runner.report`; how many it trained (0: it could claim none).
    func train(_ offered: [Stretch], runner: SweepRunner) throws -> Int
    /// Retrains and scores `pending` (the final phase), under the final lease of `leaseGeneration`,
    /// journaling each through `runner.recordFinal`; false when interrupted.
    func runFinal(_ pending: [TrialRecord], leaseGeneration: Int, runner: SweepRunner) throws -> Bool
}

/// Who a sweep is: its name, file, content hash and the JSON the journal records (for revisions).
public struct SweepIdentity {
    public let name: String
    public let file: String
    public let contentHash: String
    public let recorded: [String: JSONValue]
    public init(name: String, file: String, contentHash: String, recorded: [String: JSONValue]) {
        self.name = name; self.file = file; self.contentHash = contentHash; self.recorded = recorded
    }
}

/// The first storage failure seen by any pool thread: it stops every trial and the sweep.
public final class FatalError: @unchecked Sendable {
    private let lock = NSLock()
    private var first: Error?
    public init() {}
    public var error: Error? { lock.lock(); defer { lock.unlock() }; return first }
    public func set(_ error: Error) { lock.lock(); if first == nil { first = error }; lock.unlock() }
}

import Essentials
import Foundation

/// A sweep's durable record, as its runner reads and writes it: this process's journal (appended and
/// fsync'ed), every worker's journals (followed), the state folded from them, the leases that say which
/// process trains what, and the trials' checkpoint files. The runner's decisions are functions of
/// `state`; everything they change goes through `record`.
final class SweepStore {
    let directory: String
    let journal: Journal
    let leases: LeaseKeeper
    /// Time spent here counts as the sweep machinery's (the runner's clock).
    let machinery: MachineryClock
    private let follower: JournalFollower
    private var _state: SweepState
    private let lock = NSLock()

    /// The journal a plain run writes (workers write `journal-<worker>.jsonl` beside it).
    static func journalPath(_ directory: String) -> String {
        (directory as NSString).appendingPathComponent("journal.jsonl")
    }

    /// Opens the record in `directory`. `check` sees the state the journals hold so far, before anything
    /// is written (a refusal leaves the directory as it was). `worker`: this process's id among several
    /// (nil: a plain run, which holds the directory's lock, so leases left in it belong to dead processes).
    init(
        directory: String, worker: String?, leaseSeconds: Double, machinery: MachineryClock,
        methods: Set<String>? = nil,
        check: (SweepState) throws -> Void
    ) throws {
        self.directory = directory
        self.machinery = machinery
        let fm = FileManager.default
        follower = JournalFollower(directory: directory)
        _state = SweepState(try follower.newEvents(), methods: methods)
        try check(_state)
        let checkpoints = (directory as NSString).appendingPathComponent("checkpoints")
        try? fm.createDirectory(atPath: checkpoints, withIntermediateDirectories: true)
        // A plain run holds the directory alone: temporaries of killed writers (checkpoints, models,
        // leaderboard files) are garbage.
        if worker == nil {
            for folder in [directory, checkpoints, directory + "/models", directory + "/models/search"] {
                for name in (try? fm.contentsOfDirectory(atPath: folder)) ?? [] where isAtomicWriteTemporary(name) {
                    try? fm.removeItem(atPath: (folder as NSString).appendingPathComponent(name))
                }
            }
        }
        let leaseDirectory = (directory as NSString).appendingPathComponent("leases")
        if worker == nil { try? fm.removeItem(atPath: leaseDirectory) }
        let owner = worker ?? "\(LeaseKeeper.hostName)-\(getpid())"
        leases = try LeaseKeeper(directory: leaseDirectory, owner: owner, leaseSeconds: leaseSeconds)
        journal = try Journal(
            path: worker.map { (directory as NSString).appendingPathComponent("journal-\($0).jsonl") }
                ?? Self.journalPath(directory))
        follower.watch(journal.path)
    }

    /// The journals folded so far (a copy: decisions read one consistent state).
    var state: SweepState { lock.lock(); defer { lock.unlock() }; return _state }
    /// The state and how many times it changed in what decisions read: equal versions, equal decisions.
    var versionedState: (SweepState, Int) { lock.lock(); defer { lock.unlock() }; return (_state, version) }
    private var version = 0

    func record(_ event: JournalEvent, pooled: Bool = false) throws { try record([event], pooled: pooled) }

    /// Journals events (fsync'ed) and folds them into the state (by rereading, so that each line is
    /// applied once); safe from pool threads (`pooled`: called inside a pool trial, for the clock).
    func record(_ events: [JournalEvent], pooled: Bool = false) throws {
        try machinery.measure(pooled: pooled) { try journal.append(contentsOf: events) }
        try refresh(pooled: pooled)
    }

    /// Journals progress that may be lost in a crash (an epoch line: not fsync'ed, not folded now).
    func recordProgress(_ event: JournalEvent) {
        try? machinery.measure(pooled: true) { try journal.append(event) }
    }

    /// Folds in what was appended to any journal since the last look (ours and other workers');
    /// `rescan`: and in journals that appeared since (JournalFollower.newEvents).
    func refresh(pooled: Bool = false, rescan: Bool = false) throws {
        try machinery.measure(pooled: pooled) {
            lock.lock(); defer { lock.unlock() }
            let contents = try follower.newEvents(rescan: rescan)
            _state.apply(contents)
            // (Epoch lines are progress only: no decision reads a curve before its trial finished.)
            if contents.events.contains(where: { if case .epoch = $0 { false } else { true } }) { version += 1 }
        }
    }

    /// Where trial `id` keeps its epoch checkpoint while it trains.
    func checkpoint(_ id: String) -> String { (directory as NSString).appendingPathComponent("checkpoints/\(id).ckpt") }
}

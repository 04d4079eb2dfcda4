import Foundation

/// One stretch of training: trial `id` from where it stands up to `rung` epochs.
public struct Stretch: Equatable, Sendable {
    public let id: String
    public let rung: Int
    public init(id: String, rung: Int) { self.id = id; self.rung = rung }
}

/// What this process is training, shared by its slots: the trials it holds, and a signal to one idle
/// slot when one of them ends (another decision may be due) or when more work is ready than was taken.
final class SlotBoard: @unchecked Sendable {
    private let condition = NSCondition()
    private var held: Set<String> = []
    private(set) var stretchesEnded = 0
    private var signals = 0
    private var busySlots = 0
    /// Set when a slot failed: the others stop taking work.
    private(set) var halted = false

    func hold(_ id: String) { condition.lock(); held.insert(id); condition.unlock() }
    func letGo(_ id: String) {
        condition.lock()
        if held.remove(id) != nil { stretchesEnded += 1 }
        signals += 1
        condition.signal(); condition.unlock()
    }
    /// Wakes one idle slot (each woken slot that finds work wakes the next: no herd of them).
    func wakeOne() { condition.lock(); signals += 1; condition.signal(); condition.unlock() }
    func occupy(_ count: Int = 1) { condition.lock(); busySlots += count; condition.unlock() }
    func vacate() { occupy(-1) }
    var busy: Int { condition.lock(); defer { condition.unlock() }; return busySlots }
    func halt() { condition.lock(); halted = true; condition.broadcast(); condition.unlock() }
    var running: Int { condition.lock(); defer { condition.unlock() }; return held.count }
    func isHeld(_ id: String) -> Bool { condition.lock(); defer { condition.unlock() }; return held.contains(id) }

    /// Waits until woken (a stretch held here ended, or work is left over), or `seconds` pass (work
    /// held by other processes ends unannounced: the journals are reread then).
    func waitForAnEnd(atMost seconds: Double) {
        condition.lock()
        let seen = signals
        let deadline = Date(timeIntervalSinceNow: seconds)
        while signals == seen && !halted && condition.wait(until: deadline) {}
        condition.unlock()
    }
}

// The slots of one process: each, when free, takes the decision due or the most urgent stretch that
// is ready, so no slot waits while the sweep has work that no decision waits for.
extension SweepRunner {
    /// Runs `objective.slots` slots until nothing is left to decide or train (the final phase is
    /// next) or the run stops. A failure in any slot stops them all and is thrown.
    func trainWhileWorkRemains() throws {
        let fatal = FatalError()
        let group = DispatchGroup()
        for _ in 0..<max(1, objective.slots) {
            group.enter()
            let thread = Thread { [self] in
                defer { group.leave() }
                do { try slotLoop() } catch { fatal.set(error); slots.halt() }
            }
            thread.stackSize = 16 << 20
            thread.start()
        }
        group.wait()
        if let error = fatal.error { throw error }
    }

    private func slotLoop() throws {
        while !shouldStop() && !slots.halted {
            decisionLock.lock()
            let step: Step
            let stepVersion: Int
            do {
                try store.refresh(pooled: true, rescan: worker != nil)
                stepVersion = store.versionedState.1
                step = nextStep()
                switch step {
                case .plan(let g): try plan(generation: g)
                case let .prune(rung, ids): try prune(ids, at: rung)
                default: break
                }
            } catch { decisionLock.unlock(); throw error }
            decisionLock.unlock()
            guard case .train(let ready) = step else {
                if case .plan = step { continue }
                if case .prune = step { continue }
                return  // the final phase, done, or a warm start: the run's own loop goes on
            }
            let offered = ready.filter { !slots.isHeld($0.id) }
            if offered.count > 1 { slots.wakeOne() }
            var trained = 0
            if !offered.isEmpty {
                slots.occupy()
                defer { slots.vacate() }
                trained = try objective.train(offered, runner: self)
            }
            if trained > 0 { continue }
            if shouldStop() { return }
            // Nothing trained, but something journaled (a trial that cannot train failed): look again.
            if store.versionedState.1 != stepVersion { continue }
            // Nothing ready could be taken: wait for a stretch to end, here or (polling) elsewhere.
            if slots.running == 0 { noteWaiting(ready.map(\.id)) }
            slots.waitForAnEnd(atMost: pollSeconds)
        }
    }

    private func noteWaiting(_ ids: [String]) {
        decisionLock.lock(); defer { decisionLock.unlock() }
        if waitingFor != ids { onEvent(.waiting(trials: ids)); waitingFor = ids }
    }

    /// Journals the pruning of `ids` at `rung` and drops their checkpoints.
    func prune(_ ids: [String], at rung: Int) throws {
        try store.record(ids.map { .pruned(TrialPruning(trial: $0, rung: rung)) })
        for id in ids { try? FileManager.default.removeItem(atPath: store.checkpoint(id)) }
        onEvent(.pruned(ids: ids, rung: rung))
    }

    /// Slots of this process with nothing to train now: threads a lone trial or cohort may borrow.
    public var idleSlots: Int { max(0, objective.slots - slots.busy) }
    /// Marks `count` idle slots as lent to a trial that spreads its steps over them (negative: given
    /// back), so that others do not count them idle meanwhile.
    public func borrowSlots(_ count: Int) { if count != 0 { slots.occupy(count) } }
    /// Trials this process is training now.
    public var runningHere: Int { slots.running }
    /// Stretches this process finished (or gave up) in this run.
    public var stretchesEndedHere: Int { slots.stretchesEnded }
}

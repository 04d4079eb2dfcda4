import Essentials
import Foundation
import Numerics

/// A trial waiting for the pool: an id, what admitting it costs in memory, and its work (which may
/// answer nil: not run here, e.g. because another worker process has claimed it).
public struct PoolTrial {
    public let id: String
    public let memoryBytes: Int
    public let work: () throws -> TrialResult?
    public init(id: String, memoryBytes: Int, work: @escaping () throws -> TrialResult?) {
        self.id = id; self.memoryBytes = memoryBytes; self.work = work
    }
}

/// How one trial ended in the pool.
public enum TrialOutcome {
    case completed(TrialResult)
    case failed(String)
    /// The work declined to run (claimed elsewhere).
    case skipped

    public var result: TrialResult? { if case .completed(let r) = self { return r }; return nil }
}

/// What the pool reports as it goes (for progress lines and, later, the journal).
public enum PoolEvent {
    case started(id: String, running: Int, queued: Int)
    case finished(id: String, outcome: TrialOutcome, done: Int, running: Int, queued: Int)
}

/// A fixed number of Dispatch workers pulling trials from a queue, each trial with single-threaded
/// BLAS (so workers do not oversubscribe the cores, and a trial's arithmetic — hence its result — does
/// not depend on how many run beside it). A trial is admitted only while the memory estimates of the
/// running trials plus its own fit the budget; one larger than the whole budget fails at once. Calls
/// of `run` from several threads at once (a sweep's slots, each with one trial) share the budget and
/// the single-threaded BLAS setting.
public final class TrialPool: @unchecked Sendable {
    public let workers: Int
    public let memoryBudget: Int
    private let condition = NSCondition()
    private var memoryInUse = 0
    private var activeRuns = 0
    private var blasThreadsBefore = 1

    /// A safe default budget: 70% of the memory the process may use (MemoryLimit).
    public static var defaultMemoryBudget: Int { MemoryLimit.detect().defaultBudget }

    public init(workers: Int = availableCores, memoryBudget: Int = TrialPool.defaultMemoryBudget) {
        precondition(workers > 0 && memoryBudget > 0, "TrialPool: workers \(workers), budget \(memoryBudget)")
        self.workers = workers
        self.memoryBudget = memoryBudget
    }

    /// Why a trial needing `bytes` of working memory can never be admitted under `budget`.
    public static func tooLarge(_ bytes: Int, budget: Int) -> String {
        String(
            format: "needs %.1f MiB of working memory, more than the whole budget of %.1f MiB (--memory)",
            Double(bytes) / 1_048_576, Double(budget) / 1_048_576)
    }

    /// Whether a trial needing `bytes` fits the budget at all (else the pool fails it at once).
    public func admits(_ bytes: Int) -> Bool { bytes <= memoryBudget }

    /// Runs every trial; outcomes in the order of `trials`. `onEvent` is called under the pool's lock
    /// (keep it short).
    public func run(_ trials: [PoolTrial], onEvent: (PoolEvent) -> Void = { _ in }) -> [TrialOutcome] {
        var outcomes = [TrialOutcome?](repeating: nil, count: trials.count)
        var queue = Array(trials.indices)
        var running = 0, done = 0
        return withSingleThreadedBLAS { () -> [TrialOutcome] in
            // Too big for the budget even alone: fail now rather than wait forever.
            queue.removeAll { index in
                guard !admits(trials[index].memoryBytes) else { return false }
                let outcome = TrialOutcome.failed(Self.tooLarge(trials[index].memoryBytes, budget: memoryBudget))
                outcomes[index] = outcome
                done += 1
                onEvent(
                    .finished(
                        id: trials[index].id, outcome: outcome, done: done, running: 0, queued: trials.count - done))
                return true
            }
            withoutActuallyEscaping(onEvent) { onEvent in
                do {
                    parallelFor(min(workers, max(1, queue.count))) { _ in
                        while true {
                            condition.lock()
                            var picked: Int?
                            while picked == nil {
                                if queue.isEmpty { break }
                                // First trial in queue order that fits; otherwise wait for memory to free up.
                                if let position = queue.firstIndex(where: {
                                    memoryInUse + trials[$0].memoryBytes <= memoryBudget
                                }) {
                                    picked = queue.remove(at: position)
                                } else {
                                    condition.wait()
                                }
                            }
                            guard let index = picked else { condition.unlock(); return }
                            running += 1
                            memoryInUse += trials[index].memoryBytes
                            onEvent(.started(id: trials[index].id, running: running, queued: queue.count))
                            condition.unlock()

                            let outcome: TrialOutcome
                            do { outcome = try trials[index].work().map(TrialOutcome.completed) ?? .skipped } catch {
                                outcome = .failed("\(error)")
                            }

                            condition.lock()
                            outcomes[index] = outcome
                            running -= 1
                            memoryInUse -= trials[index].memoryBytes
                            done += 1
                            onEvent(
                                .finished(
                                    id: trials[index].id, outcome: outcome, done: done, running: running,
                                    queued: queue.count))
                            condition.broadcast()
                            condition.unlock()
                        }
                    }
                }
            }
            return outcomes.map { $0! }
        }
    }

    /// Runs `body` with OpenBLAS single-threaded, restoring its thread count when the last of the
    /// calls running at once (the sweep's slots) ends: trials beside each other each get one core.
    public func withSingleThreadedBLAS<R>(_ body: () throws -> R) rethrows -> R {
        condition.lock()
        if activeRuns == 0 { blasThreadsBefore = BLAS.threadCount; BLAS.threadCount = 1 }
        activeRuns += 1
        condition.unlock()
        defer {
            condition.lock()
            activeRuns -= 1
            if activeRuns == 0 { BLAS.threadCount = blasThreadsBefore }
            condition.unlock()
        }
        return try body()
    }
}

import Foundation

/// What a progress line says about a pool: trials done/running/queued, the best validation accuracy
/// so far and an ETA from the mean wall time of the trials finished in this run.
public struct PoolProgress {
    public let workers: Int
    public private(set) var done = 0, running = 0, queued = 0, failed = 0
    public private(set) var best: (id: String, accuracy: Float)?
    private var startedAt: [String: Double] = [:]
    private var finishedSeconds: [Double] = []

    public init(workers: Int, queued: Int) {
        self.workers = max(1, workers)
        self.queued = queued
    }

    /// Folds in one pool event seen at `now` (seconds on any monotonic clock).
    public mutating func record(_ event: PoolEvent, now: Double) {
        switch event {
        case let .started(id, running, queued):
            startedAt[id] = now
            self.running = running; self.queued = queued
        case let .finished(id, outcome, done, running, queued):
            if let start = startedAt.removeValue(forKey: id) { finishedSeconds.append(now - start) }
            self.done = done; self.running = running; self.queued = queued
            switch outcome {
            case .completed(let result):
                if result.status == .diverged { failed += 1 }
                // (A run without evaluation, such as a final retraining, has no accuracy to rank.)
                if result.history.contains(where: { $0.valAccuracy != nil }),
                    best == nil || result.bestValAccuracy > best!.accuracy
                {
                    best = (id, result.bestValAccuracy)
                }
            case .failed: failed += 1
            case .skipped: break
            }
        }
    }

    /// Seconds until the queue drains, or nil before any trial finished: the queued trials and half
    /// of each running one at the mean trial time, spread over the workers.
    public var etaSeconds: Double? {
        guard !finishedSeconds.isEmpty else { return nil }
        let mean = finishedSeconds.reduce(0, +) / Double(finishedSeconds.count)
        let remaining = Double(queued) + 0.5 * Double(running)
        return remaining * mean / Double(min(workers, max(1, queued + running)))
    }
}

import Foundation

/// The sweep machinery's own time (proposing trials, appending to and reading journals, writing the
/// leaderboard), split by how it delays the sweep. Serial time (the run loop, while the pool waits
/// for it) delays the sweep in full. Time inside a pool trial (journaling its start, epochs and
/// outcome, with their fsyncs) delays only that trial's worker: spread over `workers` busy workers,
/// it lengthens the sweep by about 1/workers of itself.
public final class MachineryClock {
    private let lock = NSLock()
    private var serialNanoseconds: UInt64 = 0
    private var pooledNanoseconds: UInt64 = 0

    public init() {}

    /// Runs `body`, counting its wall time as serial or as spent inside a pool trial.
    public func measure<T>(pooled: Bool, _ body: () throws -> T) rethrows -> T {
        let start = DispatchTime.now().uptimeNanoseconds
        defer {
            let spent = DispatchTime.now().uptimeNanoseconds - start
            lock.lock()
            if pooled { pooledNanoseconds += spent } else { serialNanoseconds += spent }
            lock.unlock()
        }
        return try body()
    }

    public var serialSeconds: Double { lock.lock(); defer { lock.unlock() }; return Double(serialNanoseconds) / 1e9 }
    public var pooledSeconds: Double { lock.lock(); defer { lock.unlock() }; return Double(pooledNanoseconds) / 1e9 }

    /// About how much longer the sweep took for the machinery, with `workers` pool workers.
    public func delaySeconds(workers: Int) -> Double { serialSeconds + pooledSeconds / Double(max(workers, 1)) }

    /// One line for the end of a run.
    public func summary(wallSeconds wall: Double, workers: Int) -> String {
        let delay = delaySeconds(workers: workers)
        return String(
            format:
                "sweep wall time %.1f s (after the cache); its machinery (planning, journals, leaderboard) took %.3f s serially "
                + "and %.3f s inside the %d workers' trials: about %.3f s of the wall time (%.2f%%)",
            wall, serialSeconds, pooledSeconds, workers, delay, 100 * delay / max(wall, 1e-9))
    }
}

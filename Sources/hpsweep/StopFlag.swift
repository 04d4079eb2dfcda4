import Foundation

/// Set by the first Ctrl-C (SIGINT) or SIGTERM: a cache build stops between batches (keeping nothing),
/// and trials stop at their next epoch boundary with a checkpoint; a second signal exits at once (the
/// journal is consistent at every line).
final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var set = false
    private var sources: [DispatchSourceSignal] = []
    private var said: String

    init(stopping: String) { said = stopping }

    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return set }
    /// What the first signal prints ("stopping the cache build (…)").
    var stopping: String {
        get { lock.lock(); defer { lock.unlock() }; return said }
        set { lock.lock(); said = newValue; lock.unlock() }
    }

    func installSignalHandlers() {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [self] in
                lock.lock()
                let again = set
                set = true
                lock.unlock()
                if again { _exit(130) }
                FileHandle.standardError.write(Data("\nhpsweep: \(stopping)\n".utf8))
            }
            source.resume()
            sources.append(source)
        }
    }
}

import Dispatch
import Foundation

/// Number of CPU cores available to this process.
public var availableCores: Int { max(1, ProcessInfoCores.count) }

enum ProcessInfoCores {
    static let count: Int = {
        #if canImport(Glibc)
            return Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        #else
            return 1
        #endif
    }()
}

#if canImport(Glibc)
    import Glibc
#endif

/// Runs `body(i)` for i in 0..<count on up to `count` threads and waits for all of them.
/// With count == 1 it runs inline on the caller's thread.
public func parallelFor(_ count: Int, _ body: (Int) -> Void) {
    if count <= 0 { return }
    if count == 1 { body(0); return }
    DispatchQueue.concurrentPerform(iterations: count, execute: body)
}

/// Runs `body(i)` for each i in 0..<count, once, on at most `threads` threads that take the next
/// index as they finish one (for tasks of uneven length), and waits for all of them.
public func parallelFor(_ count: Int, threads: Int, _ body: (Int) -> Void) {
    let lock = NSLock()
    var next = 0
    parallelFor(min(threads, count)) { _ in
        while true {
            lock.lock(); let i = next; next += 1; lock.unlock()
            guard i < count else { return }
            body(i)
        }
    }
}

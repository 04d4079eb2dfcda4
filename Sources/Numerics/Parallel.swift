import Dispatch

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

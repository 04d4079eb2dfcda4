#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A failed system call, with the OS's reason (strerror of errno at the failure).
public struct SystemCallError: Error, CustomStringConvertible {
    public let reason: String
    public init(reason: String) { self.reason = reason }
    /// The reason errno gives now.
    public static func fromErrno() -> SystemCallError { SystemCallError(reason: String(cString: strerror(errno))) }
    public var description: String { reason }
}

/// Writes all of `bytes` to `fd`, retrying interrupted and short writes.
public func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws {
    var offset = 0
    while offset < bytes.count {
        let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else { throw n == 0 ? SystemCallError(reason: "no progress writing") : SystemCallError.fromErrno() }
        offset += n
    }
}

/// Replaces `path` with `bytes` so that a reader or a crash sees the old file or the new one, never
/// half of one: written to `temporary` in the same directory, fsync'ed, then renamed over `path`; the
/// temporary is removed on failure. By default the temporary is named by this process, so two
/// processes never share one; a file with one writer at a time (a trial's checkpoint, under its lease)
/// passes a fixed name, so a temporary left by a killed writer is overwritten by the next one.
public func replaceAtomically(_ path: String, temporary: String? = nil, with bytes: UnsafeRawBufferPointer) throws {
    let temporary = temporary ?? path + ".tmp-\(getpid())"
    let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard fd >= 0 else { throw SystemCallError.fromErrno() }
    do {
        try writeAll(fd, bytes)
        guard fsync(fd) == 0 else { throw SystemCallError.fromErrno() }
    } catch {
        close(fd); unlink(temporary)
        throw error
    }
    close(fd)
    guard rename(temporary, path) == 0 else {
        let failure = SystemCallError.fromErrno()
        unlink(temporary)
        throw failure
    }
}

public func replaceAtomically(_ path: String, temporary: String? = nil, with data: Data) throws {
    try data.withUnsafeBytes { try replaceAtomically(path, temporary: temporary, with: $0) }
}

public func replaceAtomically(_ path: String, with text: String) throws {
    try replaceAtomically(path, with: Data(text.utf8))
}

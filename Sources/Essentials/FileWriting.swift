import Foundation

#if canImport(Glibc)
    import Glibc
#endif

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
/// half of one: written to a temporary in the same directory (`<path>.tmp-<pid>`, named by this
/// process, so two writers never share one), fsync'ed, then renamed over `path`; the temporary is
/// removed on failure. A killed writer's temporary stays: `isAtomicWriteTemporary` names them for cleanup.
public func replaceAtomically(_ path: String, with bytes: UnsafeRawBufferPointer) throws {
    let temporary = path + ".tmp-\(getpid())"
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

public func replaceAtomically(_ path: String, with data: Data) throws {
    try data.withUnsafeBytes { try replaceAtomically(path, with: $0) }
}

/// Whether `name` is a temporary `replaceAtomically` writes (`<file>.tmp-<pid>`).
public func isAtomicWriteTemporary(_ name: String) -> Bool {
    guard let range = name.range(of: ".tmp-", options: .backwards) else { return false }
    let pid = name[range.upperBound...]
    return !pid.isEmpty && pid.allSatisfy(\.isASCII) && pid.allSatisfy(\.isNumber) && range.lowerBound > name.startIndex
}

public func replaceAtomically(_ path: String, with text: String) throws {
    try replaceAtomically(path, with: Data(text.utf8))
}

/// Why `path` cannot be read as a file, in a few words for an error line: "no such file", "is a
/// directory, not a file", "permission denied", or "cannot be read".
public func whyUnreadable(_ path: String) -> String {
    var info = stat()
    guard stat(path, &info) == 0 else {
        return errno == ENOENT || errno == ENOTDIR ? "no such file" : String(cString: strerror(errno))
    }
    if (info.st_mode & S_IFMT) == S_IFDIR { return "is a directory, not a file" }
    if let kind = fileKind(info.st_mode) { return "is \(kind), not a regular file" }
    if access(path, R_OK) != 0 { return "permission denied" }
    return "cannot be read"
}

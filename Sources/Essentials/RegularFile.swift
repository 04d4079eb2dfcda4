import Foundation

/// The one way hpsweep opens a file to read it: only a regular file, and never blocking. A named
/// pipe (FIFO) would otherwise block `open` until a writer appears, and a device could be read for
/// ever; both are refused with what they are.

/// A file that cannot be read, with why ("is a named pipe (FIFO), not a regular file").
public struct FileReadError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "\(path): \(reason)" }
}

/// A read-only descriptor of the regular file at `path` (blocking reads; the caller closes it).
public func openRegularFile(_ path: String) throws -> Int32 {
    // O_NONBLOCK only so that opening a FIFO returns at once; cleared below for a regular file.
    let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
    guard fd >= 0 else { throw FileReadError(path: path, reason: whyUnreadable(path)) }
    var info = stat()
    guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
        let reason = fileKind(info.st_mode).map { "is \($0), not a regular file" } ?? "cannot be read"
        close(fd)
        throw FileReadError(path: path, reason: reason)
    }
    _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
    return fd
}

/// The bytes of the regular file at `path`.
public func readRegularFile(_ path: String) throws -> Data {
    let fd = try openRegularFile(path)
    defer { close(fd) }
    var data = Data()
    var buffer = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        guard n >= 0 else { throw FileReadError(path: path, reason: String(cString: strerror(errno))) }
        if n == 0 { return data }
        data.append(buffer, count: n)
    }
}

/// The bytes of the regular file at `path`, or nil when there is none or it cannot be read (a
/// drop-in for `FileManager.contents(atPath:)`, which blocks on a FIFO).
public func contentsOfRegularFile(_ path: String) -> Data? { try? readRegularFile(path) }

/// What a file of mode `mode` is, when it is not a regular file or directory.
func fileKind(_ mode: mode_t) -> String? {
    switch mode & S_IFMT {
    case S_IFIFO: "a named pipe (FIFO)"
    case S_IFCHR: "a character device"
    case S_IFBLK: "a block device"
    case S_IFSOCK: "a socket"
    case S_IFDIR: "a directory"
    default: nil
    }
}

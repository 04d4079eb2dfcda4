import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A read-only memory map of a whole file. The bytes stay valid while the object lives.
///
/// Large weight files and activation caches are read through this, so only the pages that are
/// touched are read from disk. Callers must bounds-check offsets against `count` before reading:
/// sizes inside files are never trusted.
public final class MappedFile: @unchecked Sendable {
    /// Why a file could not be mapped.
    public struct OpenError: Error, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { "\(path): \(reason)" }
    }

    public let path: String
    /// Size of the file in bytes.
    public let count: Int
    /// Start of the mapped bytes (a valid dummy pointer for an empty file).
    public let bytes: UnsafeRawPointer
    private let isMapped: Bool

    public init(path: String) throws {
        self.path = path
        let fd: Int32
        do { fd = try openRegularFile(path) } catch let error as FileReadError {
            throw OpenError(path: path, reason: error.reason)
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw OpenError(path: path, reason: String(cString: strerror(errno))) }
        count = Int(info.st_size)
        if count == 0 {
            bytes = UnsafeRawPointer(UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 16))
            isMapped = false
            return
        }
        guard let address = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0), address != MAP_FAILED else {
            throw OpenError(path: path, reason: "cannot map file: \(String(cString: strerror(errno)))")
        }
        bytes = UnsafeRawPointer(address)
        isMapped = true
    }

    deinit {
        if isMapped {
            munmap(UnsafeMutableRawPointer(mutating: bytes), count)
        } else {
            UnsafeMutableRawPointer(mutating: bytes).deallocate()
        }
    }

    /// Drops the mapping's pages wholly inside [offset, offset + count) from this process (MADV_DONTNEED):
    /// they leave its RSS; the kernel's page cache keeps the data for the next access.
    public func release(offset: Int, count: Int) {
        guard isMapped, count > 0, offset >= 0, offset + count <= self.count else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let base = Int(bitPattern: bytes)
        let start = (base + offset + page - 1) / page * page, end = (base + offset + count) / page * page
        if end > start { madvise(UnsafeMutableRawPointer(bitPattern: start), end - start, MADV_DONTNEED) }
    }

    /// The bytes in `range` as Data (copied), after checking the range lies inside the file.
    public func data(in range: Range<Int>) -> Data? {
        guard range.lowerBound >= 0, range.upperBound <= count else { return nil }
        return Data(bytes: bytes + range.lowerBound, count: range.count)
    }
}

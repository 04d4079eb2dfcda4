import Essentials
import Foundation
import Numerics

/// A finished cache directory, opened read-only. Arrays are memory-mapped: reading a batch touches
/// only its pages, and training never loads a whole cache into memory.
///
/// Opening checks the header and that every array file exists with exactly the declared size (so a
/// truncated cache is caught at once); `verify()` also checks every CRC-32 (a flipped bit).
public final class ActivationCache: @unchecked Sendable {
    public let directory: String
    public let header: CacheHeader
    private var mapped: [String: MappedFile] = [:]
    private let lock = NSLock()
    /// Each split's rows among the stored images (format 2's `index` arrays, read and checked at
    /// opening); a format-1 split is its own rows, in order.
    private var rows: [String: [Int]] = [:]

    public init(directory: String) throws {
        self.directory = directory
        let headerPath = (directory as NSString).appendingPathComponent(CacheHeader.fileName)
        guard let data = contentsOfRegularFile(headerPath) else {
            let why = whyUnreadable(headerPath)
            throw CacheError.notACache(
                path: directory,
                detail: why == "no such file" ? "no \(CacheHeader.fileName)" : "\(CacheHeader.fileName) \(why)")
        }
        header = try CacheHeader(json: data, path: headerPath)
        for array in header.arrays {
            let path = self.path(of: array)
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
                let size = (attributes[.size] as? NSNumber)?.intValue
            else { throw CacheError.missingArray(path: path) }
            guard size == array.bytes else {
                throw CacheError.truncatedArray(path: path, expectedBytes: array.bytes, actualBytes: size)
            }
        }
        for array in header.arrays where array.tap == "index" {
            let file = try map(array), images = header.images ?? 0
            let split = try readIntegers(file, count: array.shape[0])
            if let bad = split.firstIndex(where: { $0 < 0 || $0 >= images }) {
                throw CacheError.badIndex(path: path(of: array), example: bad, row: split[bad], images: images)
            }
            rows[array.split!] = split
        }
    }

    /// The stored rows of examples `indices` of `split` (themselves in format 1); an index out of
    /// range is left to the caller's check.
    private func storedRows(_ split: String, _ indices: [Int]) -> [Int] {
        guard let rows = rows[split] else { return indices }
        return indices.map { rows.indices.contains($0) ? rows[$0] : $0 }
    }

    /// Little-endian Int64s of a mapped array.
    private func readIntegers(_ file: MappedFile, count: Int) throws -> [Int] {
        (0..<count).map { Int(Int64(littleEndian: file.bytes.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self))) }
    }

    public var key: String { header.key }
    public var splitNames: [String] { header.splits.keys.sorted() }

    public func path(of array: CacheArray) -> String { (directory as NSString).appendingPathComponent(array.file) }

    /// Recomputes every array's CRC-32 against the header.
    public func verify() throws {
        for array in header.arrays {
            let file = try map(array)
            let crc = CRC32.of(UnsafeRawBufferPointer(start: file.bytes, count: file.count))
            guard crc == array.crc32 else {
                throw CacheError.checksumMismatch(path: path(of: array), expected: array.crc32, actual: crc)
            }
            if array.dtype != "I64",
                let element = firstNonFinite(
                    UnsafeRawBufferPointer(start: file.bytes, count: file.count), dtype: header.dtype)
            {
                throw CacheError.nonFinite(
                    path: path(of: array), element: element,
                    detail:
                        "every trial reading it would diverge (a cache written elsewhere, or damaged); rebuild or re-import it"
                )
            }
        }
        for split in splitNames { _ = try labels(split) }
    }

    private func map(_ array: CacheArray) throws -> MappedFile {
        lock.lock()
        defer { lock.unlock() }
        if let file = mapped[array.file] { return file }
        let file: MappedFile
        do { file = try MappedFile(path: path(of: array)) } catch {
            throw CacheError.missingArray(path: path(of: array))
        }
        guard file.count == array.bytes else {
            throw CacheError.truncatedArray(path: path(of: array), expectedBytes: array.bytes, actualBytes: file.count)
        }
        mapped[array.file] = file
        return file
    }

    /// The labels of `split`.
    /// The labels of `split`, each checked to be a class: in 0..<`classes` when the reader knows the
    /// count (a trial, a model), else non-negative and below `maximumClasses` (a cache does not record
    /// its class count). A label out of range is an error naming the labels file, never an index.
    public func labels(_ split: String, classes: Int? = nil) throws -> [Int] {
        guard let array = header.array(split: split, tap: "labels") else {
            throw CacheError.unknownSplit(split: split, available: splitNames)
        }
        let labels = try readIntegers(try map(array), count: array.shape[0])
        let bound = classes ?? Self.maximumClasses
        if let example = labels.firstIndex(where: { !(0..<bound).contains($0) }) {
            throw CacheError.labelOutOfRange(
                path: path(of: array), example: example, label: labels[example], classes: classes)
        }
        return labels
    }

    /// The most classes a cache's labels may count (as the sweep file's `classes`).
    public static let maximumClasses = 1 << 20

    /// Examples `indices` of (`split`, `tap`) as Floats, each (tokens, width), written consecutively
    /// at `out` (indices.count × tokens × width).
    public func read(split: String, tap: Tap, indices: [Int], into out: UnsafeMutablePointer<Float>) throws {
        guard let examples = header.splits[split] else {
            throw CacheError.unknownSplit(split: split, available: splitNames)
        }
        guard let array = header.tapArray(split: split, tap: tap.description) else {
            throw CacheError.unknownTap(tap: tap.description, available: header.taps.map(\.description))
        }
        let file = try map(array)
        let rowElements = header.tokens * header.width
        let rowBytes = rowElements * header.dtype.byteCount
        let stored = storedRows(split, indices)
        for (i, index) in indices.enumerated() {
            precondition(index >= 0 && index < examples, "ActivationCache.read: index \(index) out of 0..<\(examples)")
            let stored = stored[i]
            header.dtype.decode(file.bytes + stored * rowBytes, count: rowElements, into: out + i * rowElements)
            // The mapped pages count in this process's RSS while mapped in; give them back (they stay in
            // the page cache, a later read faults them in again without disk I/O), so many trials over a
            // large cache do not hold the whole cache resident.
            file.release(offset: stored * rowBytes, count: rowBytes)
        }
    }

    /// Only the class token (token 0) of examples `indices`, as (indices.count, width) Floats at `out`.
    public func readClassTokens(split: String, tap: Tap, indices: [Int], into out: UnsafeMutablePointer<Float>) throws {
        guard let examples = header.splits[split] else {
            throw CacheError.unknownSplit(split: split, available: splitNames)
        }
        guard let array = header.tapArray(split: split, tap: tap.description) else {
            throw CacheError.unknownTap(tap: tap.description, available: header.taps.map(\.description))
        }
        let file = try map(array)
        let rowBytes = header.tokens * header.width * header.dtype.byteCount
        let stored = storedRows(split, indices)
        for (i, index) in indices.enumerated() {
            precondition(
                index >= 0 && index < examples, "ActivationCache.readClassTokens: index \(index) out of 0..<\(examples)"
            )
            header.dtype.decode(file.bytes + stored[i] * rowBytes, count: header.width, into: out + i * header.width)
        }
    }

    /// Convenience: examples `indices` of (`split`, `tap`) as a Tensor (count, tokens, width).
    public func tensor(split: String, tap: Tap, indices: [Int]) throws -> Tensor {
        var t = Tensor(shape: [indices.count, header.tokens, header.width])
        try t.withUnsafeMutablePointer { try read(split: split, tap: tap, indices: indices, into: $0) }
        return t
    }
}

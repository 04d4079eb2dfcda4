import CZlib
import Essentials
import Foundation
import Numerics

/// A read-only ZIP archive (PKWARE APPNOTE 6.3): the central directory, stored and deflated members,
/// and the Zip64 extensions numpy writes (`numpy.savez` opens members with force_zip64). Enough to
/// read `.npz` files; every offset and size is checked against the file before it is used.
public final class ZipArchive {
    public struct Member {
        public let name: String
        let method: UInt16
        let crc32: UInt32
        let compressedSize: Int
        let uncompressedSize: Int
        let localHeaderOffset: Int
    }

    public let path: String
    public let members: [Member]
    let file: MappedFile

    public init(path: String) throws {
        self.path = path
        do { file = try MappedFile(path: path) } catch let error as MappedFile.OpenError {
            throw WeightsError.unableToOpen(path: path, reason: error.reason)
        }
        members = try Self.readCentralDirectory(file, path: path)
    }

    private static func readCentralDirectory(_ file: MappedFile, path: String) throws -> [Member] {
        let bytes = file.bytes, size = file.count
        func u16(_ at: Int) -> Int {
            Int(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt16.self)))
        }
        func u32(_ at: Int) -> Int {
            Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
        }
        func u64(_ at: Int) -> UInt64 { UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt64.self)) }
        func bad(_ detail: String) -> WeightsError { .badHeader(path: path, detail: detail) }

        // End of central directory: 22 bytes plus a comment of up to 65535 bytes, at the very end.
        guard size >= 22 else {
            throw WeightsError.truncated(path: path, detail: "\(size) bytes is too short for a zip archive")
        }
        var eocd = -1
        var at = size - 22
        while at >= max(0, size - 22 - 65_535) {
            if u32(at) == 0x0605_4B50 { eocd = at; break }
            at -= 1
        }
        guard eocd >= 0 else { throw bad("no zip end-of-central-directory record (not a .npz/zip file, or truncated)") }
        var count = u16(eocd + 10)
        var directorySize = u32(eocd + 12)
        var directoryOffset = u32(eocd + 16)
        if count == 0xFFFF || directorySize == 0xFFFF_FFFF || directoryOffset == 0xFFFF_FFFF {
            // Zip64: a locator just before the EOCD points at the Zip64 EOCD record.
            guard eocd >= 20, u32(eocd - 20) == 0x0706_4B50 else { throw bad("Zip64 archive without a Zip64 locator") }
            let record64 = u64(eocd - 12)
            guard record64 <= UInt64(size - 56), u32(Int(record64)) == 0x0606_4B50 else {
                throw bad("bad Zip64 end-of-central-directory offset")
            }
            let r = Int(record64)
            let values = [u64(r + 32), u64(r + 40), u64(r + 48)]
            guard values.allSatisfy({ $0 <= UInt64(size) }) else { throw bad("Zip64 directory sizes exceed the file") }
            count = Int(values[0]); directorySize = Int(values[1]); directoryOffset = Int(values[2])
        }
        guard directoryOffset + directorySize <= size else {
            throw WeightsError.truncated(
                path: path,
                detail: "central directory at \(directoryOffset)+\(directorySize) lies beyond the file's \(size) bytes")
        }
        var members: [Member] = []
        var p = directoryOffset
        let end = directoryOffset + directorySize
        for index in 0..<count {
            guard p + 46 <= end, u32(p) == 0x0201_4B50 else { throw bad("central directory entry \(index) is corrupt") }
            let method = UInt16(u16(p + 10))
            let crc = UInt32(u32(p + 16))
            var compressed = u32(p + 20), uncompressed = u32(p + 24)
            let nameLength = u16(p + 28), extraLength = u16(p + 30), commentLength = u16(p + 32)
            var localOffset = u32(p + 42)
            guard p + 46 + nameLength + extraLength + commentLength <= end else {
                throw bad("central directory entry \(index) overruns the directory")
            }
            let name = String(decoding: UnsafeRawBufferPointer(start: bytes + p + 46, count: nameLength), as: UTF8.self)
            // Zip64 extended information (id 1) holds the fields that were saturated, in this order.
            var e = p + 46 + nameLength
            let extraEnd = e + extraLength
            while e + 4 <= extraEnd {
                let id = u16(e), length = u16(e + 2)
                guard e + 4 + length <= extraEnd else { break }
                if id == 0x0001 {
                    var f = e + 4
                    func take() -> Int? {
                        guard f + 8 <= e + 4 + length else { return nil }
                        defer { f += 8 }
                        let v = u64(f); return v <= UInt64(Int.max) ? Int(v) : nil
                    }
                    if uncompressed == 0xFFFF_FFFF {
                        guard let v = take() else { throw bad("bad Zip64 field for '\(name)'") }; uncompressed = v
                    }
                    if compressed == 0xFFFF_FFFF {
                        guard let v = take() else { throw bad("bad Zip64 field for '\(name)'") }; compressed = v
                    }
                    if localOffset == 0xFFFF_FFFF {
                        guard let v = take() else { throw bad("bad Zip64 field for '\(name)'") }; localOffset = v
                    }
                }
                e += 4 + length
            }
            members.append(
                Member(
                    name: name, method: method, crc32: crc, compressedSize: compressed,
                    uncompressedSize: uncompressed, localHeaderOffset: localOffset))
            p += 46 + nameLength + extraLength + commentLength
        }
        return members
    }

    /// Where a member's (possibly compressed) bytes start in the file, checked against its size.
    private func dataStart(of member: Member) throws -> Int {
        let bytes = file.bytes, size = file.count
        let at = member.localHeaderOffset
        guard at >= 0, at + 30 <= size,
            UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt32.self)) == 0x0403_4B50
        else {
            throw WeightsError.badHeader(path: path, detail: "member '\(member.name)' has no valid local header")
        }
        let nameLength = Int(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: at + 26, as: UInt16.self)))
        let extraLength = Int(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: at + 28, as: UInt16.self)))
        let start = at + 30 + nameLength + extraLength
        guard member.compressedSize <= size, start <= size - member.compressedSize else {
            throw WeightsError.truncated(
                path: path,
                detail:
                    "member '\(member.name)' needs \(member.compressedSize) bytes at offset \(start); the file has \(size)"
            )
        }
        return start
    }

    /// The first `limit` bytes of a stored member, straight from the map (no copy, no CRC check);
    /// nil for a compressed member. For reading headers without reading whole members.
    public func storedPrefix(of member: Member, limit: Int) throws -> UnsafeRawBufferPointer? {
        guard member.method == 0 else { return nil }
        let start = try dataStart(of: member)
        return UnsafeRawBufferPointer(start: file.bytes + start, count: min(limit, member.compressedSize))
    }

    /// The member's uncompressed bytes, CRC-checked. Stored members are copied from the map;
    /// deflated ones are inflated with zlib.
    public func contents(of member: Member) throws -> Data {
        let bytes = file.bytes
        let start = try dataStart(of: member)
        let output: Data
        switch member.method {
        case 0:
            guard member.compressedSize == member.uncompressedSize else {
                throw WeightsError.badHeader(path: path, detail: "stored member '\(member.name)' has differing sizes")
            }
            output = Data(bytes: bytes + start, count: member.compressedSize)
        case 8:
            output = try inflate(
                bytes + start, count: member.compressedSize, expected: member.uncompressedSize, name: member.name)
        default:
            throw WeightsError.badHeader(
                path: path,
                detail:
                    "member '\(member.name)' uses compression method \(member.method); only stored (0) and deflate (8) are supported"
            )
        }
        let crc = Self.crc32(output)
        guard crc == member.crc32 else {
            throw WeightsError.badHeader(
                path: path, detail: "member '\(member.name)' fails its CRC-32 check (corrupt file)")
        }
        return output
    }

    private func inflate(_ source: UnsafeRawPointer, count: Int, expected: Int, name: String) throws -> Data {
        // Cap the output at the declared size: a member cannot expand past what the directory says.
        // Deflate expands at most 1032:1, so a larger declared size is a lie: refuse it before
        // allocating (a fuzzed 40-byte member declaring gigabytes).
        guard expected <= 1 << 34, expected <= count * 1032 + 64 else {
            throw WeightsError.badHeader(
                path: path,
                detail:
                    "member '\(name)' declares \(expected) bytes, more than \(count) compressed bytes can inflate to")
        }
        guard let output = Self.inflateRaw(source, count: count, expected: expected) else {
            throw WeightsError.badHeader(
                path: path,
                detail: "member '\(name)' does not inflate to its declared \(expected) bytes (corrupt or truncated)")
        }
        return output
    }

    /// zlib counts in 32 bits (`uInt`): sizes of 4 GiB and more are fed in pieces of at most `piece`.
    static let zlibPiece = Int(UInt32.max)

    /// Raw deflate data of `count` bytes inflated to exactly `expected` bytes, or nil.
    static func inflateRaw(_ source: UnsafeRawPointer, count: Int, expected: Int, piece: Int = zlibPiece) -> Data? {
        var output = Data(count: expected)
        var stream = z_stream()
        guard inflateInit2_(&stream, -MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            return nil
        }
        defer { inflateEnd(&stream) }
        let status: Int32 = output.withUnsafeMutableBytes { out in
            var inputLeft = count, outputLeft = expected
            stream.next_in = UnsafeMutablePointer(mutating: source.assumingMemoryBound(to: Bytef.self))
            stream.next_out = out.bindMemory(to: Bytef.self).baseAddress
            var status = Z_OK
            while status == Z_OK {
                if stream.avail_in == 0 && inputLeft > 0 {
                    let n = min(inputLeft, piece)
                    stream.avail_in = uInt(n); inputLeft -= n
                }
                if stream.avail_out == 0 && outputLeft > 0 {
                    let n = min(outputLeft, piece)
                    stream.avail_out = uInt(n); outputLeft -= n
                }
                status = CZlib.inflate(&stream, inputLeft == 0 && outputLeft == 0 ? Z_FINISH : Z_NO_FLUSH)
            }
            return status
        }
        guard status == Z_STREAM_END, Int(stream.total_out) == expected else { return nil }
        return output
    }

    /// CRC-32 of `data`, in pieces that fit zlib's 32-bit counts.
    static func crc32(_ data: Data, piece: Int = zlibPiece) -> UInt32 {
        data.withUnsafeBytes { raw -> UInt32 in
            var crc: uLong = 0
            var offset = 0
            repeat {
                let n = min(raw.count - offset, piece)
                crc = CZlib.crc32(crc, raw.baseAddress.map { $0.assumingMemoryBound(to: Bytef.self) + offset }, uInt(n))
                offset += n
            } while offset < raw.count
            return UInt32(crc)
        }
    }
}

/// A NumPy `.npz` archive read as a `TensorArchive`: member `x.npy` is the tensor `x`.
public final class NPZFile: TensorArchive {
    public let path: String
    private let zip: ZipArchive
    private let headers: [String: (member: ZipArchive.Member, header: NPYHeader)]

    public init(path: String) throws {
        self.path = path
        zip = try ZipArchive(path: path)
        var headers: [String: (ZipArchive.Member, NPYHeader)] = [:]
        for member in zip.members where member.name.hasSuffix(".npy") {
            // Only the header is needed now: parse it in place for stored members (the data size is
            // checked against the member's declared size); deflated ones must be inflated whole.
            let header: NPYHeader
            do {
                if let prefix = try zip.storedPrefix(of: member, limit: 1 << 20 + 16) {
                    header = try NPYHeader(
                        bytes: prefix.baseAddress!, count: member.uncompressedSize, name: member.name,
                        available: prefix.count)
                } else {
                    let data = try zip.contents(of: member)
                    header = try data.withUnsafeBytes {
                        try NPYHeader(bytes: $0.baseAddress!, count: $0.count, name: member.name)
                    }
                }
            } catch let error as NPYError {
                throw WeightsError.badHeader(path: path, detail: error.description)
            }
            headers[String(member.name.dropLast(4))] = (member, header)
        }
        self.headers = headers
    }

    public var names: [String] { headers.keys.sorted() }
    public func shape(of name: String) -> [Int]? { headers[name]?.header.shape }
    public func scalarType(of name: String) -> ScalarType? {
        guard let element = headers[name]?.header.element else { return nil }
        return element == .float16 ? .float16 : .float32
    }

    public func tensor(_ name: String) throws -> Tensor {
        guard let (member, header) = headers[name] else { throw WeightsError.missingTensor(path: path, tensor: name) }
        guard header.element.isFloatingPoint else {
            throw WeightsError.unsupportedDType(path: path, tensor: name, dtype: header.element.rawValue)
        }
        let data = try zip.contents(of: member)
        let values = data.withUnsafeBytes { header.floats(from: $0.baseAddress!) }
        return Tensor(shape: header.shape, storage: values)
    }
}

import Essentials
import Foundation
import Numerics

/// Reader of the safetensors format (huggingface/safetensors): an 8-byte little-endian header length
/// n, n bytes of JSON `{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}`,
/// then the data section; offsets are relative to its start. The file is memory-mapped; every size
/// and offset in the header is checked against the file before any tensor is read.
public final class SafeTensorsFile: TensorArchive {
    struct Entry { let dtype: ScalarType; let shape: [Int]; let begin: Int; let end: Int }

    public let path: String
    public let metadata: [String: String]
    private let file: MappedFile
    private let entries: [String: Entry]
    private let dataStart: Int

    /// Largest header accepted (the format's own reference reader caps it at 100 MB).
    static let maxHeaderBytes = 100_000_000

    public init(path: String) throws {
        self.path = path
        do { file = try MappedFile(path: path) } catch let error as MappedFile.OpenError {
            throw WeightsError.unableToOpen(path: path, reason: error.reason)
        }
        guard file.count >= 8 else {
            throw WeightsError.truncated(
                path: path, detail: "\(file.count) bytes, shorter than the 8-byte header length")
        }
        let headerLength = UInt64(littleEndian: file.bytes.loadUnaligned(as: UInt64.self))
        guard headerLength <= UInt64(Self.maxHeaderBytes) else {
            throw WeightsError.badHeader(
                path: path, detail: "header length \(headerLength) exceeds \(Self.maxHeaderBytes) bytes")
        }
        guard 8 + Int(headerLength) <= file.count else {
            throw WeightsError.truncated(
                path: path,
                detail: "header claims \(headerLength) bytes but the file has \(file.count - 8) after the length")
        }
        dataStart = 8 + Int(headerLength)
        let json: JSONValue
        do { json = try JSONValue.parse(file.data(in: 8..<dataStart)!) } catch {
            throw WeightsError.badHeader(path: path, detail: "header is not valid JSON")
        }
        guard let header = json.object else {
            throw WeightsError.badHeader(path: path, detail: "header is not a JSON object")
        }
        var metadata: [String: String] = [:]
        var entries: [String: Entry] = [:]
        let dataBytes = file.count - dataStart
        for (name, value) in header {
            if name == "__metadata__" {
                for (k, v) in value.object ?? [:] { metadata[k] = v.text }
                continue
            }
            let entry = try Self.parseEntry(name: name, value: value, path: path)
            guard entry.end <= dataBytes else {
                throw WeightsError.truncated(
                    path: path,
                    detail: "tensor '\(name)' ends at byte \(entry.end) of the data section, which has \(dataBytes)")
            }
            entries[name] = entry
        }
        self.metadata = metadata
        self.entries = entries
    }

    private static func parseEntry(name: String, value: JSONValue, path: String) throws -> Entry {
        guard let object = value.object else {
            throw WeightsError.badHeader(path: path, detail: "entry '\(name)' is not an object")
        }
        guard let dtypeName = object["dtype"]?.string else {
            throw WeightsError.badHeader(path: path, detail: "entry '\(name)' has no dtype")
        }
        guard let dtype = ScalarType(rawValue: dtypeName) else {
            throw WeightsError.unsupportedDType(path: path, tensor: name, dtype: dtypeName)
        }
        guard let shapeValues = object["shape"]?.array, let shape = integers(shapeValues),
            shape.allSatisfy({ $0 >= 0 })
        else {
            throw WeightsError.badHeader(path: path, detail: "entry '\(name)' has no valid shape")
        }
        guard let offsetValues = object["data_offsets"]?.array, let offsets = integers(offsetValues),
            offsets.count == 2,
            offsets[0] >= 0, offsets[1] >= offsets[0]
        else {
            throw WeightsError.badHeader(path: path, detail: "entry '\(name)' has no valid data_offsets")
        }
        // Element count with overflow checks: a shape like [2^40, 2^40] must be an error, not a trap.
        var elements = 1
        for extent in shape {
            let (product, overflow) = elements.multipliedReportingOverflow(by: extent)
            guard !overflow else {
                throw WeightsError.badTensorExtent(path: path, tensor: name, detail: "shape \(shape) overflows")
            }
            elements = product
        }
        let (bytes, overflow) = elements.multipliedReportingOverflow(by: dtype.byteCount)
        guard !overflow, bytes == offsets[1] - offsets[0] else {
            throw WeightsError.badTensorExtent(
                path: path, tensor: name,
                detail:
                    "shape \(shape) of \(dtypeName) needs \(overflow ? "too many" : String(bytes)) bytes but data_offsets span \(offsets[1] - offsets[0])"
            )
        }
        return Entry(dtype: dtype, shape: shape, begin: offsets[0], end: offsets[1])
    }

    /// JSON numbers as Ints, rejecting fractions and values beyond Int.
    private static func integers(_ values: [JSONValue]) -> [Int]? {
        let result = values.compactMap(\.integer)
        return result.count == values.count ? result : nil
    }

    public var names: [String] { entries.keys.sorted() }
    public func shape(of name: String) -> [Int]? { entries[name]?.shape }
    public func scalarType(of name: String) -> ScalarType? { entries[name]?.dtype }

    public func tensor(_ name: String) throws -> Tensor {
        guard let entry = entries[name] else { throw WeightsError.missingTensor(path: path, tensor: name) }
        var result = Tensor(shape: entry.shape)
        let count = result.count
        result.withUnsafeMutablePointer { out in
            entry.dtype.decode(file.bytes + dataStart + entry.begin, count: count, into: out)
        }
        return result
    }
}

/// Writes tensors as a safetensors file (F32, F16 or BF16), atomically (temporary, fsync, rename).
public enum SafeTensorsWriter {
    public static func write(
        _ tensors: [(name: String, tensor: Tensor)], dtype: ScalarType = .float32,
        metadata: [String: String] = [:], to path: String
    ) throws {
        var header: [String: JSONValue] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata.jsonValue }
        var offset = 0
        for (name, tensor) in tensors {
            let bytes = tensor.count * dtype.byteCount
            header[name] = .object([
                "dtype": .string(dtype.rawValue), "shape": tensor.shape.jsonValue,
                "data_offsets": [offset, offset + bytes].jsonValue,
            ])
            offset += bytes
        }
        var headerData = try JSONValue.object(header).data()
        while headerData.count % 8 != 0 { headerData.append(0x20) }  // pad with spaces, as the spec allows
        var output = Data(capacity: 8 + headerData.count + offset)
        withUnsafeBytes(of: UInt64(headerData.count).littleEndian) { output.append(contentsOf: $0) }
        output.append(headerData)
        for (_, tensor) in tensors {
            var chunk = Data(count: tensor.count * dtype.byteCount)
            chunk.withUnsafeMutableBytes { raw in
                tensor.withUnsafePointer { dtype.encode($0, count: tensor.count, into: raw.baseAddress!) }
            }
            output.append(chunk)
        }
        try replaceAtomically(path, with: output)
    }
}

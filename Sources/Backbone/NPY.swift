import Foundation
import Numerics

/// A parsed NumPy `.npy` array header (format versions 1–3) and where its data start.
///
/// Layout: magic `\x93NUMPY`, major, minor, header length (u16 in v1, u32 in v2/v3), then a Python
/// dict literal such as `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`, padded.
public struct NPYHeader: Equatable {
    /// Element types hpsweep reads from .npy files.
    public enum Element: String, CaseIterable {
        case float32 = "<f4"
        case float16 = "<f2"
        case float64 = "<f8"
        case uint8 = "|u1"
        case int8 = "|i1"
        case int32 = "<i4"
        case int64 = "<i8"
        case uint16 = "<u2"
        public var byteCount: Int {
            switch self {
            case .uint8, .int8: return 1
            case .float16, .uint16: return 2
            case .float32, .int32: return 4
            case .float64, .int64: return 8
            }
        }
        public var isFloatingPoint: Bool { self == .float32 || self == .float16 || self == .float64 }
    }

    public let element: Element
    public let shape: [Int]
    public let fortranOrder: Bool
    /// Offset of the first data byte from the start of the .npy bytes.
    public let dataOffset: Int
    /// Elements × element size (checked not to overflow).
    public let dataByteCount: Int

    public var elementCount: Int { shape.reduce(1, *) }

    /// Parses the header at the start of `bytes`, an array of `count` bytes of which the first
    /// `available` (default: all) may be read. `name` is used in errors.
    public init(bytes: UnsafeRawPointer, count: Int, name: String, available: Int? = nil) throws {
        func fail(_ detail: String) -> NPYError { NPYError(name: name, detail: detail) }
        let readable = min(available ?? count, count)
        let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]
        guard readable >= 10 else { throw fail("too short to be a .npy file (\(count) bytes)") }
        for (i, byte) in magic.enumerated() where bytes.load(fromByteOffset: i, as: UInt8.self) != byte {
            throw fail("missing the \\x93NUMPY magic")
        }
        let major = bytes.load(fromByteOffset: 6, as: UInt8.self)
        let headerLength: Int, headerStart: Int
        switch major {
        case 1:
            headerLength = Int(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt16.self)))
            headerStart = 10
        case 2, 3:
            guard readable >= 12 else { throw fail("too short for a version \(major) header") }
            headerLength = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt32.self)))
            headerStart = 12
        default:
            throw fail("unsupported .npy format version \(major)")
        }
        guard headerLength <= 1 << 20, headerStart + headerLength <= readable else {
            throw fail("header length \(headerLength) runs past the end of the file (\(count) bytes)")
        }
        let text = String(
            decoding: UnsafeRawBufferPointer(start: bytes + headerStart, count: headerLength), as: UTF8.self)
        guard let descr = Self.value(of: "descr", in: text)?.trimmingCharacters(in: CharacterSet(charactersIn: "'\""))
        else {
            throw fail("header has no 'descr'")
        }
        // '=' / '<' mean little-endian on every machine hpsweep runs on; '|' is for single bytes.
        let normalized = descr.replacingOccurrences(of: "=", with: "<")
        guard
            let element = Element(rawValue: normalized)
                ?? Element(rawValue: normalized.replacingOccurrences(of: "<", with: "|"))
                ?? Element(rawValue: normalized.replacingOccurrences(of: "|", with: "<"))
        else {
            throw fail(
                "unsupported dtype '\(descr)' (supported: \(Element.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        guard let fortranText = Self.value(of: "fortran_order", in: text),
            fortranText == "False" || fortranText == "True"
        else {
            throw fail("header has no valid 'fortran_order'")
        }
        guard let shapeText = Self.value(of: "shape", in: text), shapeText.hasPrefix("("), shapeText.hasSuffix(")")
        else {
            throw fail("header has no valid 'shape'")
        }
        var shape: [Int] = []
        for part in shapeText.dropFirst().dropLast().split(separator: ",") {
            let trimmed = part.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            guard let extent = Int(trimmed), extent >= 0 else { throw fail("bad shape \(shapeText)") }
            shape.append(extent)
        }
        var elements = 1
        for extent in shape {
            let (product, overflow) = elements.multipliedReportingOverflow(by: extent)
            guard !overflow else { throw fail("shape \(shapeText) overflows") }
            elements = product
        }
        let (bytesNeeded, overflow) = elements.multipliedReportingOverflow(by: element.byteCount)
        let dataOffset = headerStart + headerLength
        guard !overflow, bytesNeeded <= count - dataOffset else {
            throw fail(
                "shape \(shapeText) of \(descr) needs \(overflow ? "too many" : String(bytesNeeded)) bytes but only \(count - dataOffset) follow the header (truncated?)"
            )
        }
        self.element = element
        self.shape = shape
        self.fortranOrder = fortranText == "True"
        self.dataOffset = dataOffset
        self.dataByteCount = bytesNeeded
    }

    /// The text of `key`'s value in a Python dict literal: a quoted string, a tuple, or a bare word.
    static func value(of key: String, in text: String) -> String? {
        for quote in ["'", "\""] {
            guard let keyRange = text.range(of: "\(quote)\(key)\(quote)") else { continue }
            var rest = text[keyRange.upperBound...].drop { $0 == " " }
            guard rest.first == ":" else { return nil }
            rest = rest.dropFirst().drop { $0 == " " }
            guard let first = rest.first else { return nil }
            if first == "(" {
                guard let close = rest.firstIndex(of: ")") else { return nil }
                return String(rest[...close])
            }
            if first == "'" || first == "\"" {
                let body = rest.dropFirst()
                guard let close = body.firstIndex(of: first) else { return nil }
                return String(rest[...close])
            }
            let end = rest.firstIndex { $0 == "," || $0 == "}" } ?? rest.endIndex
            return rest[..<end].trimmingCharacters(in: .whitespaces)
        }
        return nil
    }

    /// The data converted to Float (C order; Fortran-order arrays are transposed back to C order).
    public func floats(from bytes: UnsafeRawPointer) -> [Float] {
        var result = [Float](repeating: 0, count: elementCount)
        result.withUnsafeMutableBufferPointer { out in
            let base = bytes + dataOffset
            for i in 0..<elementCount {
                out[i] = Self.scalar(element, at: base, index: i)
            }
        }
        return fortranOrder ? Self.fortranToC(result, shape: shape) : result
    }

    /// The data as integers (C order); floating-point data must hold whole numbers.
    public func integers(from bytes: UnsafeRawPointer) -> [Int]? {
        let base = bytes + dataOffset
        var result = [Int](repeating: 0, count: elementCount)
        for i in 0..<elementCount {
            switch element {
            case .uint8: result[i] = Int(base.load(fromByteOffset: i, as: UInt8.self))
            case .int8: result[i] = Int(base.load(fromByteOffset: i, as: Int8.self))
            case .uint16:
                result[i] = Int(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
            case .int32: result[i] = Int(Int32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)))
            case .int64: result[i] = Int(Int64(littleEndian: base.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)))
            case .float16, .float32, .float64:
                let value = Self.scalar(element, at: base, index: i)
                guard value.rounded() == value, abs(value) < 1e9 else { return nil }
                result[i] = Int(value)
            }
        }
        return fortranOrder ? Self.fortranToC(result, shape: shape) : result
    }

    @inline(__always)
    static func scalar(_ element: Element, at base: UnsafeRawPointer, index i: Int) -> Float {
        switch element {
        case .float32:
            return Float(bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
        case .float16:
            return floatFromHalfBits(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
        case .float64:
            return Float(
                Double(bitPattern: UInt64(littleEndian: base.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
        case .uint8: return Float(base.load(fromByteOffset: i, as: UInt8.self))
        case .int8: return Float(base.load(fromByteOffset: i, as: Int8.self))
        case .uint16: return Float(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
        case .int32: return Float(Int32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)))
        case .int64: return Float(Int64(littleEndian: base.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)))
        }
    }

    /// Reorders column-major elements of `shape` into row-major order.
    static func fortranToC<T>(_ values: [T], shape: [Int]) -> [T] {
        guard shape.count > 1, let first = values.first else { return values }
        var result = [T](repeating: first, count: values.count)
        var index = [Int](repeating: 0, count: shape.count)
        for c in 0..<values.count {
            var f = 0, stride = 1
            for d in 0..<shape.count { f += index[d] * stride; stride *= shape[d] }
            result[c] = values[f]
            var d = shape.count - 1
            while d >= 0 { index[d] += 1; if index[d] < shape[d] { break }; index[d] = 0; d -= 1 }
        }
        return result
    }
}

/// A malformed .npy file or member, with its name.
public struct NPYError: Error, CustomStringConvertible, Equatable {
    public let name: String
    public let detail: String
    public var description: String { "\(name): \(detail)" }
}

import Foundation

/// A JSON value: the one type hpsweep parses, stores (the sweep file in the journal) and hashes (cache
/// and trial keys, spec hashes).
///
/// `canonicalText` is the serialisation that keys hash, equal byte for byte to Python's
/// `json.dumps(value, sort_keys=True, separators=(",", ":"))` (ASCII output, keys sorted by code point)
/// for the values keys are made of: strings, integers, booleans, arrays and objects. Non-integral
/// numbers hash as the string of their shortest round-trip decimal (Float32 values through
/// `float32(_:)`, as Python's `str(numpy.float32(x))`), never as JSON numbers, so no two languages can
/// format them differently; null hashes as the string "null" (as spec hashes always have).
public indirect enum JSONValue: Codable {
    case null
    case bool(Bool)
    case int(Int)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// Parses JSON text: the one place hpsweep turns JSON into values (through JSONSerialization, whose
    /// errors name the position). Throws `JSONValue.ParseError` with its description.
    public static func parse(_ data: Data) throws -> JSONValue {
        do {
            return JSONValue(any: try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]))
        } catch {
            throw ParseError(detail: (error as NSError).userInfo["NSDebugDescription"] as? String ?? "malformed JSON")
        }
    }

    public struct ParseError: Error, CustomStringConvertible {
        public let detail: String
        public var description: String { detail }
    }

    /// The JSON text of this value (`sortedKeys`, `prettyPrinted` as JSONSerialization writes them).
    /// JSON has no NaN or infinity: those are written as the strings "nan", "inf" and "-inf", as the
    /// journal writes them (docs/formats.md).
    public func data(sortedKeys: Bool = true, pretty: Bool = false) throws -> Data {
        var options: JSONSerialization.WritingOptions = [.fragmentsAllowed]
        if sortedKeys { options.insert(.sortedKeys) }
        if pretty { options.insert(.prettyPrinted) }
        return try JSONSerialization.data(withJSONObject: any, options: options)
    }

    public var object: [String: JSONValue]? { if case .object(let o) = self { o } else { nil } }
    public var array: [JSONValue]? { if case .array(let a) = self { a } else { nil } }
    public var string: String? { if case .string(let s) = self { s } else { nil } }
    public var bool: Bool? { if case .bool(let b) = self { b } else { nil } }
    /// A number (not a boolean).
    public var number: Double? {
        switch self {
        case .int(let i): Double(i)
        case .number(let x): x
        default: nil
        }
    }
    /// An integral number below 9e15 in magnitude.
    public var integer: Int? { if case .int(let i) = self { i } else { nil } }
    public subscript(key: String) -> JSONValue? { object?[key] }
    /// A string as itself, a number or boolean as written, anything else as canonical JSON.
    public var text: String {
        switch self {
        case .string(let s): s
        case .int(let i): String(i)
        case .number(let x): "\(x)"
        case .bool(let b): b ? "true" : "false"
        case .null: "null"
        case .array, .object: canonicalText
        }
    }

    /// A Float32 as its shortest round-trip decimal string.
    public static func float32(_ value: Float) -> JSONValue { .string("\(value)") }

    /// From JSONSerialization output: integral numbers below 9e15 become `.int`, other numbers `.number`.
    public init(any: Any) {
        switch any {
        case let n as NSNumber where String(cString: n.objCType) == "c": self = .bool(n.boolValue)
        case let n as NSNumber:
            let x = n.doubleValue
            self = x.rounded() == x && abs(x) < 9e15 ? .int(n.intValue) : .number(x)
        case let s as String: self = .string(s)
        case let a as [Any]: self = .array(a.map { JSONValue(any: $0) })
        case let o as [String: Any]: self = .object(o.mapValues { JSONValue(any: $0) })
        default: self = .null
        }
    }

    /// As JSONSerialization would give it (for embedding in a JSONSerialization document).
    public var any: Any {
        switch self {
        case .null: return NSNull()
        case .bool(let b): return b
        case .int(let i): return i
        case .number(let x) where !x.isFinite: return x.isNaN ? "nan" : x > 0 ? "inf" : "-inf"
        case .number(let x): return x == x.rounded() && abs(x) < 9e15 ? Int(x) as Any : x as Any
        case .string(let s): return s
        case .array(let a): return a.map(\.any)
        case .object(let o): return o.mapValues(\.any)
        }
    }

    /// Whether it holds only what keys are made of: strings, integers, booleans, arrays and objects
    /// (floats written as strings), so that its canonical text is Python's `json.dumps` of it.
    public var isKeyMaterial: Bool {
        switch self {
        case .null, .number: return false
        case .bool, .int, .string: return true
        case .array(let items): return items.allSatisfy(\.isKeyMaterial)
        case .object(let members): return members.values.allSatisfy(\.isKeyMaterial)
        }
    }

    public var canonicalText: String {
        switch self {
        case .null: return Self.quote("null")
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .number(let x): return x.rounded() == x && abs(x) < 9e15 ? String(Int(x)) : Self.quote("\(x)")
        case .string(let s): return Self.quote(s)
        case .array(let items): return "[" + items.map(\.canonicalText).joined(separator: ",") + "]"
        case .object(let members):
            // Python sorts str keys by code point; comparing Unicode scalars does the same.
            let keys = members.keys.sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
            return "{" + keys.map { Self.quote($0) + ":" + members[$0]!.canonicalText }.joined(separator: ",") + "}"
        }
    }

    /// Python's `json.dumps` string escaping with ensure_ascii=True.
    static func quote(_ s: String) -> String {
        var out = "\""
        for unit in s.utf16 {
            switch unit {
            case 0x22: out += "\\\""
            case 0x5C: out += "\\\\"
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x09: out += "\\t"
            case 0x08: out += "\\b"
            case 0x0C: out += "\\f"
            case 0x20..<0x7F: out.unicodeScalars.append(Unicode.Scalar(unit)!)
            default: out += String(format: "\\u%04x", unit)
            }
        }
        return out + "\""
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let x = try? c.decode(Double.self) {
            self = x.rounded() == x && abs(x) < 9e15 ? .int(Int(x)) : .number(x)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let a = try? c.decode([JSONValue].self) {
            self = .array(a)
        } else {
            self = .object(try c.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .int(let i): try c.encode(Double(i))  // as the journal has always written numbers
        case .number(let x): try c.encode(x)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }
}

extension JSONValue: Equatable {
    /// Numbers compare by value, whichever case holds them (3 and 3.0 are one JSON number).
    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.int(x), .int(y)): return x == y
        case let (.int(x), .number(y)), let (.number(y), .int(x)): return Double(x) == y
        case let (.number(x), .number(y)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)): return x == y
        default: return false
        }
    }
}

extension JSONValue: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
}

/// A Swift value as the JSON value it writes as (for building documents: summaries, exports).
public protocol JSONRepresentable { var jsonValue: JSONValue { get } }
extension JSONValue: JSONRepresentable { public var jsonValue: JSONValue { self } }
extension Int: JSONRepresentable { public var jsonValue: JSONValue { .int(self) } }
extension Double: JSONRepresentable { public var jsonValue: JSONValue { .number(self) } }
extension String: JSONRepresentable { public var jsonValue: JSONValue { .string(self) } }
extension Bool: JSONRepresentable { public var jsonValue: JSONValue { .bool(self) } }
extension Array: JSONRepresentable where Element: JSONRepresentable {
    public var jsonValue: JSONValue { .array(map(\.jsonValue)) }
}
extension Dictionary: JSONRepresentable where Key == String, Value: JSONRepresentable {
    public var jsonValue: JSONValue { .object(mapValues(\.jsonValue)) }
}
extension Optional: JSONRepresentable where Wrapped: JSONRepresentable {
    public var jsonValue: JSONValue { map(\.jsonValue) ?? .null }
}

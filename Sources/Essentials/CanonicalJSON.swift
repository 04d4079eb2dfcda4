import Foundation

/// A JSON value with one canonical serialisation, equal byte for byte to Python's
/// `json.dumps(value, sort_keys=True, separators=(",", ":"))` (ASCII output, keys sorted by code
/// point). Cache keys hash this text, so a cache written elsewhere can compute the same key.
/// Floats are kept as strings (the shortest decimal that round-trips a Float32), never as JSON
/// numbers, so no two languages can format them differently.
public indirect enum CanonicalJSON: Equatable {
    case string(String)
    case int(Int)
    case bool(Bool)
    case array([CanonicalJSON])
    case object([String: CanonicalJSON])

    /// A Float32 as its shortest round-trip decimal (Python: `str(numpy.float32(x))`).
    public static func float(_ value: Float) -> CanonicalJSON { .string("\(value)") }

    public var text: String {
        switch self {
        case .string(let s): return Self.quote(s)
        case .int(let i): return String(i)
        case .bool(let b): return b ? "true" : "false"
        case .array(let items): return "[" + items.map(\.text).joined(separator: ",") + "]"
        case .object(let members):
            // Python sorts str keys by code point; Swift's String < compares Unicode scalars the same way
            // for the ASCII keys used here, and unicodeScalars comparison keeps it exact otherwise.
            let keys = members.keys.sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
            return "{" + keys.map { Self.quote($0) + ":" + members[$0]!.text }.joined(separator: ",") + "}"
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

    /// Converts parsed JSON (JSONSerialization output) back, for keys recomputed from a header.
    public init?(any value: Any) {
        switch value {
        case let s as String: self = .string(s)
        case let n as NSNumber:
            if String(cString: n.objCType) == "c" { self = .bool(n.boolValue) }
            else if n.doubleValue.rounded() == n.doubleValue, abs(n.doubleValue) < 9e15 { self = .int(n.intValue) }
            else { return nil }
        case let a as [Any]:
            var items: [CanonicalJSON] = []
            for item in a { guard let v = CanonicalJSON(any: item) else { return nil }; items.append(v) }
            self = .array(items)
        case let o as [String: Any]:
            var members: [String: CanonicalJSON] = [:]
            for (k, v) in o { guard let c = CanonicalJSON(any: v) else { return nil }; members[k] = c }
            self = .object(members)
        default: return nil
        }
    }

    /// The value as Foundation objects, for embedding in a JSONSerialization document.
    public var foundationValue: Any {
        switch self {
        case .string(let s): return s
        case .int(let i): return i
        case .bool(let b): return b
        case .array(let items): return items.map(\.foundationValue)
        case .object(let members): return members.mapValues(\.foundationValue)
        }
    }
}

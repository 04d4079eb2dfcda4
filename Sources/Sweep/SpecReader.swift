import Essentials
import Foundation

/// Typed access to one JSON object of a sweep file, with errors naming the JSON path
/// (`$.cache.dtype`) and unknown keys reported with a did-you-mean.
public struct SpecReader {
    public let file: String
    public let path: String
    public let object: [String: JSONValue]
    private(set) var known: Set<String> = []

    public init(file: String, path: String, object: [String: JSONValue]) {
        self.file = file; self.path = path; self.object = object
    }

    /// Parses a whole sweep file's top-level object.
    public static func load(_ file: String) throws -> SpecReader {
        guard let data = contentsOfRegularFile(file) else {
            throw SpecError(file: file, path: "$", message: "cannot read the file: \(whyUnreadable(file))")
        }
        return try SpecReader(file: file, json: data)
    }

    /// Parses JSON text as the top-level object of the sweep file `file` (named in errors).
    public init(file: String, json data: Data) throws {
        let json: JSONValue
        do { json = try JSONValue.parse(data) } catch {
            throw SpecError(file: file, path: "$", message: "not valid JSON: \(error)")
        }
        guard let object = json.object else {
            throw SpecError(file: file, path: "$", message: "must be a JSON object")
        }
        if let duplicate = firstDuplicateKey(in: data) {
            throw SpecError(
                file: file, path: duplicate,
                message: "is given twice in one object (JSON would silently keep the last); remove one")
        }
        self.init(file: file, path: "$", object: object)
    }

    public func fail(_ key: String?, _ message: String) -> SpecError {
        SpecError(file: file, path: key.map { "\(path).\($0)" } ?? path, message: message)
    }

    public func has(_ key: String) -> Bool { object[key] != nil }

    public mutating func mark(_ key: String) { known.insert(key) }

    public mutating func string(_ key: String) throws -> String? {
        mark(key)
        guard let value = object[key] else { return nil }
        guard let s = value.string else { throw fail(key, "must be a string") }
        return s
    }

    public mutating func string(_ key: String, default value: String) throws -> String { try string(key) ?? value }

    public mutating func integer(_ key: String, minimum: Int? = nil, maximum: Int? = nil) throws -> Int? {
        mark(key)
        guard let value = object[key] else { return nil }
        guard let n = value.integer else {
            if let x = value.number, x.rounded() == x {
                throw fail(key, "must be at most \(maximum.map(String.init) ?? "9e15"), got \(x)")
            }
            throw fail(key, "must be an integer")
        }
        if let minimum, n < minimum { throw fail(key, "must be at least \(minimum), got \(n)") }
        if let maximum, n > maximum { throw fail(key, "must be at most \(maximum), got \(n)") }
        return n
    }

    public mutating func number(_ key: String) throws -> Double? {
        mark(key)
        guard let value = object[key] else { return nil }
        guard let x = value.number else { throw fail(key, "must be a number") }
        return x
    }

    public mutating func numbers(_ key: String, count: Int) throws -> [Double]? {
        mark(key)
        guard let value = object[key] else { return nil }
        guard let items = value.array, items.count == count,
            case let numbers = items.compactMap(\.number), numbers.count == count
        else {
            throw fail(key, "must be a list of \(count) numbers")
        }
        return numbers
    }

    public mutating func object(_ key: String) throws -> SpecReader? {
        mark(key)
        guard let value = object[key] else { return nil }
        guard let o = value.object else { throw fail(key, "must be an object") }
        return SpecReader(file: file, path: "\(path).\(key)", object: o)
    }

    public func raw(_ key: String) -> JSONValue? { object[key] }

    /// Keys of this object (for maps such as `data.splits`).
    public var keys: [String] { object.keys.sorted() }

    /// Throws for the first key that no accessor asked for, suggesting the closest known one.
    public func rejectUnknownKeys() throws {
        for key in object.keys.sorted() where !known.contains(key) {
            throw SpecError(
                file: file, path: "\(path).\(key)",
                message:
                    "unknown field\(didYouMean(key, among: known)) (known: \(known.sorted().joined(separator: ", ")))")
        }
    }

    /// A relative path in the spec resolved against the sweep file's directory.
    public func resolvePath(_ value: String) -> String {
        if value.hasPrefix("/") { return value }
        let base = (file as NSString).deletingLastPathComponent
        return ((base.isEmpty ? "." : base) as NSString).appendingPathComponent(value)
    }
}

extension SpecReader {
    /// The object under `key` of a map-like object (every key is accepted).
    public func objectValue(_ key: String) throws -> SpecReader {
        guard let o = raw(key)?.object else { throw fail(key, "must be an object") }
        return SpecReader(file: file, path: "\(path).\(key)", object: o)
    }
}

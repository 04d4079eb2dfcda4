// Over 300 lines because the header's writer and its validating reader live together, so that a field added to one
// cannot be missed in the other.

import Backbone
import Essentials
import Foundation
import Numerics

/// A backbone activation kept in a cache: z_i (the output of block i; z0 = embeddings) or LN(z_L).
public enum Tap: Hashable, Comparable, CustomStringConvertible, Sendable {
    case block(Int)
    case normalized

    /// "z0" … "zL" or "norm".
    public var description: String {
        switch self {
        case .block(let i): return "z\(i)";
        case .normalized: return "norm"
        }
    }

    public init?(_ text: String) {
        if text == "norm" { self = .normalized; return }
        guard text.hasPrefix("z"), let i = Int(text.dropFirst()), i >= 0 else { return nil }
        self = .block(i)
    }

    public static func < (a: Tap, b: Tap) -> Bool {
        switch (a, b) {
        case let (.block(x), .block(y)): return x < y
        case (.block, .normalized): return true
        default: return false
        }
    }
}

/// Which tokens of each tap are stored.
public enum TokenPolicy: String, CaseIterable, Sendable {
    /// All N tokens (class token first): what LAST, LST and adapters need.
    case all
    /// The class token only (linear probes; 197× smaller for ViT-B/16).
    case cls
    /// The mean of the patch tokens (class token and registers excluded, as timm's global_pool="avg").
    case mean
    /// The class token and the patches, registers dropped (DINOv2-reg's registers are scratch space).
    case allWithoutRegisters = "all_no_registers"

    /// Rows a cache keeps per example for a backbone of `config`.
    public func tokens(for config: ViTConfig) -> Int {
        switch self {
        case .all: return config.tokens
        case .allWithoutRegisters: return config.tokens - config.registers
        case .cls, .mean: return 1
        }
    }
}

/// One array file of a cache: activations of one tap (of every distinct image; in format 1, of one
/// split), or a split's labels or its rows among the images (`index`).
public struct CacheArray: Equatable {
    /// The split, or nil for a tap of the distinct images (format 2).
    public var split: String?
    /// A tap name ("z3", "norm"), "labels" or "index".
    public var tap: String
    public var file: String
    public var shape: [Int]
    /// "F16", "BF16", "F32" for activations; "I64" for labels and indices.
    public var dtype: String
    public var bytes: Int
    public var crc32: UInt32
}

/// The JSON header of a cache directory (`header.json`); see docs/cache-format.md.
public struct CacheHeader: Equatable {
    public static let magic = "hpsweep-activation-cache"
    /// The layout this hpsweep writes: 2, each distinct image's taps once and each split a list of
    /// rows (`index`). Format 1 (each split's taps stored whole) is still read.
    public static let formatVersion = 2
    public static let readableVersions = 1...2
    /// The version field of a key's ingredients, which the layout does not change: a format-1 cache
    /// keeps its key, and is found and read.
    public static let ingredientsVersion = 1
    public static let fileName = "header.json"

    /// This header's layout (1 or 2).
    public var formatVersion: Int = CacheHeader.formatVersion
    /// Distinct images stored (format 2; nil in format 1).
    public var images: Int?

    public var key: String
    public var dtype: ScalarType
    public var tokenPolicy: TokenPolicy
    /// Tokens stored per example (N for `all`, 1 otherwise).
    public var tokens: Int
    public var width: Int
    public var taps: [Tap]
    /// Examples per split.
    public var splits: [String: Int]
    public var arrays: [CacheArray]
    public var ingredients: JSONValue
    public var createdBy: String
    /// Wall seconds the build took (the backbone's whole cost, for cost accounting); nil if unknown.
    public var buildSeconds: Double?
    /// The classes' names in label order, when the data names them (not key material: class folders
    /// put them in the key through their splits' label digests).
    public var classNames: [String]?

    public func array(split: String?, tap: String) -> CacheArray? {
        arrays.first { $0.split == split && $0.tap == tap }
    }

    /// The array holding `tap` for the examples of `split`: the distinct images' (format 2) or the
    /// split's own (format 1), whose rows `split`'s `index` (or, in format 1, the identity) picks.
    public func tapArray(split: String, tap: String) -> CacheArray? {
        formatVersion == 1 ? array(split: split, tap: tap) : array(split: nil, tap: tap)
    }

    /// Images whose taps are stored (the rows of each tap array): what the backbone ran.
    public var storedImages: Int { images ?? splits.values.reduce(0, +) }

    // MARK: - JSON

    public func jsonData() throws -> Data {
        var object: [String: JSONValue] = [
            "magic": .string(Self.magic),
            "format_version": .int(formatVersion),
            "key": .string(key),
            "dtype": .string(dtype.rawValue),
            "byte_order": "little",
            "layout": "C order; activations (examples, tokens, width), labels (examples,)",
            "token_policy": .string(tokenPolicy.rawValue),
            "tokens": .int(tokens),
            "width": .int(width),
            "taps": taps.map(\.description).jsonValue,
            "splits": splits.jsonValue,
            "arrays": .array(
                arrays.map { a in
                    var entry: [String: JSONValue] = [
                        "tap": .string(a.tap), "file": .string(a.file), "shape": a.shape.jsonValue,
                        "dtype": .string(a.dtype), "bytes": .int(a.bytes), "crc32": .int(Int(a.crc32)),
                    ]
                    entry["split"] = a.split.map(JSONValue.string)
                    return .object(entry)
                }),
            "ingredients": ingredients,
            "created_by": .string(createdBy),
        ]
        object["build_seconds"] = buildSeconds.map(JSONValue.number)
        object["images"] = images.map(JSONValue.int)
        object["class_names"] = classNames.map { .array($0.map(JSONValue.string)) }
        return try JSONValue.object(object).data(pretty: true)
    }

    /// Parses and checks a header; `path` names the file in errors.
    public init(json data: Data, path: String) throws {
        guard let object = (try? JSONValue.parse(data))?.object else {
            throw CacheError.notACache(path: path, detail: "header is not a JSON object")
        }
        guard object["magic"]?.string == Self.magic else {
            throw CacheError.notACache(path: path, detail: "magic is not '\(Self.magic)'")
        }
        func field<T>(_ name: String, _ read: (JSONValue) -> T?) throws -> T {
            guard let value = object[name].flatMap(read) else {
                throw CacheError.badHeader(
                    path: path, field: name, detail: object[name] == nil ? "missing" : "has the wrong type")
            }
            return value
        }
        func integer(_ value: JSONValue?, _ name: String, minimum: Int = 0) throws -> Int {
            guard let n = value?.integer, n >= minimum else {
                throw CacheError.badHeader(path: path, field: name, detail: "must be an integer >= \(minimum)")
            }
            return n
        }
        let version = try integer(object["format_version"], "format_version")
        guard Self.readableVersions.contains(version) else {
            throw CacheError.unsupportedVersion(path: path, version: version)
        }
        formatVersion = version
        key = try field("key", \.string)
        guard key.count == 64, key.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else {
            throw CacheError.badHeader(path: path, field: "key", detail: "must be 64 lowercase hex digits (a SHA-256)")
        }
        guard let dtype = ScalarType(rawValue: try field("dtype", \.string)) else {
            throw CacheError.badHeader(path: path, field: "dtype", detail: "must be F16, BF16 or F32")
        }
        self.dtype = dtype
        if let order = object["byte_order"]?.string, order != "little" {
            throw CacheError.badHeader(path: path, field: "byte_order", detail: "must be 'little'")
        }
        guard let policy = TokenPolicy(rawValue: try field("token_policy", \.string)) else {
            throw CacheError.badHeader(path: path, field: "token_policy", detail: "must be all, cls or mean")
        }
        tokenPolicy = policy
        tokens = try integer(object["tokens"], "tokens", minimum: 1)
        width = try integer(object["width"], "width", minimum: 1)
        if (policy == .cls || policy == .mean) && tokens != 1 {
            throw CacheError.badHeader(
                path: path, field: "tokens", detail: "must be 1 with token_policy \(policy.rawValue)")
        }
        var taps: [Tap] = []
        for name in try field("taps", \.array) {
            guard let text = name.string, let tap = Tap(text) else {
                throw CacheError.badHeader(path: path, field: "taps", detail: "'\(name.text)' is not z<i> or norm")
            }
            taps.append(tap)
        }
        self.taps = taps
        var splits: [String: Int] = [:]
        for (name, count) in try field("splits", \.object) {
            splits[name] = try integer(count, "splits.\(name)", minimum: 1)
        }
        self.splits = splits
        // Format 2: the distinct images, which every split's index points into.
        let images = version == 1 ? nil : try integer(object["images"], "images", minimum: 1)
        self.images = images
        var arrays: [CacheArray] = []
        for (index, raw) in try field("arrays", \.array).enumerated() {
            let name = "arrays[\(index)]"
            guard let entry = raw.object, let tap = entry["tap"]?.string,
                let file = entry["file"]?.string, let shapeValues = entry["shape"]?.array,
                let dtype = entry["dtype"]?.string
            else {
                throw CacheError.badHeader(
                    path: path, field: name,
                    detail: "needs \(version == 1 ? "split, " : "")tap, file, shape, dtype, bytes, crc32")
            }
            // In format 2 a tap's array holds the images (no split); labels and index belong to a split.
            let perSplit = version == 1 || tap == "labels" || tap == "index"
            let split = entry["split"]?.string
            guard (split != nil) == perSplit else {
                throw CacheError.badHeader(
                    path: path, field: name + ".split",
                    detail: perSplit
                        ? "is required for \(tap)" : "must be absent: a tap's array holds the distinct images")
            }
            guard !file.contains("/"), !file.hasPrefix(".") else {
                throw CacheError.badHeader(
                    path: path, field: name + ".file", detail: "must be a plain file name inside the cache directory")
            }
            let shape = try shapeValues.map { try integer($0, name + ".shape") }
            let bytes = try integer(entry["bytes"], name + ".bytes")
            let crc = try integer(entry["crc32"], name + ".crc32")
            guard crc <= Int(UInt32.max) else {
                throw CacheError.badHeader(path: path, field: name + ".crc32", detail: "exceeds 32 bits")
            }
            let count: Int
            if let split {
                guard let examples = splits[split] else {
                    throw CacheError.badHeader(
                        path: path, field: name + ".split", detail: "split '\(split)' is not listed in 'splits'")
                }
                count = examples
            } else {
                count = images ?? 0
            }
            if tap == "index" && version == 1 {
                throw CacheError.badHeader(path: path, field: name + ".tap", detail: "format 1 has no index arrays")
            }
            // The declared shape and byte size must agree with the rest of the header.
            let expectedShape: [Int], elementBytes: Int
            if tap == "labels" || tap == "index" {
                guard dtype == "I64" else {
                    throw CacheError.badHeader(path: path, field: name + ".dtype", detail: "\(tap) must be I64")
                }
                expectedShape = [count]; elementBytes = 8
            } else {
                guard let t = Tap(tap), taps.contains(t) else {
                    throw CacheError.badHeader(
                        path: path, field: name + ".tap", detail: "'\(tap)' is not listed in 'taps'")
                }
                guard dtype == self.dtype.rawValue else {
                    throw CacheError.badHeader(
                        path: path, field: name + ".dtype", detail: "must equal the cache dtype \(self.dtype.rawValue)")
                }
                expectedShape = [count, tokens, width]; elementBytes = self.dtype.byteCount
            }
            guard shape == expectedShape else {
                throw CacheError.badHeader(
                    path: path, field: name + ".shape", detail: "is \(shape), expected \(expectedShape)")
            }
            guard bytes == expectedShape.reduce(elementBytes, *) else {
                throw CacheError.badHeader(
                    path: path, field: name + ".bytes",
                    detail: "is \(bytes), expected \(expectedShape.reduce(elementBytes, *))")
            }
            arrays.append(
                CacheArray(
                    split: split, tap: tap, file: file, shape: shape, dtype: dtype, bytes: bytes, crc32: UInt32(crc)))
        }
        // Every array present once: format 1, each split's taps and labels; format 2, each tap's images
        // and each split's labels and index.
        var required: [(split: String?, tap: String)] = []
        for split in splits.keys.sorted() {
            required += (version == 1 ? taps.map(\.description) + ["labels"] : ["labels", "index"]).map { (split, $0) }
        }
        if version != 1 { required += taps.map { (nil, $0.description) } }
        for (split, tap) in required where arrays.filter({ $0.split == split && $0.tap == tap }).count != 1 {
            let which = split.map { "split '\($0)', tap '\(tap)'" } ?? "tap '\(tap)' of the images"
            throw CacheError.badHeader(path: path, field: "arrays", detail: "needs exactly one array for \(which)")
        }
        self.arrays = arrays
        guard let ingredients = object["ingredients"], ingredients.isKeyMaterial else {
            throw CacheError.badHeader(
                path: path, field: "ingredients", detail: "missing or not canonical JSON (floats must be strings)")
        }
        self.ingredients = ingredients
        createdBy = object["created_by"]?.string ?? "unknown"
        buildSeconds = object["build_seconds"]?.number
        if let names = object["class_names"] {
            guard let list = names.array, list.count <= ActivationCache.maximumClasses,
                case let strings = list.compactMap(\.string), strings.count == list.count
            else {
                throw CacheError.badHeader(path: path, field: "class_names", detail: "must be a list of strings")
            }
            classNames = strings
        }
    }

    /// A format-2 header: `images` distinct images, each split's examples rows of them.
    public init(
        key: String, dtype: ScalarType, tokenPolicy: TokenPolicy, tokens: Int, width: Int, taps: [Tap],
        images: Int, splits: [String: Int], arrays: [CacheArray], ingredients: JSONValue, createdBy: String
    ) {
        self.key = key; self.dtype = dtype; self.tokenPolicy = tokenPolicy; self.tokens = tokens; self.width = width
        self.taps = taps; self.images = images; self.splits = splits; self.arrays = arrays
        self.ingredients = ingredients; self.createdBy = createdBy
    }

    /// The key of a set of ingredients: SHA-256 of their canonical JSON text.
    public static func key(of ingredients: JSONValue) -> String { SHA256.hash(ingredients.canonicalText) }
}

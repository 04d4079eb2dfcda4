// The backbone and cache sections are parsed here, the data section in SweepSpec+Data.swift; their
// checks cross (taps against depth, cache splits against the data's, weights against the backbone).

import Backbone
import Cache
import Datasets
import Essentials
import Foundation
import Numerics
import Sweep
import Training

/// The parts of a sweep file that say what to cache: `backbone`, `data` and `cache`
/// (docs/sweep-spec.md). Paths are relative to the sweep file.
public struct SweepSpec {
    public struct CacheSpec {
        public var dtype: ScalarType = .float16
        public var compute: ComputePrecision = .fp32
        public var taps: [Tap]? = nil
        public var tokenPolicy: TokenPolicy = .all
        public var directory: String
        public var batchSize: Int = 32
        public var splits: [String]? = nil
    }

    public let file: String
    public var name: String
    public var backbone: BackboneSource
    public var data: DataSpec
    public var cache: CacheSpec
    /// The search (`methods`, `space`, `sampler`, …); nil in a file that only describes a cache.
    public var search: SearchSpec?
    /// SHA-256 of the canonical form of the file's JSON without `workers` and `memory` (which may
    /// change between resumes without changing any result).
    public var contentHash: String
    /// The file's parsed JSON.
    public var json: [String: JSONValue]

    /// Reads and checks a sweep file; every mistake is a `SpecError` naming its JSON path.
    public static func load(_ file: String) throws -> SweepSpec {
        let spec = try parse(try SpecReader.load(file))
        if spec.search?.warmStart == .previousTasks {
            throw SpecError(
                file: file, path: "$.warm_start",
                message:
                    "\"previous_tasks\" applies to a suite (a sweep file with 'tasks'); list earlier sweeps' results directories instead"
            )
        }
        return spec
    }

    /// Reads and checks a sweep file's top-level object (a suite's tasks are such objects: SuiteSpec).
    public static func parse(_ reader: SpecReader) throws -> SweepSpec {
        var top = reader
        let file = reader.file
        // The name is a folder under the results root: "." or ".." would put a sweep's files in the root or above it.
        guard let name = try top.string("name"), !name.isEmpty, !name.hasPrefix("."), name.count <= 200,
            name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." })
        else {
            throw top.fail(
                "name",
                top.has("name")
                    ? "must be letters, digits, '-', '_' or '.', not starting with '.', at most 200 characters"
                    : "is required")
        }
        guard var backboneReader = try top.object("backbone") else { throw top.fail("backbone", "is required") }
        let backbone = try parseBackbone(&backboneReader)
        // The backbone's configuration, read once (a weights file is opened for it). A size the patches
        // do not divide is the image_size key's mistake; other problems of the file surface where used.
        let backboneConfig = Result { try backbone.config() }
        if case .failure(WeightsError.badImageSize) = backboneConfig, case .failure(let error) = backboneConfig {
            throw backboneReader.fail("image_size", "\(error)")
        }
        guard var dataReader = try top.object("data") else { throw top.fail("data", "is required") }
        // CLIP's image towers were trained on OpenAI's normalisation: the default for them.
        let isCLIP = (try? backboneConfig.get())?.preNorm ?? false
        let data = try parseData(&dataReader, normalization: isCLIP ? clipNormalization : imageNetNormalization)
        var cacheReader = try top.object("cache") ?? SpecReader(file: file, path: "$.cache", object: [:])
        let cache = try parseCache(&cacheReader, data: data, top: top)
        // A tap past the backbone's last block is the file's mistake, found here as `run` would find it.
        if let config = try? backboneConfig.get(), let taps = cache.taps {
            for case .block(let i) in taps where i > config.depth {
                throw cacheReader.fail(
                    "taps",
                    "block \(i) is past the backbone's last (depth \(config.depth): taps 0…\(config.depth) or \"norm\")"
                )
            }
        }
        var search: SearchSpec?
        if top.has("methods") || top.has("method") {
            let parsed = try SearchSpec.parse(&top, catalogue: SideTuningCatalogue.catalogue)
            let config = try backboneConfig.get()
            var hasWeights = false
            if case .weights = backbone { hasWeights = true }
            try parsed.checkCombinations(top, backbone: (config.width, config.depth, config.heads, hasWeights))
            search = parsed
        }
        try top.rejectUnknownKeys()
        var hashed = top.object
        hashed["workers"] = nil
        hashed["memory"] = nil
        hashed["keep_models"] = nil
        return SweepSpec(
            file: file, name: name, backbone: backbone, data: data, cache: cache, search: search,
            contentHash: SHA256.hash(JSONValue.object(hashed).canonicalText), json: top.object)
    }

    static func parseBackbone(_ r: inout SpecReader) throws -> BackboneSource {
        let heads = try r.integer("heads", minimum: 1, maximum: 4096)
        let eps = try r.number("layer_norm_eps").map { Float($0) }
        let imageSize = try r.integer("image_size", minimum: 1, maximum: 16384)
        var activation: ViTConfig.Activation?
        if let name = try r.string("activation") {
            let names = ViTConfig.Activation.allCases.map(\.rawValue)
            guard let known = ViTConfig.Activation(rawValue: name) else {
                throw r.fail(
                    "activation",
                    "must be \(names.map { "'\($0)'" }.joined(separator: " or "))\(didYouMean(name, among: names))")
            }
            activation = known
        }
        if let weights = try r.string("weights") {
            if r.has("random") { throw r.fail("random", "give either 'weights' or 'random', not both") }
            let url = try r.string("url")
            try r.rejectUnknownKeys()
            let path = r.resolvePath(weights)
            guard FileManager.default.fileExists(atPath: path) else {
                let how =
                    url.map { "download \($0) and save it as \(absolute(path))" }
                    ?? "see the README's 'Backbone weights' for how to get ViT weights"
                throw r.fail("weights", "\(path) does not exist: \(how)")
            }
            return .weights(path: path, heads: heads, layerNormEps: eps, imageSize: imageSize, activation: activation)
        }
        guard let preset = try r.string("random") else {
            throw r.fail(nil, "needs 'weights' (a checkpoint file) or 'random' (a named config)")
        }
        guard var config = ViTConfig.preset(named: preset) else {
            throw r.fail(
                "random",
                "unknown ViT config '\(preset)' (known: \(ViTConfig.presets.map(\.name).joined(separator: ", ")))")
        }
        let seed = try r.integer("seed", minimum: 0) ?? 0
        if let heads { config.heads = heads }
        if let eps { config.layerNormEps = eps }
        if let activation { config.activation = activation }
        if imageSize != nil {
            throw r.fail("image_size", "applies to weights files (a random backbone's size is its config's)")
        }
        if let problem = config.inconsistency { throw r.fail(nil, problem) }
        try r.rejectUnknownKeys()
        return .random(config: config, seed: UInt64(seed))
    }

    static let imageNetNormalization: (mean: [Float], std: [Float]) = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
    static let clipNormalization: (mean: [Float], std: [Float]) = (
        [0.48145466, 0.4578275, 0.40821073], [0.26862954, 0.26130258, 0.27577711]
    )

    static func parseCache(_ r: inout SpecReader, data: DataSpec, top: SpecReader) throws -> CacheSpec {
        // An explicit dir is relative to the sweep file; the default is ./.hpsweep-cache where hpsweep runs.
        let directory =
            try r.string("dir").map { r.resolvePath($0) }
            ?? FileManager.default.currentDirectoryPath + "/.hpsweep-cache"
        var spec = CacheSpec(directory: directory)
        switch try r.string("dtype", default: "f16").lowercased() {
        case "f16", "float16": spec.dtype = .float16
        case "bf16", "bfloat16": spec.dtype = .bfloat16
        case "f32", "float32": spec.dtype = .float32
        default: throw r.fail("dtype", "must be 'f16', 'bf16' or 'f32'")
        }
        let compute = try r.string("compute", default: "fp32")
        guard let precision = ComputePrecision(rawValue: compute) else {
            throw r.fail(
                "compute",
                "must be 'fp32' or 'bf16'\(didYouMean(compute, among: ComputePrecision.allCases.map(\.rawValue)))")
        }
        spec.compute = precision
        if let policy = try r.string("token_policy") {
            guard let p = TokenPolicy(rawValue: policy) else {
                throw r.fail("token_policy", "must be 'all', 'all_no_registers', 'cls' or 'mean'")
            }
            spec.tokenPolicy = p
        }
        r.mark("taps")
        if let taps = r.raw("taps") {
            if taps.string == "all" {
                spec.taps = nil
            } else if let list = taps.array, !list.isEmpty {
                spec.taps = try list.map { item in
                    if let n = item.integer, n >= 0 { return .block(n) }
                    if let s = item.string, let t = Tap(s) { return t }
                    throw r.fail(
                        "taps",
                        "entries must be block indices (0 = embeddings), 'z<i>' or 'norm'; got \(item.canonicalText)")
                }
            } else {
                throw r.fail("taps", "must be 'all' or a non-empty list such as [0, 4, 8, 12, \"norm\"]")
            }
        }
        spec.batchSize = try r.integer("batch_size", minimum: 1, maximum: 1 << 16) ?? 32
        r.mark("splits")
        if let splits = r.raw("splits") {
            guard let names = splits.array?.compactMap(\.string), names.count == splits.array?.count, !names.isEmpty
            else {
                throw r.fail("splits", "must be a non-empty list of split names")
            }
            for name in names where !data.splitNames.contains(name) {
                throw r.fail("splits", "'\(name)' is not one of the data splits \(data.splitNames)")
            }
            spec.splits = names
        }
        try r.rejectUnknownKeys()
        return spec
    }

    /// Opens the splits to cache, checking list files, images and labels before any work.
    public func openSplits() throws -> [any ImageSplit] { try (cache.splits ?? data.splitNames).map(openSplit) }

    /// The cache request of this sweep.
    public func cacheRequest() throws -> CacheRequest {
        var request = CacheRequest(backbone: backbone, splits: try openSplits())
        request.mean = data.mean
        request.std = data.std
        request.taps = cache.taps
        request.tokenPolicy = cache.tokenPolicy
        request.dtype = cache.dtype
        request.compute = cache.compute
        request.classNames = data.classNames
        return request
    }
}

/// `path` made absolute against the working directory (for instructions that say where to put a file).
func absolute(_ path: String) -> String {
    let full =
        path.hasPrefix("/") ? path : (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(path)
    return (full as NSString).standardizingPath
}

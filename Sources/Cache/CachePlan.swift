import Backbone
import Datasets
import Essentials
import Foundation
import Numerics

/// Where the frozen backbone comes from; part of the cache key.
public enum BackboneSource {
    /// A checkpoint file (any supported convention); its contents are hashed. `imageSize`: run at
    /// another image side than the checkpoint's (its position embedding resampled); `activation`:
    /// the MLP's when the file cannot say (QuickGELU for OpenAI's CLIP).
    case weights(
        path: String, heads: Int?, layerNormEps: Float?, imageSize: Int? = nil, activation: ViTConfig.Activation? = nil)
    /// Random weights of a named or explicit configuration (demos and tests): the seed is hashed.
    case random(config: ViTConfig, seed: UInt64)

    /// The backbone, computing at `compute`, and what identifies it in a cache key.
    func load(compute: ComputePrecision = .fp32) throws -> (ViT, JSONValue) {
        switch self {
        case let .weights(path, heads, eps, imageSize, activation):
            let loaded = try LoadedViT(
                path: path, heads: heads, layerNormEps: eps, imageSize: imageSize, activation: activation)
            let identity: JSONValue = .object([
                "weights_sha256": .string(try SHA256.hash(file: path)),
                "convention": .string(loaded.convention.rawValue),
                "config": Self.describe(loaded.config),
            ])
            return (ViT(loaded, compute: compute), identity)
        case let .random(config, seed):
            let identity: JSONValue = .object(["random_seed": .string(String(seed)), "config": Self.describe(config)])
            return (ViT(config: config, parameters: .random(config, seed: seed), compute: compute), identity)
        }
    }

    /// The backbone's configuration (a weights file is read, and so checked, to find it).
    public func config() throws -> ViTConfig {
        switch self {
        case let .weights(path, heads, eps, imageSize, activation):
            return try LoadedViT(
                path: path, heads: heads, layerNormEps: eps, imageSize: imageSize, activation: activation
            ).config
        case let .random(config, _): return config
        }
    }

    /// The configuration as a cache key holds it (the plain ViT's fields always; the family's only
    /// where they differ from it, so that plain ViTs keep their keys).
    static func describe(_ c: ViTConfig) -> JSONValue {
        var fields: [String: JSONValue] = [
            "image_size": .int(c.imageSize), "patch_size": .int(c.patchSize), "width": .int(c.width),
            "depth": .int(c.depth), "heads": .int(c.heads), "mlp_ratio": .int(c.mlpRatio),
            "channels": .int(c.channels), "layer_norm_eps": .float32(c.layerNormEps),
        ]
        if c.registers > 0 { fields["registers"] = .int(c.registers) }
        if !c.embedsPrefix { fields["embeds_prefix"] = .bool(false) }
        if c.embedsPrefix && !c.embedsRegisters && c.registers > 0 { fields["embeds_registers"] = .bool(false) }
        if c.preNorm { fields["pre_norm"] = .bool(true) }
        if c.layerScale { fields["layer_scale"] = .bool(true) }
        if c.activation != .gelu { fields["activation"] = .string(c.activation.rawValue) }
        return .object(fields)
    }

    /// A configuration that `describe` wrote (a model file records it), or what it lacks.
    public static func config(described c: [String: JSONValue]) -> Result<ViTConfig, DescriptionProblem> {
        func int(_ key: String) throws -> Int {
            guard case .int(let value)? = c[key] else { throw DescriptionProblem(description: "lacks '\(key)'") }
            return value
        }
        do {
            guard case .string(let epsText)? = c["layer_norm_eps"], let eps = Float(epsText) else {
                throw DescriptionProblem(description: "lacks 'layer_norm_eps'")
            }
            var config = ViTConfig(
                imageSize: try int("image_size"), patchSize: try int("patch_size"), width: try int("width"),
                depth: try int("depth"), heads: try int("heads"), mlpRatio: try int("mlp_ratio"),
                channels: try int("channels"), layerNormEps: eps)
            // The family's fields, recorded only where they differ from a plain ViT.
            if case .int(let registers)? = c["registers"] { config.registers = registers }
            if case .bool(let embeds)? = c["embeds_prefix"] { config.embedsPrefix = embeds }
            if case .bool(let embeds)? = c["embeds_registers"] { config.embedsRegisters = embeds }
            if case .bool(let preNorm)? = c["pre_norm"] { config.preNorm = preNorm }
            if case .bool(let layerScale)? = c["layer_scale"] { config.layerScale = layerScale }
            if case .string(let name)? = c["activation"] {
                guard let activation = ViTConfig.Activation(rawValue: name) else {
                    throw DescriptionProblem(description: "names activation '\(name)', unknown to this hpsweep")
                }
                config.activation = activation
            }
            return .success(config)
        } catch let problem as DescriptionProblem {
            return .failure(problem)
        } catch {
            return .failure(DescriptionProblem(description: "\(error)"))
        }
    }

    public struct DescriptionProblem: Error, CustomStringConvertible { public let description: String }
}

/// Everything that determines a cache's contents.
public struct CacheRequest {
    public var backbone: BackboneSource
    /// The splits to cache, by name (e.g. train800, val200).
    public var splits: [any ImageSplit]
    /// Mean/std of the preprocessing; the image size is the backbone's.
    public var mean: [Float] = [0.485, 0.456, 0.406]
    public var std: [Float] = [0.229, 0.224, 0.225]
    /// Taps to keep; nil means z0…zL.
    public var taps: [Tap]?
    public var tokenPolicy: TokenPolicy = .all
    public var dtype: ScalarType = .float16
    /// The backbone's GEMM precision (bf16 changes the taps, so it is part of the key when chosen).
    public var compute: ComputePrecision = .fp32
    /// The classes' names in label order, when the data names them: written into the header.
    public var classNames: [String]?

    public init(backbone: BackboneSource, splits: [any ImageSplit]) {
        self.backbone = backbone
        self.splits = splits
    }
}

/// A request resolved: the loaded backbone, the ingredients and the key naming the cache directory.
public struct CachePlan {
    public let request: CacheRequest
    public let vit: ViT
    public let taps: [Tap]
    public let preprocessing: Preprocessing
    public let ingredients: JSONValue
    public let key: String
    /// Each distinct image of the splits once, by content, as (split, example) of its first
    /// occurrence in request order: what the backbone runs on.
    public let images: [ImageReference]
    /// For each of the request's splits, the row in `images` of each of its examples.
    public let rows: [[Int]]

    /// An example of one of the request's splits.
    public struct ImageReference: Equatable, Sendable {
        public let split: Int, example: Int
    }

    /// Loads the backbone and hashes every ingredient (weights and dataset files included).
    public init(_ request: CacheRequest) throws {
        self.request = request
        let (vit, backboneIdentity) = try request.backbone.load(compute: request.compute)
        self.vit = vit
        let depth = vit.config.depth
        let taps = (request.taps ?? (0...depth).map { Tap.block($0) }).sorted()
        for case .block(let i) in taps where i > depth {
            throw CacheError.tapBeyondDepth(tap: "z\(i)", depth: depth)
        }
        self.taps = Array(Set(taps)).sorted()
        preprocessing = Preprocessing(imageSize: vit.config.imageSize, mean: request.mean, std: request.std)
        var data: [String: JSONValue] = [:]
        var fileDigests: [String: String] = [:]  // each file hashed once, for the key and for its images
        func fileDigest(_ path: String) throws -> String {
            if let digest = fileDigests[path] { return digest }
            let digest = try SHA256.hash(file: path)
            fileDigests[path] = digest
            return digest
        }
        for split in request.splits {
            // Contents, in order, not names: moving or renaming the dataset keeps its caches.
            var hasher = SHA256()
            for file in split.files { hasher.update(try fileDigest(file) + "\n") }
            var entry: [String: JSONValue] = ["count": .int(split.count), "files_sha256": .string(hasher.finalize())]
            if let labels = split.labelDigest { entry["labels_sha256"] = .string(labels) }
            data[split.name] = .object(entry)
        }
        // One row per distinct image: train800val200 is train800 and val200 again, and runs through
        // the backbone once.
        var rowOfDigest: [String: Int] = [:], images: [ImageReference] = []
        rows = try request.splits.enumerated().map { s, split in
            try (0..<split.count).map { example in
                let digest = try split.exampleDigest(at: example, fileDigest: fileDigest)
                if let row = rowOfDigest[digest] { return row }
                rowOfDigest[digest] = images.count
                images.append(ImageReference(split: s, example: example))
                return images.count - 1
            }
        }
        self.images = images
        var fields: [String: JSONValue] = [
            "format_version": .int(CacheHeader.ingredientsVersion),
            "backbone": backboneIdentity,
            "data": .object(data),
            "preprocessing": .object([
                "image_size": .int(preprocessing.imageSize),
                "mean": .array(preprocessing.mean.map(JSONValue.float32)),
                "std": .array(preprocessing.std.map(JSONValue.float32)),
                "resize": .string("pil-bicubic"),
            ]),
            "taps": .array(self.taps.map { .string($0.description) }),
            "token_policy": .string(request.tokenPolicy.rawValue),
            "dtype": .string(request.dtype.rawValue),
        ]
        // Only when not the default, so that every fp32 cache keeps the key it had before bf16 existed.
        if request.compute != .fp32 { fields["compute"] = .string(request.compute.rawValue) }
        ingredients = .object(fields)
        key = CacheHeader.key(of: ingredients)
    }
}

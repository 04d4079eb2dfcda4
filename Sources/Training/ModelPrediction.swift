import Backbone
import Cache
import Datasets
import Essentials
import Foundation
import Numerics
import SideNets

// A model file's network run on cached taps (`hpsweep predict MODEL --cache DIR`).
extension SideNetworkModel {
    /// Why `cache` cannot feed this model, or nil: another backbone or preprocessing than the model was
    /// trained on (unless `allowOtherBackbone`), a width, token policy or tap it lacks.
    public func incompatibility(with cache: ActivationCache, allowOtherBackbone: Bool = false) -> String? {
        let h = cache.header
        if h.width != backboneWidth {
            return "the cache's taps are \(h.width) wide; the model was trained on \(backboneWidth)"
        }
        if !allowOtherBackbone, let problem = mismatch(with: h.ingredients) { return "the cache's \(problem)" }
        let network = network()
        if let missing = network.requiredTaps.first(where: { !h.taps.contains($0) }) {
            return
                "the model reads tap \(missing), which the cache does not hold (it has \(h.taps.map(\.description).joined(separator: ", ")))"
        }
        if !network.classTokenOnly && h.tokens == 1 {
            return
                "the model reads every token, but the cache keeps one per example (token policy \(h.tokenPolicy.rawValue))"
        }
        if let policy = extra["token_policy"], policy != h.tokenPolicy.rawValue {
            return "the model was trained on token policy '\(policy)', the cache holds '\(h.tokenPolicy.rawValue)'"
        }
        return nil
    }

    /// The ingredients of the cache the model was trained on (its `cache` metadata), by field.
    var recordedIngredients: [String: JSONValue]? {
        extra["cache"].flatMap { try? JSONValue.parse(Data($0.utf8)) }?.object
    }

    /// Logits (examples × classes) of every example of the cached `split`, in batches of the training
    /// batch size (the batches the final phase scored with, so the same bits).
    public func logits(cache: ActivationCache, split: String) throws -> [Float] {
        guard let count = cache.header.splits[split] else {
            throw CacheError.unknownSplit(split: split, available: cache.header.splits.keys.sorted())
        }
        let network = network()
        defer { network.releaseBuffers() }
        let tokens = network.classTokenOnly ? 1 : cache.header.tokens, width = cache.header.width
        let batchSize = settings.batchSize
        var logits: [Float] = []
        logits.reserveCapacity(count * classes)
        for start in stride(from: 0, to: count, by: batchSize) {
            let indices = Array(start..<min(start + batchSize, count))
            let buffers = network.requiredTaps.map { _ in FloatBuffer(count: indices.count * tokens * width) }
            let input = try cache.tapBatch(
                split: split, taps: network.requiredTaps, indices: indices, tokens: tokens,
                labels: [Int32](repeating: 0, count: indices.count), into: buffers)
            logits += network.forward(parameters, input)
        }
        return logits
    }
}

// The backbone pass that reproduces, on new images, the taps a model file was trained on.
extension SideNetworkModel {
    /// The cache request for `split` that recomputes the taps this model trained on: the backbone it
    /// records (`weights` overrides the recorded file; a random demo backbone is rebuilt from its
    /// config and seed), and the preprocessing, taps, token policy, dtype and compute of its cache.
    public func cacheRequest(for split: any ImageSplit, weights: String?) throws -> CacheRequest {
        func fail(_ message: String) -> ModelFileError {
            ModelFileError(path: extra["trial"].map { "model \($0)" } ?? "model", message: message)
        }
        guard let ingredients = recordedIngredients, case .object(let backbone)? = ingredients["backbone"],
            case .object(let c)? = backbone["config"], case .object(let preprocessing)? = ingredients["preprocessing"]
        else {
            throw fail("its metadata records no cache ingredients (backbone, preprocessing): it cannot run on images")
        }
        func floats(_ value: JSONValue?) -> [Float]? {
            guard case .array(let items)? = value else { return nil }
            let numbers = items.compactMap { item -> Float? in
                if case .string(let s) = item { return Float(s) } else { return nil }
            }
            return numbers.count == items.count ? numbers : nil
        }
        let config: ViTConfig
        switch BackboneSource.config(described: c) {
        case .success(let recorded): config = recorded
        case .failure(let problem): throw fail("its recorded backbone config \(problem.description)")
        }
        let source: BackboneSource
        if case .string(let seed)? = backbone["random_seed"], weights == nil, let value = UInt64(seed) {
            source = .random(config: config, seed: value)
        } else {
            guard let path = weights ?? extra["backbone_path"] else {
                throw fail("it records no backbone file; give the weights it was trained on with --weights FILE")
            }
            source = .weights(
                path: path, heads: config.heads, layerNormEps: config.layerNormEps, imageSize: config.imageSize,
                activation: config.activation)
        }
        var request = CacheRequest(backbone: source, splits: [split])
        guard let mean = floats(preprocessing["mean"]), let std = floats(preprocessing["std"]) else {
            throw fail("its recorded preprocessing lacks mean/std")
        }
        request.mean = mean; request.std = std
        if case .array(let taps)? = ingredients["taps"] {
            request.taps = taps.compactMap { if case .string(let s) = $0 { return Tap(s) } else { return nil } }
        }
        if case .string(let policy)? = ingredients["token_policy"], let p = TokenPolicy(rawValue: policy) {
            request.tokenPolicy = p
        }
        if case .string(let dtype)? = ingredients["dtype"], let d = ScalarType(rawValue: dtype) { request.dtype = d }
        if case .string(let compute)? = ingredients["compute"], let p = ComputePrecision(rawValue: compute) {
            request.compute = p
        }
        return request
    }

    /// What in `ingredients` (a cache's, or a backbone pass's) differs from what the model trained on,
    /// or nil: the backbone (weights' SHA-256, convention, config), the preprocessing or the compute.
    public func mismatch(with ingredients: JSONValue) -> String? {
        guard let recorded = recordedIngredients, case .object(let here) = ingredients else { return nil }
        for part in ["backbone", "preprocessing", "compute"] where recorded[part] != here[part] {
            return
                "\(part) differs from the one the model was trained on (\(part == "backbone" ? "its weights' SHA-256, convention or config; " : "")--allow-other-backbone uses it anyway)"
        }
        return nil
    }

}

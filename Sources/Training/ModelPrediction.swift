import Cache
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
        if h.width != backboneWidth { return "the cache's taps are \(h.width) wide; the model was trained on \(backboneWidth)" }
        if !allowOtherBackbone, let trained = recordedIngredients, case .object(let here) = h.ingredients {
            for part in ["backbone", "preprocessing", "compute"] where trained[part] != here[part] {
                return "the cache's \(part) differs from the one the model was trained on (rerun with --allow-other-backbone to use it anyway)"
            }
        }
        let network = network()
        if let missing = network.requiredTaps.first(where: { !h.taps.contains($0) }) {
            return "the model reads tap \(missing), which the cache does not hold (it has \(h.taps.map(\.description).joined(separator: ", ")))"
        }
        if !network.classTokenOnly && h.tokens == 1 {
            return "the model reads every token, but the cache keeps one per example (token policy \(h.tokenPolicy.rawValue))"
        }
        if let policy = extra["token_policy"], policy != h.tokenPolicy.rawValue {
            return "the model was trained on token policy '\(policy)', the cache holds '\(h.tokenPolicy.rawValue)'"
        }
        return nil
    }

    /// The ingredients of the cache the model was trained on (its `cache` metadata), by field.
    var recordedIngredients: [String: JSONValue]? {
        guard let text = extra["cache"], let parsed = try? JSONSerialization.jsonObject(with: Data(text.utf8)),
              case .object(let fields) = JSONValue(any: parsed) else { return nil }
        return fields
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
            var buffers: [Tap: FloatBuffer] = [:]
            for tap in network.requiredTaps {
                let buffer = FloatBuffer(count: indices.count * tokens * width)
                if tokens == 1 { try cache.readClassTokens(split: split, tap: tap, indices: indices, into: buffer.pointer) }
                else { try cache.read(split: split, tap: tap, indices: indices, into: buffer.pointer) }
                buffers[tap] = buffer
            }
            let input = TapBatch(buffers: buffers, batch: indices.count, tokens: tokens, width: width,
                                 labels: [Int32](repeating: 0, count: indices.count))
            logits += network.forward(parameters, input)
        }
        return logits
    }
}

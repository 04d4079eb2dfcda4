import Essentials
import Foundation

/// What may change between runs of one sweep. A sweep may be *extended* — more trials, more seeds,
/// other values in a space, another method, another final_top — and every finished trial is reused
/// (trials are identified by content: `TrialKey`). Any other change (backbone, data, cache, seed,
/// epochs, early stopping, sampler, objectives, constraints) would make old and new trials
/// incomparable, so it is refused with a diff. `workers` and `memory` never matter.
public enum SpecRevision {
    /// Top-level fields an extension may change.
    public static let extensible: Set<String> = ["methods", "method", "space", "trials", "seeds", "final_top"]
    /// Top-level fields that never affect results.
    public static let ignored: Set<String> = ["workers", "memory", "keep_models"]

    /// A sweep file's JSON as the journal records it (without the ignored fields).
    public static func recorded(_ json: [String: JSONValue]) -> [String: JSONValue] {
        json.filter { !ignored.contains($0.key) }
    }

    /// Differences between two recorded specs, one readable line each (`$.epochs: 16 → 20`).
    public static func diff(_ old: JSONValue?, _ new: JSONValue?, path: String = "$") -> [String] {
        switch (old, new) {
        case (nil, nil): return []
        case (nil, let n?): return ["\(path): added \(describe(n))"]
        case (let o?, nil): return ["\(path): removed (was \(describe(o)))"]
        case (.object(let o)?, .object(let n)?):
            return Set(o.keys).union(n.keys).sorted().flatMap { diff(o[$0], n[$0], path: "\(path).\($0)") }
        case (.array(let o)?, .array(let n)?) where o.count == n.count:
            return zip(o, n).enumerated().flatMap { diff($1.0, $1.1, path: "\(path)[\($0)]") }
        case (let o?, let n?):
            return o.canonicalText == n.canonicalText ? [] : ["\(path): \(describe(o)) → \(describe(n))"]
        }
    }

    public static func diff(_ old: [String: JSONValue], _ new: [String: JSONValue]) -> [String] {
        diff(.object(old), .object(new))
    }

    /// The lines of `diff` about fields an extension may not change.
    public static func incompatibilities(_ old: [String: JSONValue], _ new: [String: JSONValue]) -> [String] {
        diff(old.filter { !extensible.contains($0.key) }, new.filter { !extensible.contains($0.key) })
    }

    static func describe(_ value: JSONValue) -> String {
        let text = value.canonicalText
        return text.count > 60 ? String(text.prefix(57)) + "…" : text
    }
}

/// A trial's identity by content: SHA-256 of the canonical JSON of everything its training outcome
/// depends on — the cache (backbone, data, preprocessing), the splits it trains and is scored on, its
/// method and every hyperparameter, the epochs, the sweep seed and its seed index. Equal keys are the
/// same trial wherever and whenever it is planned, so a resumed or extended sweep finds it done.
public struct TrialKey {
    public let hex: String

    /// `context`: what the objective adds (side-tuning: `cache_key`, `train` and `eval` splits).
    public init(
        context: [String: JSONValue], method: String, values: [String: ParameterValue],
        epochs: Int, sweepSeed: UInt64, seedIndex: Int
    ) {
        let params = JSONValue.object(
            values.mapValues { v in
                switch v {
                case .number(let x): return .string("\(x)");
                case .text(let s): return .string(s)
                }
            })
        let own: [String: JSONValue] = [
            "method": .string(method), "params": params, "epochs": .int(epochs),
            "sweep_seed": .string(String(sweepSeed)), "seed": .int(seedIndex),
        ]
        let content = JSONValue.object(context.merging(own) { _, trial in trial })
        hex = SHA256.hash(content.canonicalText)
    }

    /// The trial id shown everywhere: "t" and the key's first 10 hex digits.
    public var id: String { "t" + hex.prefix(10) }

    /// The trial's own seed (data order, initialisation): the key's first 64 bits.
    public var seed: UInt64 { UInt64(hex.prefix(16), radix: 16)! }
}

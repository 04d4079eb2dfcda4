import Training
/// The hyperparameters a sweep can set or search, their valid values, defaults and the methods that
/// read them (docs/sweep-spec.md lists the same table).
public struct Hyperparameter {
    public enum Kind: Equatable {
        /// A real number in lower...upper (`lowerOpen`: excluding lower).
        case real(lower: Double, upper: Double, lowerOpen: Bool)
        case integer(minimum: Int)
        case word([String])
    }
    public let name: String
    /// nil: every method.
    public let methods: Set<String>?
    public let kind: Kind
    public let defaultValue: ParameterValue
    let apply: (inout TrialSettings, ParameterValue) -> Void

    /// The largest value of an integer hyperparameter (2²⁰): far above any real batch, rank or head
    /// count, low enough that sizes computed from them cannot overflow.
    public static let integerLimit = 1 << 20

    init(name: String, methods: Set<SideTuningMethod>?, kind: Kind, defaultValue: ParameterValue, apply: @escaping (inout TrialSettings, ParameterValue) -> Void) {
        self.name = name; self.methods = methods.map { Set($0.map(\.rawValue)) }; self.kind = kind
        self.defaultValue = defaultValue; self.apply = apply
    }

    public func applies(to method: String) -> Bool { methods?.contains(method) ?? true }

    /// What is wrong with `value` for this hyperparameter, or nil.
    public func problem(_ value: ParameterValue) -> String? {
        switch (kind, value) {
        case let (.real(lower, upper, lowerOpen), .number(x)):
            if x < lower || (lowerOpen && x == lower) || x > upper || !x.isFinite {
                let low = lowerOpen ? "> \(ParameterValue.number(lower))" : ">= \(ParameterValue.number(lower))"
                return upper.isInfinite ? "must be \(low), got \(value)" : "must be \(low) and <= \(ParameterValue.number(upper)), got \(value)"
            }
        case let (.integer(minimum), .number(x)):
            if x != x.rounded() { return "must be an integer, got \(value)" }
            if x < Double(minimum) { return "must be at least \(minimum), got \(value)" }
            if x > Double(Self.integerLimit) { return "must be at most \(Self.integerLimit), got \(value)" }
        case let (.word(words), .text(s)):
            if !words.contains(s) { return "must be one of \(words.joined(separator: ", ")), got '\(s)'" }
        case (.word(let words), .number):
            return "must be one of \(words.joined(separator: ", ")), got \(value)"
        case (_, .text(let s)):
            return "must be a number, got '\(s)'"
        }
        return nil
    }

    public static let all: [Hyperparameter] = [
        .init(name: "lr", methods: nil, kind: .real(lower: 0, upper: 10, lowerOpen: true), defaultValue: .number(1e-3)) { $0.learningRate = Float($1.number!) },
        .init(name: "weight_decay", methods: nil, kind: .real(lower: 0, upper: 10, lowerOpen: false), defaultValue: .number(1e-4)) { $0.weightDecay = Float($1.number!) },
        .init(name: "batch_size", methods: nil, kind: .integer(minimum: 1), defaultValue: .number(64)) { $0.batchSize = Int($1.number!) },
        .init(name: "warmup", methods: nil, kind: .real(lower: 0, upper: 0.99, lowerOpen: false), defaultValue: .number(0.1)) { $0.warmupFraction = Float($1.number!) },
        .init(name: "decay", methods: nil, kind: .word(["cosine", "linear", "constant"]), defaultValue: .text("cosine")) { if case .text(let s) = $1 { $0.decay = s } },
        .init(name: "lr_floor", methods: nil, kind: .real(lower: 0, upper: 10, lowerOpen: false), defaultValue: .number(0)) { $0.lrFloor = Float($1.number!) },
        .init(name: "label_smoothing", methods: nil, kind: .real(lower: 0, upper: 0.99, lowerOpen: false), defaultValue: .number(0)) { $0.labelSmoothing = Float($1.number!) },
        .init(name: "gradient_clip", methods: nil, kind: .real(lower: 0, upper: .infinity, lowerOpen: false), defaultValue: .number(0)) {
            $0.gradientClip = $1.number! > 0 ? Float($1.number!) : nil   // 0: no clipping
        },
        .init(name: "rank", methods: [.last], kind: .integer(minimum: 1), defaultValue: .number(32)) { $0.rank = Int($1.number!) },
        .init(name: "heads", methods: [.last], kind: .integer(minimum: 1), defaultValue: .number(1)) { $0.heads = Int($1.number!) },
        .init(name: "gap", methods: [.last], kind: .integer(minimum: 1), defaultValue: .number(1)) { $0.gap = Int($1.number!) },
        .init(name: "modules_per_group", methods: [.last], kind: .integer(minimum: 1), defaultValue: .number(1)) { $0.modulesPerGroup = Int($1.number!) },
        .init(name: "bottleneck", methods: [.adapter], kind: .integer(minimum: 1), defaultValue: .number(32)) { $0.bottleneck = Int($1.number!) },
        .init(name: "reduction", methods: [.lst], kind: .integer(minimum: 1), defaultValue: .number(8)) { $0.reduction = Int($1.number!) },
        .init(name: "lst_init", methods: [.lst], kind: .word(["random", "pruned"]), defaultValue: .text("random")) { if case .text(let s) = $1 { $0.lstInit = s } },
    ]

    public static func named(_ name: String) -> Hyperparameter? { all.first { $0.name == name } }

    public static let methods = SideTuningMethod.names

    /// Trial settings for `method` with `values` (absent ones keep their defaults). `method` is one
    /// of `methods`: the spec reader checks the names, and the journal holds only trials it planned.
    public static func settings(method: String, values: [String: ParameterValue], epochs: Int, seed: UInt64) -> TrialSettings {
        guard let known = SideTuningMethod(rawValue: method) else { preconditionFailure("unknown method '\(method)' reached the trainer") }
        var settings = TrialSettings(method: known)
        for parameter in all where parameter.applies(to: method) {
            parameter.apply(&settings, values[parameter.name] ?? parameter.defaultValue)
        }
        settings.epochs = epochs
        settings.seed = seed
        return settings
    }
}

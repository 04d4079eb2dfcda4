import Foundation

/// A hyperparameter a sweep can set or search: its valid values, default and the methods that read
/// it. The objective declares them (its `SearchCatalogue`); the sweep only parses, samples and lists.
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
    /// Methods whose default is not `defaultValue` (a choice measured per method).
    public let methodDefaults: [String: ParameterValue]
    /// For a hyperparameter added after sweeps had run without it: the value their trials had (the
    /// behaviour of that time, which a changed default must not rewrite). nil: it always existed.
    public let valueBeforeItExisted: ParameterValue?
    /// What a trial recorded without this hyperparameter had (a journal or leaderboard lacking it).
    public var absentValue: ParameterValue { valueBeforeItExisted ?? defaultValue }
    /// Whether sweeps ran before it existed. At `absentValue` it is then left out of trial keys: such
    /// a trial trains as every trial did then, so it keeps the key it had then.
    public var addedLater: Bool { valueBeforeItExisted != nil }

    /// The largest value of an integer hyperparameter (2²⁰): far above any real batch, rank or head
    /// count, low enough that sizes computed from them cannot overflow.
    public static let integerLimit = 1 << 20

    public init(
        name: String, methods: Set<String>?, kind: Kind, defaultValue: ParameterValue,
        methodDefaults: [String: ParameterValue] = [:], absentValue: ParameterValue? = nil
    ) {
        self.name = name; self.methods = methods; self.kind = kind; self.defaultValue = defaultValue
        self.methodDefaults = methodDefaults
        valueBeforeItExisted = absentValue
    }

    /// What a sweep that does not set this hyperparameter gives `method`.
    public func defaultValue(for method: String) -> ParameterValue { methodDefaults[method] ?? defaultValue }

    public func applies(to method: String) -> Bool { methods?.contains(method) ?? true }

    /// What is wrong with `value` for this hyperparameter, or nil.
    public func problem(_ value: ParameterValue) -> String? {
        switch (kind, value) {
        case let (.real(lower, upper, lowerOpen), .number(x)):
            if x < lower || (lowerOpen && x == lower) || x > upper || !x.isFinite {
                let low = lowerOpen ? "> \(ParameterValue.number(lower))" : ">= \(ParameterValue.number(lower))"
                return upper.isInfinite
                    ? "must be \(low), got \(value)"
                    : "must be \(low) and <= \(ParameterValue.number(upper)), got \(value)"
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
}

/// What an objective lets a sweep search: its methods and their hyperparameters (in leaderboard
/// column order).
public struct SearchCatalogue {
    public let methods: [String]
    public let hyperparameters: [Hyperparameter]
    /// Each method's colour in charts (reports), as the objective chose it.
    public let colors: [String: String]

    public init(methods: [String], hyperparameters: [Hyperparameter], colors: [String: String] = [:]) {
        self.methods = methods; self.hyperparameters = hyperparameters; self.colors = colors
    }

    public func color(of method: String) -> String { colors[method] ?? "#444" }

    public var names: [String] { hyperparameters.map(\.name) }
    public func named(_ name: String) -> Hyperparameter? { hyperparameters.first { $0.name == name } }
}

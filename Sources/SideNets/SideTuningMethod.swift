import Backbone
import Essentials
import Numerics

/// A side-tuning method: everything the rest of hpsweep knows of it, declared next to its network.
/// Sweeps, settings files, costs, reports and benchmarks read methods only through this protocol and
/// the registry (`SideTuningMethods.all`), so a new method is its own file and one registry line
/// (docs/adding-a-method.md).
public protocol SideTuningMethod: SideNetwork {
    /// The name sweep files, journals, checkpoints and model files use.
    static var methodName: String { get }
    /// The method's colour in reports (an index into the charts' palette).
    static var chartColor: Int { get }
    /// The method's own hyperparameters, in leaderboard column order.
    static var hyperparameters: [MethodHyperparameter] { get }
    /// The default of the shared `init` hyperparameter for this method (chosen by measurement).
    static var defaultInitRule: InitRule { get }
    /// Whether the shared `norm_affine` hyperparameter applies (the method has a head LayerNorm).
    static var hasHeadNorm: Bool { get }
    /// What keeps `values` from building a network on `backbone`, or nil: the check its initialiser enforces.
    static func problem(_ values: MethodValues, backbone: BackboneShape) -> String?
    /// The network of `values` (after `problem` is nil).
    static func makeNetwork(_ values: MethodValues, backbone: BackboneShape, classes: Int, shared: SharedOptions)
        -> Self
    /// Whether `values` start from the backbone's weights (a random backbone has none).
    static func needsBackboneWeights(_ values: MethodValues) -> Bool
    /// Writes the starting parameters: `initialize(_:rng:)` unless the method starts from the backbone.
    func initialize(
        _ parameters: UnsafeMutablePointer<Float>, values: MethodValues, backbone: ViTParameters?, rng: inout SeededRNG)
}

extension SideTuningMethod {
    public var name: String { Self.methodName }
    public static var hasHeadNorm: Bool { true }
    public static func needsBackboneWeights(_ values: MethodValues) -> Bool { false }
    public func initialize(
        _ parameters: UnsafeMutablePointer<Float>, values: MethodValues, backbone: ViTParameters?, rng: inout SeededRNG
    ) {
        initialize(parameters, rng: &rng)
    }
    /// The method's hyperparameters at their defaults.
    public static var defaults: MethodValues {
        var values = MethodValues()
        for parameter in hyperparameters { values[parameter.name] = parameter.defaultValue }
        return values
    }
}

/// The methods hpsweep knows. Their order is the leaderboard's order of their hyperparameter columns.
public enum SideTuningMethods {
    public static let all: [any SideTuningMethod.Type] = [
        LowRankAttentionSideTuning.self,
        SideAdapters.self,
        LadderSideTuning.self,
        LinearProbe.self,
    ]

    /// Every method's name, sorted.
    public static var names: [String] { all.map { $0.methodName }.sorted() }

    public static func named(_ name: String) -> (any SideTuningMethod.Type)? { all.first { $0.methodName == name } }
}

/// A backbone's shape as a side network sees it.
public struct BackboneShape: Equatable, Sendable {
    public let width: Int, depth: Int, heads: Int
    public init(width: Int, depth: Int, heads: Int) { self.width = width; self.depth = depth; self.heads = heads }
}

/// The options every method's network takes besides its own values: the `init`, `norm_affine` and
/// `compute` hyperparameters.
public struct SharedOptions: Sendable {
    public let rule: InitRule, normAffine: Bool, compute: ComputePrecision
    public init(rule: InitRule, normAffine: Bool, compute: ComputePrecision) {
        self.rule = rule; self.normAffine = normAffine; self.compute = compute
    }
}

/// One of a method's own hyperparameters.
public struct MethodHyperparameter: Sendable {
    public enum Kind: Equatable, Sendable {
        case integer(minimum: Int)
        case word([String])
        /// A list of integers: settings files only (sweeps have no syntax for lists).
        case integers
    }
    /// Where the leaderboard puts its column: with the other sizes (after the optimisation recipe) or
    /// with the initialisation columns (after `init` and `norm_affine`).
    public enum Group: Sendable { case size, initialization }

    /// Its name in sweep files, journals and leaderboards.
    public let name: String
    /// What it sets, in a phrase (help texts).
    public let help: String
    /// Its key in the settings JSON of checkpoints and model files.
    public let settingsKey: String
    public let kind: Kind
    /// nil: absent unless given (a `.integers` value).
    public let defaultValue: MethodValue?
    public let group: Group
    /// For one added after sweeps ran without it: what their trials had.
    public let valueBeforeItExisted: MethodValue?

    public init(
        _ name: String, settingsKey: String? = nil, kind: Kind, defaultValue: MethodValue?, group: Group = .size,
        valueBeforeItExisted: MethodValue? = nil, help: String
    ) {
        self.name = name; self.help = help; self.settingsKey = settingsKey ?? name; self.kind = kind
        self.defaultValue = defaultValue; self.group = group; self.valueBeforeItExisted = valueBeforeItExisted
    }

    /// Whether `value` is of this hyperparameter's kind (ranges are the sweep reader's to check).
    public func accepts(_ value: MethodValue) -> Bool {
        switch (kind, value) {
        case (.integer, .int), (.integers, .ints): return true
        case (.word(let words), .word(let word)): return words.contains(word)
        default: return false
        }
    }
}

/// A value of a method's own hyperparameter.
public enum MethodValue: Hashable, Sendable, CustomStringConvertible, ExpressibleByIntegerLiteral,
    ExpressibleByStringLiteral, ExpressibleByArrayLiteral
{
    case int(Int)
    case word(String)
    case ints([Int])

    public init(integerLiteral value: Int) { self = .int(value) }
    public init(stringLiteral value: String) { self = .word(value) }
    public init(arrayLiteral elements: Int...) { self = .ints(elements) }

    public var description: String {
        switch self {
        case .int(let i): "\(i)"
        case .word(let w): w
        case .ints(let list): "\(list)"
        }
    }
}

/// A method's own values by hyperparameter name.
public struct MethodValues: Hashable, Sendable, CustomStringConvertible {
    private var byName: [String: MethodValue] = [:]
    public init() {}
    public subscript(_ name: String) -> MethodValue? {
        get { byName[name] }
        set { byName[name] = newValue }
    }
    /// An integer value the method declares with a default (a missing one is a programming error).
    public func int(_ name: String) -> Int {
        guard case .int(let i) = byName[name] else { preconditionFailure("no integer '\(name)' in \(byName)") }
        return i
    }
    public func word(_ name: String) -> String {
        guard case .word(let w) = byName[name] else { preconditionFailure("no word '\(name)' in \(byName)") }
        return w
    }
    /// "lst_init pruned, reduction 8".
    public var description: String {
        byName.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
    }
    public func ints(_ name: String) -> [Int]? {
        guard case .ints(let list) = byName[name] else { return nil }
        return list
    }
}

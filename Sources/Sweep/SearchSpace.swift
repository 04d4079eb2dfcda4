import Foundation

/// A hyperparameter value: a number or a word (`lst_init`, `decay`).
public enum ParameterValue: Equatable, Hashable, Codable, CustomStringConvertible, Sendable {
    case number(Double)
    case text(String)

    public var description: String {
        switch self {
        case .number(let x): return x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : "\(x)"
        case .text(let s): return s
        }
    }
    public var number: Double? { if case .number(let x) = self { return x }; return nil }

    /// The largest magnitude a number read from a file may have (10¹⁵, far above any hyperparameter's
    /// range), so that no count, index or chart axis computed from one can overflow.
    public static let magnitudeLimit = 1e15

    /// Reads a value from a journal or checkpoint: a number must be finite and within `magnitudeLimit`
    /// (a journal writes NaN as the string "nan", which its decoder turns back into a number).
    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        guard let x = try? c.decode(Double.self) else {
            self = .text(try c.decode(String.self))
            return
        }
        guard x.isFinite, abs(x) <= Self.magnitudeLimit else {
            throw DecodingError.dataCorruptedError(
                in: c, debugDescription: "\(x) is not a finite number of magnitude at most 1e15")
        }
        self = .number(x)
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .number(let x): try c.encode(x);
        case .text(let s): try c.encode(s)
        }
    }
}

/// Where one hyperparameter's values come from (docs/sweep-spec.md).
public enum Domain: Equatable {
    case fixed(ParameterValue)
    /// Unordered alternatives; samplers pick among them, the grid enumerates them.
    case choice([ParameterValue])
    /// Values to enumerate in a grid (a choice to the other samplers).
    case grid([ParameterValue])
    case uniform(Double, Double)
    case logUniform(Double, Double)
    /// Integers lo...hi inclusive (uniform, or log-uniform when `log`).
    case integer(Int, Int, log: Bool)

    /// The values a grid enumerates, or nil for a continuous domain.
    public var gridValues: [ParameterValue]? {
        switch self {
        case .fixed(let v): return [v]
        case .choice(let vs), .grid(let vs): return vs
        case let .integer(lo, hi, _): return hi - lo < 10_000 ? (lo...hi).map { .number(Double($0)) } : nil
        case .uniform, .logUniform: return nil
        }
    }

    /// Whether samplers have anything to choose (a fixed value takes no dimension).
    public var isSearched: Bool { if case .fixed = self { return false }; return true }

    /// The value at `u` in [0, 1): the inverse CDF of the domain's sampling distribution.
    public func value(at u: Double) -> ParameterValue {
        let u = u.isNaN ? 0.5 : min(max(u, 0), 0.999_999_999_999)
        switch self {
        case .fixed(let v): return v
        case .choice(let vs), .grid(let vs): return vs[min(vs.count - 1, Int(u * Double(vs.count)))]
        case let .uniform(lo, hi): return .number(lo + u * (hi - lo))
        case let .logUniform(lo, hi): return .number(exp(log(lo) + u * (log(hi) - log(lo))))
        case let .integer(lo, hi, logScale):
            if logScale {
                let x = exp(log(Double(lo)) + u * (log(Double(hi) + 1) - log(Double(lo))))
                return .number(Double(min(hi, max(lo, Int(x.rounded(.down))))))
            }
            return .number(Double(lo + min(hi - lo, Int(u * Double(hi - lo + 1)))))
        }
    }

    /// The position in [0, 1] of a value (inverse of `value(at:)`, to the centre of discrete cells);
    /// model-based samplers fit densities in this space.
    /// A value outside the domain (an earlier revision's wider range) may lie outside [0, 1]; one the
    /// scale cannot place (zero or negative on a log scale, an edited journal's) is put at the low end.
    public func position(of value: ParameterValue) -> Double {
        let p = unclampedPosition(of: value)
        return p.isFinite ? p : p == .infinity ? 1 : 0
    }

    private func unclampedPosition(of value: ParameterValue) -> Double {
        switch self {
        case .fixed: return 0.5
        case .choice(let vs), .grid(let vs):
            let i = vs.firstIndex(of: value) ?? 0
            return (Double(i) + 0.5) / Double(vs.count)
        case let .uniform(lo, hi): return ((value.number ?? lo) - lo) / max(hi - lo, .leastNonzeroMagnitude)
        case let .logUniform(lo, hi):
            return (log(value.number ?? lo) - log(lo)) / max(log(hi) - log(lo), .leastNonzeroMagnitude)
        case let .integer(lo, hi, logScale):
            let x = value.number ?? Double(lo)
            if logScale { return (log(x + 0.5) - log(Double(lo))) / (log(Double(hi) + 1) - log(Double(lo))) }
            return (x - Double(lo) + 0.5) / Double(hi - lo + 1)
        }
    }

    /// Whether the domain is unordered (densities over it are frequencies, not kernels).
    public var isCategorical: Bool {
        switch self {
        case .choice, .grid: return true;
        default: return false
        }
    }
}

/// One method's search space: every hyperparameter it trains with, fixed or searched, in a stable order.
public struct MethodSpace: Equatable {
    public var method: String
    public var parameters: [(name: String, domain: Domain)]

    public static func == (a: MethodSpace, b: MethodSpace) -> Bool {
        a.method == b.method && a.parameters.map(\.name) == b.parameters.map(\.name)
            && a.parameters.map(\.domain) == b.parameters.map(\.domain)
    }

    /// The searched dimensions (those samplers choose).
    public var searched: [(name: String, domain: Domain)] { parameters.filter { $0.domain.isSearched } }

    /// A configuration from a point of the unit cube over the searched dimensions.
    public func configuration(at point: [Double]) -> [String: ParameterValue] {
        var values: [String: ParameterValue] = [:]
        var k = 0
        for (name, domain) in parameters {
            if domain.isSearched {
                values[name] = domain.value(at: point[k]); k += 1
            } else {
                values[name] = domain.value(at: 0)
            }
        }
        return values
    }

    /// Every grid configuration, the first parameter varying slowest; nil if a dimension is continuous.
    public var grid: [[String: ParameterValue]]? {
        var dimensions: [(name: String, values: [ParameterValue])] = []
        for (name, domain) in parameters {
            guard let values = domain.gridValues else { return nil }
            dimensions.append((name, values))
        }
        return cartesianProduct(dimensions)
    }
}

/// Every combination of the dimensions' values, the first dimension varying slowest. With `limit`,
/// the product stops growing once it holds more than `limit` combinations (the dimensions not yet
/// reached are left out of them) and its first `limit` are returned.
public func cartesianProduct(_ dimensions: [(name: String, values: [ParameterValue])], limit: Int = .max) -> [[String:
    ParameterValue]]
{
    var combinations: [[String: ParameterValue]] = [[:]]
    for (name, values) in dimensions {
        combinations = combinations.flatMap { c in
            values.map { v in
                var n = c; n[name] = v; return n
            }
        }
        if combinations.count > limit { break }
    }
    return Array(combinations.prefix(limit))
}

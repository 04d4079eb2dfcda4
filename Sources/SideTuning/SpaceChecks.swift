import Essentials
import Foundation
import Sweep
import Training

// What a side-tuning search must satisfy beyond its syntax: every combination builds a network.
extension SearchSpec {
    /// Refuses spaces with a combination no network can be built from, before any work: every
    /// combination of each dimension's values (a continuous range's two ends) is tried.
    public func checkCombinations(_ top: SpecReader, backbone: (width: Int, depth: Int, heads: Int, hasWeights: Bool))
        throws
    {
        for space in methods {
            let dimensions = space.parameters.map { name, domain -> (name: String, values: [ParameterValue]) in
                switch domain {
                case let .uniform(lo, hi), let .logUniform(lo, hi): return (name, [.number(lo), .number(hi)])
                case let .integer(lo, hi, _):
                    return (
                        name,
                        hi - lo < 64
                            ? (lo...hi).map { .number(Double($0)) } : [.number(Double(lo)), .number(Double(hi))]
                    )
                default: return (name, domain.gridValues!)
                }
            }
            for values in cartesianProduct(dimensions, limit: 20_000) {
                let settings = SideTuningCatalogue.settings(
                    method: space.method, values: values, epochs: epochs, seed: 0)
                if let problem = settings.problem(
                    width: backbone.width, depth: backbone.depth, backboneHeads: backbone.heads)
                {
                    let which = space.searched.map { "\($0.name) \(values[$0.name]!)" }.joined(separator: ", ")
                    throw top.fail(
                        top.has("methods") ? "methods" : "method",
                        "impossible combination for \(space.method)\(which.isEmpty ? "" : " (\(which))"): \(problem)")
                }
                if let problem = settings.effectiveCompute.unavailability {
                    throw top.fail(top.has("methods") ? "methods" : "method", "\(space.method): \(problem)")
                }
                if settings.needsBackboneWeights && !backbone.hasWeights {
                    throw top.fail(
                        top.has("methods") ? "methods" : "method",
                        "\(space.method) with \(settings.values) needs backbone weights; a random backbone has none")
                }
            }
        }
    }
}

import Essentials
import Foundation

/// One configuration to train: a method and a value for each of its hyperparameters.
public struct Proposal: Hashable {
    public let method: String
    public let values: [String: ParameterValue]
}

/// A finished or pruned trial as the model-based sampler sees it.
public struct Observation {
    public let method: String
    public let values: [String: ParameterValue]
    /// Objective values, oriented so that smaller is better.
    public let objectives: [Double]
    /// Pruned trials rank below every completed one.
    public let completed: Bool
    public init(method: String, values: [String: ParameterValue], objectives: [Double], completed: Bool) {
        self.method = method; self.values = values; self.objectives = objectives; self.completed = completed
    }
}

/// Proposes the configurations of each generation. Configuration k (over the whole sweep) uses method
/// k mod M (methods in name order) except for the grid, which lists each method's grid in turn. Every
/// proposal is a function of the sweep seed, k and the observations of earlier generations alone, so a
/// resumed sweep proposes exactly what an uninterrupted one would.
public struct Sampler {
    public let search: SearchSpec
    private let grid: [Proposal]

    public init(_ search: SearchSpec) {
        self.search = search
        grid =
            search.sampler.kind == .grid
            ? search.methods.flatMap { space in space.grid!.map { Proposal(method: space.method, values: $0) } } : []
    }

    /// Configuration indices of generation `g`.
    public func indices(generation g: Int) -> Range<Int> {
        let size = search.sampler.generationSize
        return min(g * size, search.trials)..<min((g + 1) * size, search.trials)
    }

    /// Whether generation `g`'s proposals depend on results (TPE past its startup design): if not, it
    /// is proposed at once; if so, from the generations `lag` and more before it.
    public func usesResults(generation g: Int, warmStart: WarmStart?) -> Bool {
        guard search.sampler.kind == .tpe else { return false }
        let enqueued = warmStart?.enqueued.count ?? 0
        let startup = warmStart?.priors.isEmpty == false ? enqueued : search.sampler.startup
        return indices(generation: g).contains { $0 >= max(enqueued, startup) }
    }

    /// `warmStart`: what the sweep took from earlier sweeps. Its enqueued configurations are the first
    /// ones; with priors, TPE models from the first configuration after them (the priors stand in for
    /// the startup design), fitting its densities to the priors and to this sweep's observations, both
    /// as ranks (WarmStart).
    public func propose(generation g: Int, history: [Observation], warmStart: WarmStart? = nil) -> [Proposal] {
        // TPE avoids configurations already tried or proposed (they would be the same trial).
        var taken = Set(history.map { Proposal(method: $0.method, values: $0.values) })
        let enqueued = warmStart?.enqueued ?? []
        var model = history
        var startup = search.sampler.startup
        if let priors = warmStart?.priors, !priors.isEmpty {
            let ranks = WarmStart.rankTransform(history.map(\.objectives))
            model =
                zip(history, ranks).map {
                    Observation(method: $0.method, values: $0.values, objectives: $1, completed: $0.completed)
                }
                + priors.map {
                    Observation(method: $0.method, values: $0.params, objectives: $0.ranks, completed: $0.completed)
                }
            startup = enqueued.count
        }
        return indices(generation: g).map { k in
            let proposal: Proposal
            if k < enqueued.count {
                proposal = Proposal(method: enqueued[k].method, values: enqueued[k].params)
            } else {
                switch search.sampler.kind {
                case .grid: proposal = grid[k]
                case .random: proposal = random(k)
                case .sobol: proposal = sobol(k)
                case .tpe: proposal = k < startup ? sobol(k) : tpe(k, history: model, taken: taken)
                }
            }
            taken.insert(proposal)
            return proposal
        }
    }

    private func space(_ k: Int) -> (MethodSpace, local: Int) {
        (search.methods[k % search.methods.count], k / search.methods.count)
    }

    private func random(_ k: Int) -> Proposal {
        let (space, _) = space(k)
        var rng = SeededRNG(seed: search.seed, stream: 0x5241_4E44_0000 + UInt64(k))
        let point = space.searched.map { _ in Double(rng.next() >> 11) / 9_007_199_254_740_992.0 }
        return Proposal(method: space.method, values: space.configuration(at: point))
    }

    private func sobol(_ k: Int) -> Proposal {
        let (space, local) = space(k)
        let dims = space.searched.count
        guard dims > 0 else { return Proposal(method: space.method, values: space.configuration(at: [])) }
        // Point 0 is the all-low corner; start at 1 (the centre) as Sobol designs usually do.
        return Proposal(
            method: space.method, values: space.configuration(at: SobolSequence(dimensions: dims).point(local + 1)))
    }

    /// Multi-objective TPE (after Ozaki et al., MOTPE): the method's observations are split into the
    /// best quarter by (Pareto front, primary objective) and the rest; each searched dimension gets a
    /// Parzen density for each group (Gaussian kernels in the domain's unit position, categorical
    /// frequencies, both mixed with a uniform prior); of 24 candidates drawn from the good density,
    /// the one maximising l(x)/g(x) is proposed.
    private func tpe(_ k: Int, history: [Observation], taken: Set<Proposal>) -> Proposal {
        let (space, _) = space(k)
        let observed = history.filter { $0.method == space.method }
        guard observed.count >= 2, !space.searched.isEmpty else { return sobol(k) }
        let completed = observed.filter(\.completed)
        let ranks = paretoRanks(completed.map(\.objectives))
        let ordered =
            zip(completed, ranks).sorted { ($0.1, $0.0.objectives[0]) < ($1.1, $1.0.objectives[0]) }.map(\.0)
            + observed.filter { !$0.completed }.sorted { $0.objectives[0] < $1.objectives[0] }
        let goodCount = max(1, Int((0.25 * Double(ordered.count)).rounded(.up)))
        let good = Array(ordered.prefix(goodCount)), bad = Array(ordered.dropFirst(goodCount))
        var rng = SeededRNG(seed: search.seed, stream: 0x5450_4500_0000 + UInt64(k))
        func uniform() -> Double { Double(rng.next() >> 11) / 9_007_199_254_740_992.0 }
        func normal() -> Double { (-2 * log(max(uniform(), 1e-300))).squareRoot() * cos(2 * .pi * uniform()) }

        let dims = space.searched
        var candidates: [(score: Double, point: [Double])] = []
        for _ in 0..<24 {
            var point: [Double] = [], score = 0.0
            for (name, domain) in dims {
                // (A trial an edited journal left without the value sits at the centre.)
                let goodPositions = good.map { $0.values[name].map(domain.position) ?? 0.5 }
                let badPositions = bad.map { $0.values[name].map(domain.position) ?? 0.5 }
                let x: Double
                if domain.isCategorical {
                    let count = domain.gridValues!.count
                    func weights(_ positions: [Double]) -> [Double] {
                        var w = [Double](repeating: 1, count: count)  // the prior: one pseudo-count each
                        for p in positions { w[min(count - 1, Int(p * Double(count)))] += 1 }
                        let total = w.reduce(0, +)
                        return w.map { $0 / total }
                    }
                    let l = weights(goodPositions), g = weights(badPositions)
                    var u = uniform(), chosen = count - 1
                    for c in 0..<count { u -= l[c]; if u < 0 { chosen = c; break } }
                    x = (Double(chosen) + 0.5) / Double(count)
                    score += log(l[chosen]) - log(g[chosen])
                } else {
                    let sigmaGood = Self.bandwidth(goodPositions.count), sigmaBad = Self.bandwidth(badPositions.count)
                    let component = Int(uniform() * Double(goodPositions.count + 1))
                    if component < goodPositions.count {
                        // Reflected at the ends (clamping would pile candidates onto the bounds).
                        var y = goodPositions[component] + sigmaGood * normal()
                        while y < 0 || y >= 1 { y = y < 0 ? -y : 2 - y - 1e-12 }
                        x = min(y, 0.999_999)
                    } else {
                        x = uniform()
                    }
                    score +=
                        log(Self.density(x, goodPositions, sigmaGood)) - log(Self.density(x, badPositions, sigmaBad))
                }
                point.append(x)
            }
            candidates.append((score, point))
        }
        // The best candidate not tried yet (if every one was, the best).
        let ranked = candidates.enumerated().sorted { ($0.element.score, -$0.offset) > ($1.element.score, -$1.offset) }
            .map { Proposal(method: space.method, values: space.configuration(at: $0.element.point)) }
        return ranked.first { !taken.contains($0) } ?? ranked[0]
    }

    static func bandwidth(_ n: Int) -> Double { max(0.05, 0.5 * pow(Double(max(n, 1)), -0.2)) }

    /// Mixture of Gaussians at `centres` and a uniform prior on [0, 1], equally weighted.
    static func density(_ x: Double, _ centres: [Double], _ sigma: Double) -> Double {
        var sum = 1.0
        for c in centres {
            sum += exp(-0.5 * (x - c) * (x - c) / (sigma * sigma)) / (sigma * (2 * Double.pi).squareRoot())
        }
        return sum / Double(centres.count + 1)
    }
}

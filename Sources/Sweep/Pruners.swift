/// One trial as a pruner sees it when its generation reached a rung. Objectives are oriented to be
/// minimised (a maximised metric negated), costs judged by FLOPs rather than seconds.
public struct RungStanding: Equatable {
    public var id: String
    /// Whether it waits at the rung: only paused trials can be stopped (finished ones keep their place).
    public var paused: Bool
    /// The primary objective as the leaderboard measures it (plain halving ranks by it).
    public var primary: Double
    /// Every objective (Pareto-aware halving ranks by front, then by the first objective).
    public var objectives: [Double]
    /// The objectives with its accuracy raised by the largest gain still to come seen in any finished
    /// trial; nil before any trial has finished (nothing is then known to be out of reach).
    public var optimistic: [Double]?

    public init(id: String, paused: Bool, primary: Double, objectives: [Double], optimistic: [Double]? = nil) {
        self.id = id; self.paused = paused; self.primary = primary; self.objectives = objectives;
        self.optimistic = optimistic
    }
}

/// Which trials go on past a rung. The runner asks once every trial of a generation reached the rung,
/// from the journals alone, so the answer must depend only on what it is given.
public protocol Pruner {
    /// The ids of `standings` that continue; `finished` holds the objective vectors of trials that
    /// finished, in any generation (the front a trial must be able to reach).
    func survivors(_ standings: [RungStanding], finished: [[Double]]) -> Set<String>
    /// Whether `finished` (and the standings' optimistic vectors) can change the answer: if so, a
    /// decision waits for the trials that provide them (SweepRunner's reference generations).
    var usesFinishedTrials: Bool { get }
}

/// Successive halving (Jamieson & Talwalkar 2016; Li et al. 2018): the best ⌈n / η⌉ by the primary
/// objective continue, ties broken by trial id.
public struct SuccessiveHalving: Pruner {
    public let reductionFactor: Int
    public init(reductionFactor: Int) { self.reductionFactor = reductionFactor }
    public var usesFinishedTrials: Bool { false }

    public func survivors(_ standings: [RungStanding], finished: [[Double]]) -> Set<String> {
        let ranked = standings.sorted { ($0.primary, $0.id) < ($1.primary, $1.id) }
        return Set(ranked.prefix(keepCount(standings.count, reductionFactor)).map(\.id))
    }
}

/// Successive halving that knows there is more than one objective: a paused trial that could not
/// become non-dominated by the finished trials even with its optimistic accuracy is stopped, and the
/// places (⌈n / η⌉ of all n) go to the rest by Pareto rank, then the first objective, then id.
public struct ParetoAwareHalving: Pruner {
    public let reductionFactor: Int
    public init(reductionFactor: Int) { self.reductionFactor = reductionFactor }
    public var usesFinishedTrials: Bool { true }

    public func survivors(_ standings: [RungStanding], finished: [[Double]]) -> Set<String> {
        let contenders = standings.filter { !isOutOfReach($0, finished: finished) }
        let ranks = paretoRanks(contenders.map(\.objectives))
        let ranked = zip(contenders, ranks).sorted {
            ($0.1, $0.0.objectives[0], $0.0.id) < ($1.1, $1.0.objectives[0], $1.0.id)
        }
        return Set(ranked.prefix(keepCount(standings.count, reductionFactor)).map(\.0.id))
    }

    /// Whether some finished trial dominates even the optimistic version of a paused one.
    func isOutOfReach(_ standing: RungStanding, finished: [[Double]]) -> Bool {
        guard standing.paused, let optimistic = standing.optimistic else { return false }
        return finished.contains { f in zip(f, optimistic).allSatisfy { $0 <= $1 } && f != optimistic }
    }
}

/// ⌈n / η⌉: how many of n continue.
private func keepCount(_ n: Int, _ factor: Int) -> Int { (n + factor - 1) / factor }

extension SearchSpec.EarlyStopping {
    /// The pruner this section describes.
    public var pruner: any Pruner {
        paretoAware
            ? ParetoAwareHalving(reductionFactor: reductionFactor) : SuccessiveHalving(reductionFactor: reductionFactor)
    }
}

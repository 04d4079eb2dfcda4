/// Pareto fronts and hypervolume for minimisation (maximised objectives are negated by the caller).

/// The front each point belongs to: 1 for the non-dominated ones, 2 for those dominated only by
/// front 1, and so on (non-dominated sorting, as in NSGA-II).
public func paretoRanks(_ points: [[Double]]) -> [Int] {
    var ranks = [Int](repeating: 0, count: points.count)
    var remaining = Array(points.indices)
    var rank = 1
    while !remaining.isEmpty {
        let front = remaining.filter { i in !remaining.contains { j in j != i && dominates(points[j], points[i]) } }
        for i in front { ranks[i] = rank }
        remaining.removeAll { ranks[$0] == rank }
        rank += 1
    }
    return ranks
}

/// Whether `a` is no worse than `b` everywhere and better somewhere.
public func dominates(_ a: [Double], _ b: [Double]) -> Bool {
    var better = false
    for (x, y) in zip(a, b) {
        if x > y { return false }
        if x < y { better = true }
    }
    return better
}

/// The volume dominated by `points` and bounded by `reference` (exact, by slicing along the last
/// objective; points not better than the reference in every objective add nothing).
public func hypervolume(_ points: [[Double]], reference: [Double]) -> Double {
    let inside = points.filter { p in zip(p, reference).allSatisfy { $0 < $1 } }
    guard !inside.isEmpty else { return 0 }
    let d = reference.count
    if d == 1 { return reference[0] - inside.map { $0[0] }.min()! }
    let sorted = inside.sorted { $0[d - 1] < $1[d - 1] }
    var volume = 0.0
    for i in sorted.indices {
        let top = i + 1 < sorted.count ? sorted[i + 1][d - 1] : reference[d - 1]
        let height = top - sorted[i][d - 1]
        if height <= 0 { continue }
        volume +=
            height
            * hypervolume(sorted[0...i].map { Array($0.prefix(d - 1)) }, reference: Array(reference.prefix(d - 1)))
    }
    return volume
}

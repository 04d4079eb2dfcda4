/// Did-you-mean suggestions for unknown commands, options, spec fields and values: one rule everywhere.

/// Levenshtein distance.
public func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
    var previous = Array(0...b.count)
    for i in 1...a.count {
        var current = [i] + [Int](repeating: 0, count: b.count)
        for j in 1...b.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return previous[b.count]
}

/// The known name closest to `typed` (ties: the first in sorted order, so the hint never depends on
/// a set's order), when it is a likely typo or spelling of it: at most max(2, a third of the longer
/// one's length) edits away, or one a prefix of the other ("val_accuracy" for "val_acc"). nil
/// otherwise: suggesting a far name misleads more than it helps.
public func nearestName<Names: Sequence>(to typed: String, among names: Names) -> String?
where Names.Element == String {
    let sorted = names.sorted()
    func likely(_ name: String) -> Bool {
        let shorter = min(typed.count, name.count)
        return shorter >= 3 && (typed.hasPrefix(name) || name.hasPrefix(typed))
    }
    if let spelled = sorted.first(where: likely) { return spelled }
    let scored = sorted.map { ($0, editDistance(typed, $0)) }
    guard let (best, distance) = scored.min(by: { $0.1 < $1.1 }), distance <= max(2, max(typed.count, best.count) / 3)
    else { return nil }
    return best
}

/// "; did you mean 'x'?" with `prefix` before the name (e.g. "--"), or "" when no known name is near.
public func didYouMean<Names: Sequence>(_ typed: String, among names: Names, prefix: String = "") -> String
where Names.Element == String {
    nearestName(to: typed, among: names).map { "; did you mean '\(prefix)\($0)'?" } ?? ""
}

import Essentials
import Foundation

/// Where a sweep's `warm_start` comes from (docs/sweep-spec.md): earlier sweeps' results directories,
/// or, in a suite, the tasks before this one.
public enum WarmStartSource: Equatable {
    case sweeps([String])
    case previousTasks
}

/// What a sweep learned from earlier sweeps before it began, journaled once (a `warm_start` line) so
/// that a resumed sweep, or another worker, proposes from exactly the same knowledge even though the
/// earlier sweeps may have gone on since.
///
/// - `enqueued`: the best configuration of each method in each earlier sweep (by the primary
///   objective, finished trials first), as it fits this sweep's space, best-ranked first and at most
///   one generation of them; they are its first trials.
/// - `priors`: every scored trial of the earlier sweeps whose configuration lies in this sweep's
///   space, with objectives replaced by their rank within their own sweep (0 best … 1 worst): tasks
///   differ in scale (60% may be good on one and poor on another), ranks do not. TPE fits its
///   densities to these and to this sweep's own observations, ranked the same way.
public struct WarmStart: Codable, Equatable {
    public struct Configuration: Codable, Equatable {
        public var method: String
        public var params: [String: ParameterValue]
    }
    public struct Prior: Codable, Equatable {
        public var method: String
        public var params: [String: ParameterValue]
        /// This sweep's objectives, ranked within the earlier sweep (0 best, 1 worst).
        public var ranks: [Double]
        public var completed: Bool
    }
    /// The earlier sweeps' directories, as read.
    public var sources: [String]
    public var enqueued: [Configuration]
    public var priors: [Prior]

    public init(sources: [String] = [], enqueued: [Configuration] = [], priors: [Prior] = []) {
        self.sources = sources; self.enqueued = enqueued; self.priors = priors
    }

    /// Reads the earlier sweeps in `directories` (their journals; nothing there is written) and keeps
    /// what fits `search`: its methods, and values inside its domains.
    public static func gather(from directories: [String], for search: SearchSpec) throws -> WarmStart {
        var warm = WarmStart(sources: directories)
        var candidates: [(rank: Double, order: Int, configuration: Configuration)] = []
        for directory in directories {
            guard !Journal.files(in: directory).isEmpty else {
                throw JournalError(
                    path: directory, line: nil,
                    message: "warm_start: not a sweep's results directory (no journal.jsonl)")
            }
            let state = SweepState(try JournalFollower(directory: directory).newEvents())
            let scored = state.records.filter {
                [.finished, .pruned, .rejected].contains($0.status) && $0.result != nil
            }
            let ranks = rankTransform(scored.map { objectiveVector($0, search.objectives, forSampler: true) })
            for space in search.methods {
                var fitting: [(record: TrialRecord, ranks: [Double], params: [String: ParameterValue])] = []
                for (record, rank) in zip(scored, ranks) where record.method == space.method {
                    if let params = space.fitting(record.values) { fitting.append((record, rank, params)) }
                }
                warm.priors += fitting.map {
                    Prior(
                        method: space.method, params: $0.params, ranks: $0.ranks,
                        completed: $0.record.status == .finished)
                }
                // The best by the primary objective, finished trials before pruned ones.
                let best = fitting.min {
                    ($0.record.status == .finished ? 0 : 1, $0.ranks[0], $0.record.id) < (
                        $1.record.status == .finished ? 0 : 1, $1.ranks[0], $1.record.id
                    )
                }
                if let best {
                    candidates.append(
                        (best.ranks[0], candidates.count, Configuration(method: space.method, params: best.params)))
                }
            }
        }
        for candidate in candidates.sorted(by: { ($0.rank, $0.order) < ($1.rank, $1.order) })
        where !warm.enqueued.contains(candidate.configuration) {
            warm.enqueued.append(candidate.configuration)
        }
        warm.enqueued = Array(warm.enqueued.prefix(min(search.trials, search.sampler.generationSize)))
        return warm
    }

    /// Each column of `vectors` replaced by its rank (0 for the smallest … 1 for the largest; ties share
    /// their mean rank; a lone value is 0.5).
    public static func rankTransform(_ vectors: [[Double]]) -> [[Double]] {
        guard let width = vectors.first?.count else { return [] }
        var out = vectors
        let n = vectors.count
        for j in 0..<width {
            // Sorted once (a sweep may have 100 000 trials): each run of equal values shares its mean position.
            let order = vectors.indices.sorted { vectors[$0][j] < vectors[$1][j] }
            var start = 0
            while start < n {
                var end = start
                while end + 1 < n && vectors[order[end + 1]][j] == vectors[order[start]][j] { end += 1 }
                let rank = n == 1 ? 0.5 : (Double(start + end) / 2) / Double(n - 1)
                for k in start...end { out[order[k]][j] = rank }
                start = end + 1
            }
        }
        return out
    }
}

extension Domain {
    /// Whether `value` is one this domain can give.
    public func contains(_ value: ParameterValue) -> Bool {
        switch self {
        case .fixed(let v): return v == value
        case .choice(let vs), .grid(let vs): return vs.contains(value)
        case let .uniform(lo, hi), let .logUniform(lo, hi): return value.number.map { $0 >= lo && $0 <= hi } ?? false
        case let .integer(lo, hi, _):
            return value.number.map { $0 == $0.rounded() && $0 >= Double(lo) && $0 <= Double(hi) } ?? false
        }
    }
}

extension MethodSpace {
    /// `values` as a configuration of this space: its searched values where each lies in its domain,
    /// with this space's fixed values; nil when a searched value is missing or outside.
    public func fitting(_ values: [String: ParameterValue]) -> [String: ParameterValue]? {
        var configuration: [String: ParameterValue] = [:]
        for (name, domain) in parameters {
            if domain.isSearched {
                guard let value = values[name], domain.contains(value) else { return nil }
                configuration[name] = value
            } else {
                configuration[name] = domain.value(at: 0)
            }
        }
        return configuration
    }
}

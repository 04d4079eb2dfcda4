import Essentials
import Foundation

/// The leaderboard of a sweep, rebuilt from its journal (docs/formats.md): one row per trial, every
/// hyperparameter and metric in a fixed column order, sorted by the primary objective.
public struct Leaderboard {
    public let objectives: [SearchSpec.Objective]
    public let rows: [TrialRecord]
    /// Pareto front of each finished trial over all objectives (1 = non-dominated).
    public let paretoRank: [String: Int]
    /// Hypervolume of the first front in normalised objective space (see `normalised`).
    public let hypervolume: Double

    public static let metricColumns = [
        "val_acc", "val_loss", "best_epoch", "params", "flops", "peak_memory", "train_seconds",
        "test_acc", "test_loss",
    ]
    /// Where each row came from.
    public static let provenanceColumns = [
        "trial_key", "attempts", "cache_key", "hpsweep_version", "host", "cpu", "blas", "start_time", "end_time",
    ]
    /// The cache key of the sweep (the same for every row).
    public var cacheKey: String?

    /// The hyperparameters the rows have columns for (the objective's catalogue).
    public let catalogue: SearchCatalogue

    /// A leaderboard's columns, its hyperparameters in the catalogue's order.
    public static func columns(_ catalogue: SearchCatalogue) -> [String] {
        let identity = ["trial", "method", "status", "generation", "config", "seed", "epochs_run"]
        let trailing = ["pareto_rank", "model_file"] + provenanceColumns
        return identity + catalogue.names + metricColumns + trailing
    }

    public var columns: [String] { Self.columns(catalogue) }

    public init(state: SweepState, objectives: [SearchSpec.Objective], catalogue: SearchCatalogue) {
        self.objectives = objectives
        self.catalogue = catalogue
        cacheKey = state.cacheKey
        let finished = state.records.filter { $0.status == .finished }
        let points = finished.map { objectiveVector($0, objectives) }
        let ranks = paretoRanks(points)
        paretoRank = Dictionary(uniqueKeysWithValues: zip(finished.map(\.id), ranks))
        let front = zip(points, ranks).filter { $0.1 == 1 }.map(\.0)
        let (normalisedFront, reference) = Self.normalised(front, all: points, objectives: objectives)
        hypervolume = hypervolumeOf(normalisedFront, reference)
        let statusOrder: [TrialRecord.Status] = [.finished, .pruned, .paused, .diverged, .failed, .rejected, .planned]
        rows = state.records.sorted { a, b in
            let sa = statusOrder.firstIndex(of: a.status) ?? statusOrder.count,
                sb = statusOrder.firstIndex(of: b.status) ?? statusOrder.count
            if sa != sb { return sa < sb }
            let va = objectiveVector(a, [objectives[0]])[0], vb = objectiveVector(b, [objectives[0]])[0]
            return (va, a.id) < (vb, b.id)
        }
    }

    /// The reference point of the hypervolume: each objective is scaled so the reference is 0 for
    /// accuracy (maximised; the front's points are -accuracy) and 1 for a minimised metric divided by
    /// 1.1 × its largest value among finished trials.
    static func normalised(_ front: [[Double]], all: [[Double]], objectives: [SearchSpec.Objective]) -> (
        [[Double]], [Double]
    ) {
        var scales: [Double] = [], reference: [Double] = []
        for (j, objective) in objectives.enumerated() {
            if objective.direction == .maximize {
                scales.append(1); reference.append(0)
            } else {
                let worst = all.map { $0[j] }.filter(\.isFinite).max() ?? 1
                scales.append(worst > 0 ? 1 / (1.1 * worst) : 1); reference.append(1)
            }
        }
        return (front.map { p in zip(p, scales).map { $0 * $1 } }, reference)
    }

    public func cell(_ record: TrialRecord, _ column: String) -> String {
        let r = record.result
        func number(_ x: Double?) -> String { x.map { $0.isNaN ? "nan" : String($0) } ?? "" }
        func float(_ x: Float?) -> String { x.map { $0.isNaN ? "nan" : "\($0)" } ?? "" }
        switch column {
        case "trial": return record.id
        case "method": return record.method
        case "status": return record.status.rawValue
        case "generation": return String(record.generation + 1)  // counted from 1, as run and validate print it
        case "config": return String(record.config)
        case "seed": return String(record.seed)
        case "epochs_run": return String(record.epochsDone)
        case "val_acc": return float(r?.bestValAccuracy)
        case "val_loss": return float(r?.finalValLoss)
        case "best_epoch": return r.map { String($0.bestEpoch) } ?? ""
        case "params": return r.map { String($0.trainableParameters) } ?? ""
        case "flops": return number(r?.trainingFLOPs)
        case "peak_memory": return r.map { String($0.workingMemoryBytes) } ?? ""
        case "train_seconds": return r.map { String(format: "%.3f", $0.trainSeconds) } ?? ""
        case "test_acc": return float(record.testAccuracy)
        case "test_loss": return float(record.testLoss)
        case "pareto_rank": return paretoRank[record.id].map(String.init) ?? ""
        case "model_file": return record.modelFile ?? ""
        case "trial_key": return record.key
        case "attempts": return record.starts > 0 ? String(record.attempts) : ""
        case "cache_key": return cacheKey ?? ""
        case "hpsweep_version": return record.version ?? ""
        case "host": return record.host ?? ""
        case "cpu": return record.cpu ?? ""
        case "blas": return record.blas ?? ""
        case "start_time": return record.startTime.map { Self.time($0) } ?? ""
        case "end_time": return record.endTime.map { Self.time($0) } ?? ""
        default:
            if let value = record.values[column] { return value.description }
            // Recorded before the hyperparameter existed: what the trial trained with. Not read by the method: empty.
            guard let parameter = catalogue.named(column), parameter.addedLater, parameter.applies(to: record.method)
            else { return "" }
            return parameter.absentValue.description
        }
    }

    static func time(_ t: Double) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: t))
    }

    public func csv(_ records: [TrialRecord]) -> String {
        var text = columns.joined(separator: ",") + "\n"
        for record in records { text += columns.map { csvField(cell(record, $0)) }.joined(separator: ",") + "\n" }
        return text
    }

    public var front: [TrialRecord] { rows.filter { paretoRank[$0.id] == 1 } }

    /// Writes leaderboard.csv, pareto.csv and summary.json into `directory` (each to a temporary file,
    /// fsync'ed, then renamed: a reader never sees half a file).
    public func write(to directory: String, sweepName: String, planned: Int, cost: CostAccount? = nil) throws {
        try writeResultFile(csv(rows), to: (directory as NSString).appendingPathComponent("leaderboard.csv"))
        try writeResultFile(csv(front), to: (directory as NSString).appendingPathComponent("pareto.csv"))
        let counts = Dictionary(grouping: rows, by: \.status.rawValue).mapValues(\.count)
        func strings(_ list: [String]) -> JSONValue { .array(list.map(JSONValue.string)) }
        let summary: JSONValue = .object([
            "sweep": .string(sweepName), "trials_planned": .int(planned),
            "status_counts": .object(counts.mapValues(JSONValue.int)),
            "objectives": .array(
                objectives.map { .object(["metric": .string($0.name), "direction": .string($0.direction.rawValue)]) }),
            "front": strings(front.map(\.id)), "hypervolume": .number(hypervolume), "cost": cost?.json ?? .object([:]),
            // Results are bitwise reproducible on one CPU and BLAS kernel only.
            "cpus": strings(Array(Set(rows.compactMap(\.cpu))).sorted()),
            "blas_kernels": strings(Array(Set(rows.compactMap(\.blas))).sorted()),
            "hypervolume_reference":
                "maximised objectives: 0 (accuracy as is); minimised: 1 after dividing by 1.1 x the largest value among finished trials",
        ])
        let data = try summary.data(pretty: true)
        try writeResultFile(
            String(decoding: data, as: UTF8.self) + "\n",
            to: (directory as NSString).appendingPathComponent("summary.json"))
    }
}

func hypervolumeOf(_ points: [[Double]], _ reference: [Double]) -> Double {
    points.isEmpty ? 0 : hypervolume(points, reference: reference)
}

/// A CSV field, quoted when it holds a comma, a quote or a newline (RFC 4180).
public func csvField(_ s: String) -> String {
    s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" })
        ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
}

/// Writes `text` to `path` atomically (`replaceAtomically`), as a JournalError naming the file on failure.
func writeResultFile(_ text: String, to path: String) throws {
    do { try replaceAtomically(path, with: text) } catch {
        throw JournalError(path: path, line: nil, message: "cannot write: \(error)")
    }
}

import Foundation
import SideTuning
import Sweep
import Training

/// What `run` prints as a sweep goes: the objective's and the runner's events as progress lines, one
/// at a time (slots report from their own threads). On a terminal the pool's progress is one live line.
final class RunProgress {
    private let spec: SweepSpec
    private let workers: Int
    private var line: PoolProgressLine?
    private let lock = NSRecursiveLock()

    init(spec: SweepSpec, workers: Int) {
        self.spec = spec; self.workers = workers
        line = PoolProgressLine(workers: workers, trials: 0) { _, outcome in describeOutcome(outcome) }
    }

    func finish() { line?.finish() }

    func report(_ event: SideTuningEvent) {
        lock.lock(); defer { lock.unlock() }
        switch event {
        case .pool(let poolEvent):
            line?.record(poolEvent)
        case let .readSharing(cohorts, readShare):
            line?.finish()
            print(
                String(format: "  reading cached batches took %.1f%% of trial time: ", 100 * readShare)
                    + (cohorts
                        ? "compatible trials now train in cohorts that read each batch once"
                        : "trials train independently"))
        case let .cohorts(trials, cohorts):
            print("  \(trials) trials in \(cohorts == 1 ? "a cohort" : "\(cohorts) cohorts") sharing each batch read")
        case let .finalPhase(trials, streamed):
            line?.finish()
            print(
                "final: retraining \(trials.joined(separator: ", ")) on \(spec.data.finalTrain), scoring on \(spec.data.finalEval)\(streamed ? " (streamed through the backbone)" : "")"
            )
            line = PoolProgressLine(workers: workers, trials: trials.count) { _, outcome in describeOutcome(outcome) }
        }
    }

    func report(_ event: RunnerEvent) {
        lock.lock(); defer { lock.unlock() }
        switch event {
        case let .planned(index, count, trials):
            line?.finish()
            print("generation \(index + 1)/\(count): proposed \(trials.count) trial\(trials.count == 1 ? "" : "s")")
        case let .pruned(ids, rung):
            line?.finish()
            print("  successive halving at \(rung) epochs: pruned \(ids.joined(separator: ", "))")
        case .warmStarted(let warm):
            let sources = warm.sources.map { ($0 as NSString).lastPathComponent }
            print(
                warm.sources.isEmpty
                    ? "warm start: no earlier sweep has results yet; starting cold"
                    : "warm start from \(sources.joined(separator: ", ")): \(warm.enqueued.count) best configuration\(warm.enqueued.count == 1 ? "" : "s") enqueued first, \(warm.priors.count) earlier trials inform the sampler (as ranks)"
            )
        case let .extended(changes, revision):
            print(
                "extending the sweep (revision \(revision)); finished trials are reused: "
                    + changes.joined(separator: "; "))
        case .keptRecordedDefaults(let kept):
            print(
                "this sweep began before hpsweep had some hyperparameters; it goes on as its trials trained: \(kept.joined(separator: ", ")) (set them in the file to extend it otherwise, or --fresh to start over with today's defaults)"
            )
        case .waiting(let trials):
            line?.finish()
            print(
                "  waiting: other workers hold \(trials.count <= 4 ? trials.joined(separator: ", ") : "\(trials.count) trials")"
            )
        }
    }
}

/// A trial's outcome in one progress line.
func describeOutcome(_ outcome: TrialOutcome) -> String {
    switch outcome {
    case .failed(let message): return "failed: \(message)"
    case .skipped: return "claimed by another worker"
    case .completed(let r):
        switch r.status {
        case .diverged: return "diverged after \(r.epochsRun) epochs"
        case .stopped where r.history.allSatisfy({ $0.valAccuracy == nil }):
            // A final-phase run scores no validation split: there is no val_acc to show.
            return
                "interrupted after \(r.epochsRun) epoch\(r.epochsRun == 1 ? "" : "s"); the next run resumes it from its checkpoint"
        case .stopped: return String(format: "val_acc %.4f at %d epochs (paused)", r.bestValAccuracy, r.epochsRun)
        case .finished:
            if r.history.allSatisfy({ $0.valAccuracy == nil }) {
                return String(format: "trained %d epochs in %.1f s", r.epochsRun, r.trainSeconds)
            }
            return String(
                format: "val_acc %.4f, %d params, %.1f s", r.bestValAccuracy, r.trainableParameters, r.trainSeconds)
        }
    }
}

/// Prints the top trials and the Pareto front of a leaderboard.
func printSummary(_ board: Leaderboard, directory: String, top: Int = 5) {
    let columns = ["trial", "method", "status", "val_acc", "params", "train_seconds", "test_acc", "pareto_rank"]
    // The hyperparameters that vary between trials (the rest are fixed by the sweep).
    let searched = Set(
        board.rows.flatMap { row in row.values.keys }.filter { name in
            Set(board.rows.compactMap { $0.values[name] }).count > 1
        })
    func table(_ records: [TrialRecord]) {
        var rows = [columns + ["settings"]]
        for r in records {
            let settings = SideTuningCatalogue.catalogue.hyperparameters.filter { searched.contains($0.name) }
                .compactMap { p in
                    r.values[p.name].map { "\(p.name)=\(ValidateCommand.format($0))" }
                }
            rows.append(columns.map { board.cell(r, $0) } + [settings.joined(separator: " ")])
        }
        let widths = rows[0].indices.map { c in rows.map { $0[c].count }.max()! }
        for row in rows {
            print(
                "  "
                    + row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(
                        separator: "  "))
        }
    }
    let counts = Dictionary(grouping: board.rows, by: \.status.rawValue).mapValues(\.count)
    print(
        "\(board.rows.count) trials: "
            + counts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", "))
    // The best by the primary objective whatever their status (a pruned trial's value is at the rung
    // it reached; the status column says so).
    let primary = board.objectives[0]
    let ranked = board.rows.filter { metricValue($0, primary.metric) != nil }.sorted {
        (objectiveVector($0, [primary])[0], $0.id) < (objectiveVector($1, [primary])[0], $1.id)
    }
    print(
        "top \(min(top, ranked.count)) by \(primary.name) (any status; a pruned trial's value is at the epochs it ran):"
    )
    table(Array(ranked.prefix(top)))
    print(
        "Pareto front (\(board.objectives.map(\.name).joined(separator: " vs "))), hypervolume \(String(format: "%.4f", board.hypervolume)):"
    )
    table(board.front)
    print("leaderboard: \(directory)/leaderboard.csv, front: \(directory)/pareto.csv")
}

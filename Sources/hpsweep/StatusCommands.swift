import Cache
import Datasets
import Foundation
import Numerics
import SideTuning
import Sweep
import Training

/// The one results directory a command was given, and its state.
func loadState(_ arguments: ParsedArguments, command: String) throws -> (String, SweepState) {
    guard arguments.positionals.count == 1 else {
        throw UsageError("'\(command)' needs one results directory (results/<name>)")
    }
    return (arguments.positionals[0], try loadState(arguments.positionals[0]))
}

/// Reads the journal of a results directory (refusing a directory that has none).
func loadState(_ directory: String) throws -> SweepState {
    let files = Journal.files(in: directory)
    guard !files.isEmpty else {
        throw FileProblem("\(directory) is not a sweep results directory (no journal.jsonl)")
    }
    let state = SweepState(try Journal.readAll(directory: directory))
    if let problem = state.headerProblem { throw JournalError(path: files[0], line: 1, message: problem) }
    return state
}

/// `hpsweep leaderboard results/<name>`: rebuild leaderboard.csv, pareto.csv and summary.json from the journal.
enum LeaderboardCommand: Command {
    static let path = ["leaderboard"]
    static let summary =
        "Rebuild a sweep's leaderboard.csv, pareto.csv and summary.json from its journal and print them."
    static let usage = "RESULTS_DIR"
    static let options: [OptionSpec] = []

    static func run(_ arguments: ParsedArguments) throws {
        let (directory, state) = try loadState(arguments, command: displayName)
        let board = Leaderboard(state: state, objectives: state.objectives, catalogue: SideTuningCatalogue.catalogue)
        let cost = CostAccount(state: state)
        try board.write(
            to: directory, sweepName: state.sweepName ?? "", planned: state.trialsPlanned ?? state.records.count,
            cost: cost)
        printSummary(board, directory: directory, top: 10)
        print("cost: " + cost.description)
    }
}

/// `hpsweep status results/<name>`: progress, best so far, the front and an ETA, from the journal.
enum StatusCommand: Command {
    static let path = ["status"]
    static let summary = "Show a sweep's progress from its journal: trials done, running, best so far, front, ETA."
    static let usage = "RESULTS_DIR"
    static let options: [OptionSpec] = []

    static func run(_ arguments: ParsedArguments) throws {
        let (directory, state) = try loadState(arguments, command: displayName)
        let records = state.records
        let planned = state.trialsPlanned ?? records.count
        let done = records.filter(\.isDone)
        let active = records.filter { !$0.isDone && ($0.startedTowards != nil || $0.status == .paused) }
        let counts = Dictionary(grouping: done, by: \.status.rawValue).mapValues(\.count)
        print(
            "\(state.sweepName ?? directory): \(done.count) of \(planned) trials done ("
                + (counts.isEmpty
                    ? "none yet"
                    : counts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", "))
                + "), \(active.count) started and unfinished, \(planned - done.count - active.count) not started")
        let board = Leaderboard(state: state, objectives: state.objectives, catalogue: SideTuningCatalogue.catalogue)
        // Mid-run, paused and pruned trials have scores too (at the epochs they reached): the best and
        // the front of everything scored so far are shown, marked provisional where they rest on them.
        let primary = state.objectives[0]
        let scored = records.filter { metricValue($0, primary.metric) != nil }
        let ranked = scored.sorted {
            (objectiveVector($0, [primary])[0], $0.id) < (objectiveVector($1, [primary])[0], $1.id)
        }
        if let best = ranked.first {
            let provisional =
                best.status == .finished
                ? "" : "; provisional: \(best.status.rawValue) at \(best.epochsDone) of its epochs"
            print(
                "best \(primary.name) so far: \(board.cell(best, primary.name)) (\(best.id), \(best.method)\(provisional))"
            )
            if !provisional.isEmpty, let finished = ranked.first(where: { $0.status == .finished }) {
                print("best finished: \(board.cell(finished, primary.name)) (\(finished.id), \(finished.method))")
            }
        }
        if state.duplicates > 0 {
            print(
                "\(state.duplicates) duplicate result\(state.duplicates == 1 ? "" : "s") ignored (a trial keeps its result under the newest lease, and of those the first)"
            )
        }
        if let first = state.undecodable.first {
            let count = state.undecodable.count
            print(
                "\(count) journal line\(count == 1 ? "" : "s") skipped: \(count == 1 ? "it holds" : "they hold") no event this hpsweep reads (first: \(first))"
            )
        }
        print("cost so far: " + CostAccount(state: state).description)
        let timeline = ScheduleTimeline(state)
        if let utilisation = timeline.utilisation {
            print(
                String(
                    format:
                        "slots: %.0f%% busy so far (%@ of training in %d slots × %@; as many slots as stretches ever ran at once)",
                    100 * utilisation, formatDuration(timeline.busySeconds), timeline.rows,
                    formatDuration(timeline.end - timeline.start)))
        }
        print(
            "front of finished trials (\(board.front.count), hypervolume \(String(format: "%.4f", board.hypervolume))): "
                + (board.front.isEmpty ? "none finished yet" : board.front.map(\.id).joined(separator: ", ")))
        if done.count < planned, scored.contains(where: { $0.status != .finished }) {
            let points = scored.map { objectiveVector($0, state.objectives) }
            let front = zip(scored, paretoRanks(points)).filter { $0.1 == 1 }.map(\.0)
            print(
                "provisional front of all \(scored.count) scored trials (paused and pruned ones at the epochs they reached): "
                    + front.map {
                        "\($0.id) (\($0.method), \(board.cell($0, primary.name))\($0.status == .finished ? "" : ", \($0.status.rawValue)"))"
                    }.joined(separator: ", "))
        }
        // ETA: the mean wall time per finished trial so far, over what remains (a rough guide).
        let times = done.compactMap { r in r.startTime.flatMap { s in r.endTime.map { $0 - s } } }
        if !times.isEmpty, done.count < planned, let first = records.compactMap(\.startTime).min(),
            let last = done.compactMap(\.endTime).max()
        {
            let perTrial = (last - first) / Double(done.count)
            print("ETA about \(formatDuration(perTrial * Double(planned - done.count))) at the pace so far")
        }
        let leases = LeaseKeeper.all(in: (directory as NSString).appendingPathComponent("leases"))
        for (trial, (lease, age)) in leases.sorted(by: { $0.key < $1.key }) {
            print(
                "  \(trial == "final" ? "final phase" : trial): claimed by \(lease.owner) (lease \(lease.generation), heartbeat \(Int(age)) s ago)"
            )
        }
        if let lock = try? String(
            contentsOfFile: ((directory as NSString).deletingLastPathComponent as NSString).appendingPathComponent(
                ".\((directory as NSString).lastPathComponent).lock"), encoding: .utf8),
            let pid = Int32(lock.trimmingCharacters(in: .whitespacesAndNewlines)), kill(pid, 0) == 0
        {
            print("running now (pid \(pid))")
        }
    }
}

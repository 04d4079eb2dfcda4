import Cache
import Foundation
import Numerics
import SideTuning
import Sweep
import Training

/// `hpsweep run SWEEP.json`: build or reuse the cache, then run (or resume) the sweep.
enum RunCommand: Command {
    static let results = Option<String>.text("results", "DIR", help: "Where results/<name>/ goes (default ./results).")
    static let fresh = Flag("fresh", help: "Start over: move the old results/<name>/ aside to results/<name>.old-<time>/.")
    static let worker = Flag("worker", help: "Join the sweep as one of several worker processes (same or other machines, shared filesystem).")
    static let sharedReads = Option<ReadSharing>.choice("shared-reads", help: "Train compatible trials in cohorts that read each cached batch once: when reads are worth it (auto, the default), always, or never. Same results either way.")
    static let leaseSeconds = Option<Double>.positiveNumber("lease-seconds", "S", help: "With --worker: a claimed trial not heard of for S seconds is taken over (default 60).")
    static let task = Option<String>.text("task", "NAME|INDEX", help: "With a suite: run only this task (a name, or its index from 0: a Slurm array's SLURM_ARRAY_TASK_ID).")
    static let workers = Option<Int>.positiveInteger("workers", "N", help: "Trials trained at once (default: the sweep's workers, else all \(availableCores) cores).")
    static let memory = Option<Int>("memory", "SIZE", help: "Working-memory budget, e.g. 8GiB (default: the sweep's memory, else 70% of RAM).", expected: "needs a size from 1B to 1PiB such as 8GiB or 512MiB", parse: parseBytes)
    static let path = ["run"]
    static let summary = "Run a sweep, or resume it where it stopped: cache, trials, leaderboard and Pareto front."
    static let usage = "SWEEP.json [--task NAME|INDEX] [--worker] [--results DIR] [--fresh] [--shared-reads auto|on|off] [--lease-seconds S] [--workers N] [--memory SIZE] [--cache-dir DIR] [--threads N] [--no-verify]"
    static let options = [
        results.spec,
        task.spec,
        fresh.spec,
        worker.spec,
        sharedReads.spec,
        leaseSeconds.spec,
        workers.spec,
        memory.spec,
        CacheOptions.cacheDir.spec,
        CacheOptions.threads.spec,
        CacheOptions.noVerify.spec,
    ]

    static func run(_ arguments: ParsedArguments) throws {
        guard arguments.positionals.count == 1 else { throw UsageError("'\(displayName)' needs one sweep file; usage: \(displayName) \(usage)") }
        let file = arguments.positionals[0]
        // A malformed option value is a usage error whatever the file holds: checked before it is read.
        _ = try (arguments.value(RunCommand.workers), arguments.value(RunCommand.memory), arguments.value(RunCommand.leaseSeconds),
                 arguments.value(RunCommand.sharedReads), arguments.value(CacheOptions.threads))
        let root = arguments[RunCommand.results] ?? "results"
        guard SuiteSpec.isSuite(file) else {
            if arguments[RunCommand.task] != nil { throw UsageError("--task applies to a suite (a sweep file with 'tasks'); \(file) has none") }
            let spec = try SweepSpec.load(file)
            return try runSweep(spec, resultsRoot: root, warmStartFrom: try warmStartDirectories(spec, earlier: []), arguments)
        }
        // A suite: its tasks in order (or the one --task names), each an ordinary sweep under results/<suite>/.
        let suite = try SuiteSpec.load(file)
        var tasks = suite.tasks
        if let chosen = arguments[RunCommand.task] {
            let index = Int(chosen)
            guard let task = tasks.enumerated().first(where: { $0.offset == index || $0.element.task.name == chosen || $0.element.task.aliases.contains(chosen) }) else {
                throw UsageError("--task \(chosen): not a task of \(file) (give a name or an index 0…\(tasks.count - 1): \(tasks.map(\.task.name).joined(separator: ", ")))")
            }
            tasks = [task.element]
        }
        // Whether the caches of the tasks to run will all fit (each task's build still refuses its own).
        if tasks.count > 1 {
            ValidateCommand.printSuiteSpace(try ValidateCommand.cachesToBuild(tasks.map(\.spec), root: arguments[CacheOptions.cacheDir]))
        }
        let suiteRoot = (root as NSString).appendingPathComponent(suite.name)
        try FileManager.default.createDirectory(atPath: suiteRoot, withIntermediateDirectories: true)
        try suite.manifest.write(directory: suiteRoot)
        for (k, task) in tasks.enumerated() {
            print("suite \(suite.name): task \(k + 1)/\(tasks.count), \(task.task.name) (\(task.task.group.map { "\($0), " } ?? "")\(task.task.classes) classes)")
            // "previous_tasks": the suite's tasks before this one (in the file's order) that have results.
            let earlier = suite.tasks.prefix { $0.task.name != task.task.name }.map { (suiteRoot as NSString).appendingPathComponent($0.task.name) }
            try runSweep(task.spec, resultsRoot: suiteRoot, warmStartFrom: try warmStartDirectories(task.spec, earlier: earlier), arguments)
        }
    }

    /// The earlier sweeps' directories a sweep's `warm_start` names: as listed (each must hold a
    /// journal), or the suite's `earlier` tasks that have begun.
    static func warmStartDirectories(_ spec: SweepSpec, earlier: [String]) throws -> [String] {
        switch spec.search?.warmStart {
        case nil: return []
        case .previousTasks: return earlier.filter { !Journal.files(in: $0).isEmpty }
        case .sweeps(let paths):
            for path in paths where Journal.files(in: path).isEmpty {
                throw SpecError(file: spec.file, path: "$.warm_start", message: "\(path) is not a sweep's results directory (no journal.jsonl there)")
            }
            return paths
        }
    }

    /// Runs (or resumes) one sweep under `resultsRoot`/<name>/.
    static func runSweep(_ spec: SweepSpec, resultsRoot: String, warmStartFrom: [String], _ arguments: ParsedArguments) throws {
        guard let search = spec.search else {
            throw SpecError(file: spec.file, path: "$", message: "has no 'methods': nothing to search (see docs/sweep-spec.md)")
        }
        let directory = (resultsRoot as NSString).appendingPathComponent(spec.name)
        try FileManager.default.createDirectory(atPath: resultsRoot, withIntermediateDirectories: true)
        let isWorker = arguments.isSet(RunCommand.worker)
        if isWorker && arguments.isSet(RunCommand.fresh) { throw UsageError("--fresh cannot be combined with --worker (other workers may be running)") }
        let leaseSeconds = try arguments.value(RunCommand.leaseSeconds, default: 60)
        let sharing = try arguments.value(RunCommand.sharedReads, default: .auto)
        // Every option is checked before anything is moved, locked or written.
        let workers = try arguments.value(RunCommand.workers) ?? search.workers ?? availableCores
        let memory = try arguments.value(RunCommand.memory) ?? search.memoryBytes ?? TrialPool.defaultMemoryBudget
        _ = try arguments.value(CacheOptions.threads)
        let lock = try SweepLock(root: resultsRoot, name: spec.name, shared: isWorker)
        defer { lock.release() }
        if arguments.isSet(RunCommand.fresh), FileManager.default.fileExists(atPath: directory) {
            let stamp = ISO8601DateFormatter().string(from: Date()).replacingOccurrences(of: ":", with: "")
            // Two --fresh runs within one second must not collide on the name.
            var aside = directory + ".old-" + stamp
            var suffix = 2
            while FileManager.default.fileExists(atPath: aside) { aside = directory + ".old-" + stamp + "-\(suffix)"; suffix += 1 }
            do { try FileManager.default.moveItem(atPath: directory, toPath: aside) } catch {
                throw FileProblem("--fresh: cannot move \(directory) aside to \(aside): \((error as NSError).localizedDescription)")
            }
            print("hpsweep run: moved the previous results aside to \(aside)")
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)

        print("hpsweep run: \(spec.name) (\(spec.file))")
        print("  " + describePlan(search, workers: workers, memory: memory))
        print(machineLine)

        let (cache, plan) = try CacheBuildCommand.buildCache(for: spec, arguments: arguments)
        if let line = try ValidateCommand.finalStreamLine(spec, cachedSplits: Set(cache.splitNames),
                                                          imagesPerSecond: cache.header.buildSeconds.map { Double(cache.header.storedImages) / $0 }) {
            print(line)
        }

        let stop = StopFlag()
        stop.installSignalHandlers()
        let progress = PoolProgressLine(workers: workers, trials: 0) { _, outcome in describeOutcome(outcome) }
        var currentLine: PoolProgressLine? = progress
        let printLock = NSRecursiveLock()
        let workerID = isWorker ? "\(ProcessInfo.processInfo.hostName)-\(getpid())" : nil
        if let workerID { print("  worker \(workerID): journal-\(workerID).jsonl, leases of \(Int(leaseSeconds)) s") }
        let objective = SideTuningObjective(spec: spec, search: search, cache: cache, plan: plan, workers: workers, memoryBudget: memory,
                                            sharedReads: sharing) { event in
            // (Slots report from their own threads: one line at a time.)
            printLock.lock(); defer { printLock.unlock() }
            switch event {
            case .pool(let poolEvent):
                currentLine?.record(poolEvent)
            case let .readSharing(cohorts, readShare):
                currentLine?.finish()
                print(String(format: "  reading cached batches took %.1f%% of trial time: ", 100 * readShare)
                      + (cohorts ? "compatible trials now train in cohorts that read each batch once" : "trials train independently"))
            case let .cohorts(trials, cohorts):
                print("  \(trials) trials in \(cohorts == 1 ? "a cohort" : "\(cohorts) cohorts") sharing each batch read")
            case let .finalPhase(trials, streamed):
                currentLine?.finish()
                print("final: retraining \(trials.joined(separator: ", ")) on \(spec.data.finalTrain), scoring on \(spec.data.finalEval)\(streamed ? " (streamed through the backbone)" : "")")
                currentLine = PoolProgressLine(workers: workers, trials: trials.count) { _, outcome in describeOutcome(outcome) }
            }
        }
        let runner = try SweepRunner(
            identity: SideTuningObjective.identity(spec), search: search, objective: objective, directory: directory,
            hpsweepVersion: version, worker: workerID, leaseSeconds: leaseSeconds, warmStartFrom: warmStartFrom, shouldStop: { stop.isSet }
        ) { event in
            printLock.lock(); defer { printLock.unlock() }
            switch event {
            case let .planned(index, count, trials):
                currentLine?.finish()
                print("generation \(index + 1)/\(count): proposed \(trials.count) trial\(trials.count == 1 ? "" : "s")")
            case let .pruned(ids, rung):
                currentLine?.finish()
                print("  successive halving at \(rung) epochs: pruned \(ids.joined(separator: ", "))")
            case .warmStarted(let warm):
                let sources = warm.sources.map { ($0 as NSString).lastPathComponent }
                print(warm.sources.isEmpty ? "warm start: no earlier sweep has results yet; starting cold"
                      : "warm start from \(sources.joined(separator: ", ")): \(warm.enqueued.count) best configuration\(warm.enqueued.count == 1 ? "" : "s") enqueued first, \(warm.priors.count) earlier trials inform the sampler (as ranks)")
            case let .extended(changes, revision):
                print("extending the sweep (revision \(revision)); finished trials are reused: " + changes.joined(separator: "; "))
            case .keptRecordedDefaults(let kept):
                print("this sweep began before hpsweep had some hyperparameters; it goes on as its trials trained: \(kept.joined(separator: ", ")) (set them in the file to extend it otherwise, or --fresh to start over with today's defaults)")
            case .waiting(let trials):
                currentLine?.finish()
                print("  waiting: other workers hold \(trials.count <= 4 ? trials.joined(separator: ", ") : "\(trials.count) trials")")
            }
        }
        let done = runner.state.records.filter(\.isDone).count
        if done > 0 { print("resuming: \(done) of \(search.trials * search.seeds.count) trials already done") }
        let sweepStart = DispatchTime.now().uptimeNanoseconds
        let outcome = try runner.run()
        currentLine?.finish()
        let (board, cost) = try runner.machinery.measure(pooled: false) {
            let board = Leaderboard(state: runner.state, objectives: search.objectives, catalogue: search.catalogue), cost = CostAccount(state: runner.state)
            try board.write(to: directory, sweepName: spec.name, planned: search.trials * search.seeds.count, cost: cost)
            return (board, cost)
        }
        let wall = Double(DispatchTime.now().uptimeNanoseconds - sweepStart) / 1e9
        if outcome == .interrupted {
            print("interrupted: progress is saved; rerun the same command to resume: \(commandAsGiven)")
            lock.release()
            exit(130)
        }
        print("")
        printSummary(board, directory: directory)
        print("cost: " + cost.description)
        if wall >= 0.5 {   // (a run that found everything done has nothing to measure)
            print(runner.machinery.summary(wallSeconds: wall, workers: workers))
        }
        if let failure = nothingTrained(runner.state.records, name: spec.name) { throw TrialError(failure) }
    }

    /// One line when no trial of the sweep trained at all (every one failed, diverged or was
    /// rejected): the counts and the first failure's reason, with how many failed the same way.
    static func nothingTrained(_ records: [TrialRecord], name: String) -> String? {
        guard !records.isEmpty, !records.contains(where: { [.finished, .pruned, .paused, .planned].contains($0.status) }) else { return nil }
        let counts = Dictionary(grouping: records, by: \.status).map { "\($0.value.count) \($0.key.rawValue)" }.sorted().joined(separator: ", ")
        var text = "no trial of sweep '\(name)' trained (\(counts))"
        if let first = records.first(where: { $0.error != nil }), let reason = first.error?.split(separator: "\n").first {
            let shared = records.filter { $0.error?.split(separator: "\n").first == reason }.count
            text += "; \(first.id): \(reason)" + (shared > 1 ? " (and \(shared - 1) more the same way)" : "")
        }
        return text
    }

    static func describePlan(_ search: SearchSpec, workers: Int, memory: Int) -> String {
        var parts = ["\(search.trials) configuration\(search.trials == 1 ? "" : "s") × \(search.seeds.count) seed\(search.seeds.count == 1 ? "" : "s")"]
        parts.append("methods " + search.methods.map(\.method).joined(separator: ", "))
        var sampler = "sampler \(search.sampler.kind.rawValue)"
        if search.sampler.kind == .tpe {
            let startup = "\(search.sampler.startup) Sobol startup"
            sampler += " (\(search.warmStart == nil ? startup : "warm start: the earlier sweeps' best, then TPE; \(startup) if they have no results"), generations of \(search.sampler.generationSize))"
        }
        parts.append(sampler)
        var epochs = "\(search.epochs) epochs"
        if let es = search.earlyStopping { epochs += ", successive halving at \(es.rungs.map(String.init).joined(separator: "/")) (η \(es.reductionFactor))" }
        parts.append(epochs)
        parts.append("objectives " + search.objectives.map { "\($0.name) (\($0.direction == .maximize ? "max" : "min"))" }.joined(separator: ", "))
        parts.append("\(workers) worker\(workers == 1 ? "" : "s"), memory budget \(String(format: "%.1f", Double(memory) / 1_073_741_824)) GiB")
        return parts.joined(separator: "; ")
    }
}

/// This process's command line as the user could type it again ("hpsweep" and every argument, quoted
/// for a POSIX shell where needed).
var commandAsGiven: String {
    let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%")
    let words = CommandLine.arguments.dropFirst().map { word -> String in
        !word.isEmpty && word.allSatisfy(safe.contains) ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
    return (["hpsweep"] + words).joined(separator: " ")
}

func describeOutcome(_ outcome: TrialOutcome) -> String {
    switch outcome {
    case .failed(let message): return "failed: \(message)"
    case .skipped: return "claimed by another worker"
    case .completed(let r):
        switch r.status {
        case .diverged: return "diverged after \(r.epochsRun) epochs"
        case .stopped: return String(format: "val_acc %.4f at %d epochs (paused)", r.bestValAccuracy, r.epochsRun)
        case .finished:
            if r.history.allSatisfy({ $0.valAccuracy == nil }) { return String(format: "trained %d epochs in %.1f s", r.epochsRun, r.trainSeconds) }
            return String(format: "val_acc %.4f, %d params, %.1f s", r.bestValAccuracy, r.trainableParameters, r.trainSeconds)
        }
    }
}

/// Prints the top trials and the Pareto front of a leaderboard.
func printSummary(_ board: Leaderboard, directory: String, top: Int = 5) {
    let columns = ["trial", "method", "status", "val_acc", "params", "train_seconds", "test_acc", "pareto_rank"]
    // The hyperparameters that vary between trials (the rest are fixed by the sweep).
    let searched = Set(board.rows.flatMap { row in row.values.keys }.filter { name in
        Set(board.rows.compactMap { $0.values[name] }).count > 1
    })
    func table(_ records: [TrialRecord]) {
        var rows = [columns + ["settings"]]
        for r in records {
            let settings = SideTuningCatalogue.catalogue.hyperparameters.filter { searched.contains($0.name) }.compactMap { p in
                r.values[p.name].map { "\(p.name)=\(ValidateCommand.format($0))" }
            }
            rows.append(columns.map { board.cell(r, $0) } + [settings.joined(separator: " ")])
        }
        let widths = rows[0].indices.map { c in rows.map { $0[c].count }.max()! }
        for row in rows { print("  " + row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")) }
    }
    let counts = Dictionary(grouping: board.rows, by: \.status.rawValue).mapValues(\.count)
    print("\(board.rows.count) trials: " + counts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", "))
    // The best by the primary objective whatever their status (a pruned trial's value is at the rung
    // it reached; the status column says so).
    let primary = board.objectives[0]
    let ranked = board.rows.filter { metricValue($0, primary.metric) != nil }.sorted {
        (objectiveVector($0, [primary])[0], $0.id) < (objectiveVector($1, [primary])[0], $1.id)
    }
    print("top \(min(top, ranked.count)) by \(primary.name) (any status; a pruned trial's value is at the epochs it ran):")
    table(Array(ranked.prefix(top)))
    print("Pareto front (\(board.objectives.map(\.name).joined(separator: " vs "))), hypervolume \(String(format: "%.4f", board.hypervolume)):")
    table(board.front)
    print("leaderboard: \(directory)/leaderboard.csv, front: \(directory)/pareto.csv")
}

/// Set by the first Ctrl-C (SIGINT) or SIGTERM: trials stop at their next epoch boundary with a
/// checkpoint; a second signal exits at once (the journal is consistent at every line).
final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var set = false
    private var sources: [DispatchSourceSignal] = []

    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return set }

    func installSignalHandlers() {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [self] in
                lock.lock()
                let again = set
                set = true
                lock.unlock()
                if again { _exit(130) }
                FileHandle.standardError.write(Data("\nhpsweep: stopping at the next epoch boundary (Ctrl-C again to quit now)\n".utf8))
            }
            source.resume()
            sources.append(source)
        }
    }
}

/// Who may work on results/<name>/: one plain `hpsweep run` (an exclusive lock) or any number of
/// `--worker` processes (shared locks), never both. The lock is an fcntl record lock on
/// results/.<name>.lock — the kind NFS (NLM) supports — released by the kernel if the process dies, so a
/// killed run never blocks the next. The file holds the pid of the last process that took it.
final class SweepLock {
    private var fd: Int32

    init(root: String, name: String, shared: Bool) throws {
        let path = (root as NSString).appendingPathComponent(".\(name).lock")
        fd = open(path, O_RDWR | O_CREAT, 0o644)
        guard fd >= 0 else { throw JournalError(path: path, line: nil, message: "cannot create the sweep's lock file: \(String(cString: strerror(errno)))") }
        var request = flock()
        request.l_type = Int16(shared ? F_RDLCK : F_WRLCK)
        request.l_whence = Int16(SEEK_SET)
        if fcntl(fd, F_SETLK, &request) != 0 {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
            close(fd)
            let where_ = (root as NSString).appendingPathComponent(name)
            if shared { throw FileProblem("\(where_) is being run by a plain 'hpsweep run' (pid \(holder)); workers can join only a sweep started with --worker") }
            throw FileProblem("\(where_) is in use by another hpsweep run (pid \(holder)); wait for it or stop it first, or add --worker to join it as a worker")
        }
        ftruncate(fd, 0)
        let pid = "\(getpid())\n"
        _ = pid.withCString { pwrite(fd, $0, strlen($0), 0) }
    }

    func release() {
        guard fd >= 0 else { return }
        close(fd); fd = -1   // closing drops the record lock
    }
}

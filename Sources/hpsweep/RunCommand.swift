import Cache
import Foundation
import Numerics
import SideTuning
import Sweep
import Training

/// `hpsweep run SWEEP.json`: build or reuse the cache, then run (or resume) the sweep.
enum RunCommand: Command {
    static let results = Option<String>.text("results", "DIR", help: "Where results/<name>/ goes (default ./results).")
    static let fresh = Flag(
        "fresh", help: "Start over: move the old results/<name>/ aside to results/<name>.old-<time>/.")
    static let worker = Flag(
        "worker", help: "Join the sweep as one of several worker processes (same or other machines, shared filesystem)."
    )
    static let sharedReads = Option<ReadSharing>.choice(
        "shared-reads",
        help:
            "Train compatible trials in cohorts that read each cached batch once: when reads are worth it (auto, the default), always, or never. Same results either way."
    )
    static let leaseSeconds = Option<Double>.positiveNumber(
        "lease-seconds", "S",
        help: "With --worker: a claimed trial not heard of for S seconds is taken over (default 60).")
    static let task = Option<String>.text(
        "task", "NAME|INDEX",
        help: "With a suite: run only this task (a name, or its index from 0: a Slurm array's SLURM_ARRAY_TASK_ID).")
    static let workers = Option<Int>.positiveInteger(
        "workers", "N",
        help: "Trials trained at once (default: the sweep's workers, else all \(availableCores) cores).", maximum: 4096
    )
    static let memory = Option<Int>(
        "memory", "SIZE",
        help:
            "Working-memory budget, e.g. 8GiB (default: the sweep's memory, else 70% of the least of RAM, the cgroup limit and Slurm's allocation).",
        expected: "needs a size from 1B to 1PiB such as 8GiB or 512MiB", parse: parseBytes)
    static let path = ["run"]
    static let summary = "Run a sweep, or resume it where it stopped: cache, trials, leaderboard and Pareto front."
    static let usage =
        "SWEEP.json [--task NAME|INDEX] [--worker] [--results DIR] [--fresh] [--shared-reads auto|on|off] [--lease-seconds S] [--workers N] [--memory SIZE] [--cache-dir DIR] [--threads N] [--no-verify]"
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
        guard arguments.positionals.count == 1 else {
            throw UsageError("'\(displayName)' needs one sweep file; usage: \(displayName) \(usage)")
        }
        let file = arguments.positionals[0]
        // A malformed option value is a usage error whatever the file holds: checked before it is read.
        _ = try (
            arguments.value(RunCommand.workers), arguments.value(RunCommand.memory),
            arguments.value(RunCommand.leaseSeconds),
            arguments.value(RunCommand.sharedReads), arguments.value(CacheOptions.threads)
        )
        let root = arguments[RunCommand.results] ?? "results"
        if root.isEmpty { throw UsageError("option '--results' needs a directory, got ''") }
        guard SuiteSpec.isSuite(file) else {
            if arguments[RunCommand.task] != nil {
                throw UsageError("--task applies to a suite (a sweep file with 'tasks'); \(file) has none")
            }
            let spec = try SweepSpec.load(file)
            return try runSweep(
                spec, resultsRoot: root, warmStartFrom: try warmStartDirectories(spec, earlier: []), arguments)
        }
        try runSuite(file, resultsRoot: root, arguments)
    }

    /// Runs (or resumes) one sweep under `resultsRoot`/<name>/.
    static func runSweep(_ spec: SweepSpec, resultsRoot: String, warmStartFrom: [String], _ arguments: ParsedArguments)
        throws
    {
        guard let search = spec.search else {
            throw SpecError(
                file: spec.file, path: "$", message: "has no 'methods': nothing to search (see docs/sweep-spec.md)")
        }
        let directory = (resultsRoot as NSString).appendingPathComponent(spec.name)
        do { try FileManager.default.createDirectory(atPath: resultsRoot, withIntermediateDirectories: true) } catch {
            var isDirectory: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: resultsRoot, isDirectory: &isDirectory)
            throw FileProblem(
                "--results: cannot use \(resultsRoot) as the results directory: "
                    + (exists && !isDirectory.boolValue
                        ? "it is a file" : (error as NSError).localizedDescription))
        }
        let isWorker = arguments.isSet(RunCommand.worker)
        if isWorker && arguments.isSet(RunCommand.fresh) {
            throw UsageError("--fresh cannot be combined with --worker (other workers may be running)")
        }
        let leaseSeconds = try arguments.value(RunCommand.leaseSeconds, default: 60)
        let sharing = try arguments.value(RunCommand.sharedReads, default: .auto)
        // Every option is checked before anything is moved, locked or written.
        let workers = try arguments.value(RunCommand.workers) ?? search.workers ?? availableCores
        let given = try arguments.value(RunCommand.memory) ?? search.memoryBytes
        let limit = MemoryLimit.detect()
        let memory = given ?? limit.defaultBudget
        _ = try arguments.value(CacheOptions.threads)
        let lock = try SweepLock(root: resultsRoot, name: spec.name, shared: isWorker)
        defer { lock.release() }
        if arguments.isSet(RunCommand.fresh), FileManager.default.fileExists(atPath: directory) {
            let stamp = ISO8601DateFormatter().string(from: Date()).replacingOccurrences(of: ":", with: "")
            // Two --fresh runs within one second must not collide on the name.
            var aside = directory + ".old-" + stamp
            var suffix = 2
            while FileManager.default.fileExists(atPath: aside) {
                aside = directory + ".old-" + stamp + "-\(suffix)"; suffix += 1
            }
            do { try FileManager.default.moveItem(atPath: directory, toPath: aside) } catch {
                throw FileProblem(
                    "--fresh: cannot move \(directory) aside to \(aside): \((error as NSError).localizedDescription)")
            }
            print("hpsweep run: moved the previous results aside to \(aside)")
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)

        print("hpsweep run: \(spec.name) (\(spec.file))")
        print("  " + describePlan(search, workers: workers, memory: memory))
        if given == nil {
            print(
                "  memory budget: 70% of \(limit.source), \(String(format: "%.1f", Double(limit.bytes) / 1_073_741_824)) GiB"
            )
        } else if memory > limit.bytes {
            print(
                "  warning: the memory budget is more than \(limit.source) (\(String(format: "%.1f", Double(limit.bytes) / 1_073_741_824)) GiB): trials may be killed"
            )
        }
        print(machineLine)

        // Installed before the cache build: a shell that starts hpsweep in the background has it ignore
        // SIGINT, and only these handlers make Ctrl-C (or SIGTERM) stop a build.
        let stop = StopFlag(stopping: "stopping the cache build (Ctrl-C again to quit now)")
        stop.installSignalHandlers()
        let (cache, plan) = try CacheBuildCommand.buildCache(for: spec, arguments: arguments, stop: stop)
        stop.stopping = "stopping at the next epoch boundary (Ctrl-C again to quit now)"
        if let line = try ValidateCommand.finalStreamLine(
            spec, cachedSplits: Set(cache.splitNames),
            imagesPerSecond: cache.header.buildSeconds.map { Double(cache.header.storedImages) / $0 })
        {
            print(line)
        }

        let progress = RunProgress(spec: spec, workers: workers)
        let workerID = isWorker ? "\(ProcessInfo.processInfo.hostName)-\(getpid())" : nil
        if let workerID { print("  worker \(workerID): journal-\(workerID).jsonl, leases of \(Int(leaseSeconds)) s") }
        let objective = SideTuningObjective(
            spec: spec, search: search, cache: cache, plan: plan, workers: workers, memoryBudget: memory,
            sharedReads: sharing, onEvent: progress.report)
        let runner = try SweepRunner(
            identity: SideTuningObjective.identity(spec), search: search, objective: objective, directory: directory,
            hpsweepVersion: version, worker: workerID, leaseSeconds: leaseSeconds, warmStartFrom: warmStartFrom,
            shouldStop: { stop.isSet },
            onEvent: progress.report)
        let done = runner.state.records.filter(\.isDone).count
        if done > 0 { print("resuming: \(done) of \(search.trials * search.seeds.count) trials already done") }
        if let first = runner.state.undecodable.first {
            print(
                "skipping \(runner.state.undecodable.count) journal line(s) that hold no event this hpsweep reads (first: \(first))"
            )
        }
        let sweepStart = DispatchTime.now().uptimeNanoseconds
        let outcome = try runner.run()
        progress.finish()
        let (board, cost) = try runner.machinery.measure(pooled: false) {
            let board = Leaderboard(state: runner.state, objectives: search.objectives, catalogue: search.catalogue),
                cost = CostAccount(state: runner.state)
            try board.write(
                to: directory, sweepName: spec.name, planned: search.trials * search.seeds.count, cost: cost)
            return (board, cost)
        }
        let wall = Double(DispatchTime.now().uptimeNanoseconds - sweepStart) / 1e9
        if outcome == .interrupted {
            print("interrupted: progress is saved; rerun the same command to resume: \(commandAsGiven)")
            throw ExitStatus.interrupted
        }
        print("")
        printSummary(board, directory: directory)
        print("cost: " + cost.description)
        if wall >= 0.5 {  // (a run that found everything done has nothing to measure)
            print(runner.machinery.summary(wallSeconds: wall, workers: workers))
        }
        if let failure = nothingTrained(runner.state.records, name: spec.name) { throw TrialError(failure) }
    }

    /// One line when no trial of the sweep trained at all (every one failed, diverged or was
    /// rejected): the counts and the first failure's reason, with how many failed the same way.
    static func nothingTrained(_ records: [TrialRecord], name: String) -> String? {
        guard !records.isEmpty,
            !records.contains(where: { [.finished, .pruned, .paused, .planned].contains($0.status) })
        else { return nil }
        let counts = Dictionary(grouping: records, by: \.status).map { "\($0.value.count) \($0.key.rawValue)" }.sorted()
            .joined(separator: ", ")
        var text = "no trial of sweep '\(name)' trained (\(counts))"
        if let first = records.first(where: { $0.error != nil }), let reason = first.error?.split(separator: "\n").first
        {
            let shared = records.filter { $0.error?.split(separator: "\n").first == reason }.count
            text += "; \(first.id): \(reason)" + (shared > 1 ? " (and \(shared - 1) more the same way)" : "")
        }
        return text
    }

    static func describePlan(_ search: SearchSpec, workers: Int, memory: Int) -> String {
        var parts = [
            "\(search.trials) configuration\(search.trials == 1 ? "" : "s") × \(search.seeds.count) seed\(search.seeds.count == 1 ? "" : "s")"
        ]
        parts.append("methods " + search.methods.map(\.method).joined(separator: ", "))
        var sampler = "sampler \(search.sampler.kind.rawValue)"
        if search.sampler.kind == .tpe {
            let startup = "\(search.sampler.startup) Sobol startup"
            sampler +=
                " (\(search.warmStart == nil ? startup : "warm start: the earlier sweeps' best, then TPE; \(startup) if they have no results"), generations of \(search.sampler.generationSize))"
        }
        parts.append(sampler)
        var epochs = "\(search.epochs) epochs"
        if let es = search.earlyStopping {
            epochs +=
                ", successive halving at \(es.rungs.map(String.init).joined(separator: "/")) (η \(es.reductionFactor))"
        }
        parts.append(epochs)
        parts.append(
            "objectives "
                + search.objectives.map { "\($0.name) (\($0.direction == .maximize ? "max" : "min"))" }.joined(
                    separator: ", "))
        parts.append(
            "\(workers) worker\(workers == 1 ? "" : "s"), memory budget \(String(format: "%.1f", Double(memory) / 1_073_741_824)) GiB"
        )
        return parts.joined(separator: "; ")
    }
}

/// This process's command line as the user could type it again ("hpsweep" and every argument, quoted
/// for a POSIX shell where needed).
var commandAsGiven: String {
    let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%")
    let words = CommandLine.arguments.dropFirst().map { word -> String in
        !word.isEmpty && word.allSatisfy(safe.contains)
            ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
    return (["hpsweep"] + words).joined(separator: " ")
}

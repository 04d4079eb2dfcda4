import Essentials
import Foundation
import SideTuning
import Sweep

/// `hpsweep bench schedule`: how busy the slots of a sweep are, on the synthetic objective.
enum BenchScheduleCommand: Command {
    static let slots = Option<String>.text(
        "slots", "N[,N…]", help: "Trial slots in all, one figure or a list (default 1,2,4,8,16).")
    static let workers = Option<Int>.positiveInteger(
        "workers", "W",
        help: "Worker runners sharing the directory, as threads (default 1: one process; slots are split among them).",
        maximum: 4096)
    static let epochSeconds = Option<Double>.positiveNumber(
        "epoch-seconds", "S", help: "Simulated seconds per epoch (default 0.01).")
    static let varied = Flag(
        "varied-durations", help: "Epochs take longer by method and trial size (0.5–2× and more), as real trials' do.")
    static let trials = Option<Int>.positiveInteger("trials", "K", help: "Override the sweep's trials.")
    static let generationSize = Option<Int>.positiveInteger(
        "generation-size", "G", help: "Override the sampler's generation_size.")
    static let lag = Option<Int>.positiveInteger("lag", "L", help: "Override the sampler's lag (tpe).")
    static let shards = Option<Int>.positiveInteger(
        "shards", "S", help: "Give every trial S shards: a trial spreads its epochs over up to S slots idle then.")
    static let seed = Option<Int>(
        "seed", "N", help: "Override the sweep's seed.", expected: "needs a non-negative integer"
    ) { Int($0).flatMap { $0 >= 0 ? $0 : nil } }
    static let path = ["bench", "schedule"]
    static let summary =
        "Measure the scheduler: a sweep's search on a synthetic objective, slot utilisation and critical path."
    static let usage =
        "SWEEP.json [--slots N[,N…]] [--workers W] [--epoch-seconds S] [--varied-durations] [--trials K] [--generation-size G] [--lag L] [--shards S] [--seed N]"
    static let options = [
        slots.spec, workers.spec, epochSeconds.spec, varied.spec, trials.spec, generationSize.spec, lag.spec,
        shards.spec, seed.spec,
    ]

    static func run(_ arguments: ParsedArguments) throws {
        guard let file = arguments.positionals.first, arguments.positionals.count == 1 else {
            throw UsageError("bench schedule takes one sweep file")
        }
        // Only the search is read: the backbone and data need not exist (nothing is trained).
        var top = try SpecReader.load(file)
        guard top.has("methods") || top.has("method") else {
            throw FileProblem("\(file): describes a cache only (no 'methods'): there is no search to schedule")
        }
        var search = try SearchSpec.parse(&top, catalogue: SideTuningCatalogue.catalogue)
        if let trials = try arguments.value(Self.trials) { search.trials = trials }
        if let size = try arguments.value(Self.generationSize) { search.sampler.generationSize = size }
        if let lag = try arguments.value(Self.lag) { search.sampler.lag = lag }
        if let seed = try arguments.value(Self.seed) { search.seed = UInt64(seed) }
        if let shards = try arguments.value(Self.shards) {
            for k in search.methods.indices {
                search.methods[k].parameters.removeAll { $0.name == "shards" }
                search.methods[k].parameters.append((name: "shards", domain: .fixed(.number(Double(shards)))))
            }
        }
        search.sampler.startup = min(search.sampler.startup, search.trials)
        let slotCounts = try (arguments[Self.slots] ?? "1,2,4,8,16").split(separator: ",").map { word -> Int in
            guard let n = Int(word.trimmingCharacters(in: .whitespaces)), n > 0, n <= 4096 else {
                throw UsageError("--slots: '\(word)' is not a slot count from 1 to 4096")
            }
            return n
        }
        let workers = try arguments.value(Self.workers, default: 1)
        let epochSeconds = try arguments.value(Self.epochSeconds, default: 0.01)
        let varied = arguments.isSet(Self.varied)
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("hpsweep-bench-schedule-\(getpid())")
            .path
        defer { try? FileManager.default.removeItem(atPath: work) }

        let rungs = search.rungs.map(String.init).joined(separator: "/")
        print(
            "hpsweep bench schedule: \(file): \(search.trials * search.seeds.count) trials, generations of \(search.sampler.generationSize), rungs \(rungs)"
                + (search.sampler.kind == .tpe
                    ? ", tpe (startup \(search.sampler.startup), lag \(search.sampler.lag))"
                    : ", \(search.sampler.kind.rawValue)"))
        print(
            "  synthetic objective: epochs of \(Int((epochSeconds * 1000).rounded())) ms\(varied ? ", longer by method and size" : ""); "
                + "\(workers == 1 ? "one process" : "\(workers) workers (threads) sharing one directory"), real journals and leases"
        )
        // Lease time sets how often an idle worker polls (an eighth of it): short, for short epochs.
        let leaseSeconds = max(0.4, 40 * epochSeconds)
        let reference = try ScheduleMeasurement.run(search, directory: work + "/reference")
        let expected = ScheduleMeasurement.outcome(reference.state)
        let (best, volume) = ScheduleMeasurement.quality(reference.state)
        let unlimited = search.trials * search.seeds.count
        let critical = try ScheduleMeasurement.run(
            search, directory: work + "/critical", slots: unlimited, epochSeconds: epochSeconds,
            variedDurations: varied, leaseSeconds: leaseSeconds)
        print(
            String(
                format:
                    "  work %.1f s; critical path %.1f s (wall time with a slot per trial); best val_acc %.4f, hypervolume %.4f",
                critical.busySeconds, critical.wallSeconds, best, volume))
        print("")
        print("| slots | wall | speed-up over 1 slot (ideal) | utilisation | outcome = 1-slot run's |")
        print("|---|---|---|---|---|")
        for n in slotCounts {
            let per = max(1, n / workers)
            let measured = try ScheduleMeasurement.run(
                search, directory: work + "/slots\(n)", workers: min(workers, n), slots: per,
                epochSeconds: epochSeconds, variedDurations: varied, leaseSeconds: leaseSeconds)
            let same = ScheduleMeasurement.outcome(measured.state) == expected
            print(
                String(
                    format: "| %d | %.2f s | %.2f× | %.0f%% | %@ |", measured.slots, measured.wallSeconds,
                    critical.busySeconds / measured.wallSeconds,
                    100 * measured.utilisation, same ? "yes" : "NO"))
            if !same {
                throw FileProblem(
                    "\(file): the run on \(measured.slots) slots decided otherwise than the 1-slot run (a scheduler bug: please report it)"
                )
            }
        }
    }
}

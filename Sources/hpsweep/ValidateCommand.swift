import Cache
import Datasets
import Foundation
import Numerics
import SideTuning
import Sweep
import Training

/// `hpsweep validate SWEEP.json`: check every field and print the planned trials, before any work.
enum ValidateCommand: Command {
    static let path = ["validate"]
    static let summary = "Check a sweep file (every error names its JSON path) and print the trials it plans."
    static let usage = "SWEEP.json"
    static let options: [OptionSpec] = []

    static func run(_ arguments: ParsedArguments) throws {
        guard arguments.positionals.count == 1 else { throw UsageError("'\(displayName)' needs one sweep file") }
        let file = arguments.positionals[0]
        guard SuiteSpec.isSuite(file) else { try validate(try SweepSpec.load(file)); return }
        let suite = try SuiteSpec.load(file)
        print(
            "\(file): a suite of \(suite.tasks.count) task\(suite.tasks.count == 1 ? "" : "s") (results/\(suite.name)/<task>/)"
        )
        var toBuild: [String: Int] = [:]  // cache root → bytes of the caches it must still hold
        for (k, task) in suite.tasks.enumerated() {
            print(
                "task \(k) \(task.task.name) (\(task.task.group.map { "\($0), " } ?? "")\(task.task.classes) classes):")
            if let (root, bytes) = try validate(task.spec) { toBuild[root, default: 0] += bytes }
        }
        printSuiteSpace(toBuild)
    }

    /// One line per cache root: the bytes of a suite's caches still to build there against its free
    /// space (none when every cache is built).
    static func printSuiteSpace(_ toBuild: [String: Int]) {
        for (root, bytes) in toBuild.sorted(by: { $0.key < $1.key }) {
            let room =
                CacheEstimate.shortage(bytes, root: root).map {
                    " — too much for the \(formatBytes($0)) free there: they will not all fit"
                }
                ?? freeBytes(at: root).map { " (\(formatBytes($0)) free)" } ?? ""
            print("suite caches to build in \(root): \(formatBytes(bytes))" + room)
        }
    }

    /// The bytes of the caches `specs` still need, per cache root (`root` when given, else each
    /// sweep's own): their data hashed, no backbone run.
    static func cachesToBuild(_ specs: [SweepSpec], root given: String?) throws -> [String: Int] {
        var toBuild: [String: Int] = [:], counted: Set<String> = []
        for spec in specs {
            let plan = try CachePlan(try spec.cacheRequest())
            let root = cacheRoot(given, spec: spec)
            let header = ((root as NSString).appendingPathComponent(plan.key) as NSString).appendingPathComponent(
                CacheHeader.fileName)
            guard !FileManager.default.fileExists(atPath: header), counted.insert(root + "/" + plan.key).inserted else {
                continue
            }
            toBuild[root, default: 0] += CacheEstimate.bytes(of: plan)
        }
        return toBuild
    }

    /// Checks `spec` and prints its plan; returns the cache root and bytes of its cache when it is
    /// still to be built.
    @discardableResult
    static func validate(_ spec: SweepSpec) throws -> (String, Int)? {
        let splits = try spec.openSplits()  // list files, images and labels exist and agree
        print("\(spec.file): ok (spec hash \(spec.contentHash.prefix(12)))")
        print("  " + describeData(spec.data, splits: splits))
        let toBuild = try describeCost(spec)
        if spec.cache.compute != .fp32 {
            print(
                "  backbone compute: \(spec.cache.compute.rawValue)"
                    + (spec.cache.compute.unavailability.map { " (\($0): only a cache built elsewhere can be used)" }
                        ?? " (this CPU has AVX512_BF16)"))
        }
        guard let search = spec.search else {
            print("  no 'methods': this file describes a cache only"); return toBuild
        }
        let rejection = try constraintCheck(spec, search, splits: splits)
        var rejected = 0
        print(
            "  "
                + RunCommand.describePlan(
                    search, workers: search.workers ?? availableCores,
                    memory: search.memoryBytes ?? TrialPool.defaultMemoryBudget))
        for space in search.methods {
            let searched = space.searched.map { "\($0.name) \(describe($0.domain))" }
            print("  \(space.method): " + (searched.isEmpty ? "nothing searched" : searched.joined(separator: ", ")))
            // What every trial of the method trains with besides, the defaults included.
            let fixed = space.parameters.filter { !$0.domain.isSearched }.map {
                "\($0.name)=\(format($0.domain.value(at: 0)))"
            }
            if !fixed.isEmpty { print("    fixed: " + fixed.joined(separator: " ")) }
        }
        let sampler = Sampler(search)
        // Earlier sweeps named in the file are read now (as run would, when it starts); a suite's
        // previous tasks are known only then.
        var warm: WarmStart?
        switch search.warmStart {
        case nil: break
        case .previousTasks:
            print(
                "  warm start: from the suite's earlier tasks that have results when this task starts; their best configurations then replace the first ones listed"
            )
        case .sweeps(let paths):
            warm = try WarmStart.gather(from: paths, for: search)
            print(
                "  warm start from \(paths.joined(separator: ", ")): \(warm!.enqueued.count) best configuration\(warm!.enqueued.count == 1 ? "" : "s") first, \(warm!.priors.count) earlier trials inform TPE (as they stand now)"
            )
        }
        let startup =
            warm.map { $0.priors.isEmpty ? search.sampler.startup : $0.enqueued.count } ?? search.sampler.startup
        print("  planned trials:")
        // A large plan is summarised: its first lines, then a count (100 000 trials would be as many lines).
        let maximumLines = 60
        var lines = 0, covered = 0
        for g in 0..<search.generationCount {
            let indices = sampler.indices(generation: g)
            if lines >= maximumLines { break }
            if search.sampler.kind == .tpe && g > 0 && indices.lowerBound >= startup {
                lines += 1; covered = indices.upperBound
                print(
                    "    generation \(g + 1): configurations \(indices.lowerBound)…\(indices.upperBound - 1) proposed by TPE from earlier results"
                )
                continue
            }
            for (k, proposal) in zip(indices, sampler.propose(generation: g, history: [], warmStart: warm)).prefix(
                maximumLines - lines)
            {
                lines += 1; covered = k + 1
                let space = search.methods.first { $0.method == proposal.method }!
                let values = space.searched.map { "\($0.name)=\(format(proposal.values[$0.name]!))" }.joined(
                    separator: " ")
                let reason = rejection(proposal)
                if reason != nil { rejected += 1 }
                let seeds =
                    search.seeds.count <= 10
                    ? search.seeds.map(String.init).joined(separator: ",")
                    : "\(search.seeds.first!)…\(search.seeds.last!) (\(search.seeds.count))"
                let line =
                    String(format: "    config %-4d gen %d  ", k, g + 1)
                    + proposal.method.padding(toLength: 8, withPad: " ", startingAt: 0)
                let origin = k < (warm?.enqueued.count ?? 0) ? "  (warm start)" : ""
                print(
                    line + " " + values + "  × seeds " + seeds + origin + (reason.map { "  → rejected: " + $0 } ?? ""))
            }
        }
        if covered < search.trials {
            let rest = search.trials - covered
            print(
                "    … and \(rest) more configuration\(rest == 1 ? "" : "s"), up to generation \(search.generationCount)"
            )
        }
        if rejected > 0 {
            print(
                "  \(rejected) of the configurations listed break a constraint: they will be rejected before training")
        }
        return toBuild
    }

    /// Prints what the sweep's backbone work costs before any is done: its cache (built, or its
    /// distinct images, disk and backbone time, and whether the filesystem has room) and the images
    /// the final phase streams through the backbone. Returns the cache root and bytes still to build.
    static func describeCost(_ spec: SweepSpec) throws -> (String, Int)? {
        let plan = try CachePlan(try spec.cacheRequest())
        let root = cacheRoot(nil, spec: spec), directory = (root as NSString).appendingPathComponent(plan.key)
        let estimate = CacheEstimate(plan, root: root)
        var toBuild: (String, Int)?
        if let cache = try? ActivationCache(directory: directory) {
            print("  cache: built, \(directory): \(hpsweep.describe(cache))")
        } else {
            print(
                "  cache: \(hpsweep.describe(estimate, splits: plan.request.splits.count)), to build in \(root)"
                    + (CacheEstimate.shortage(estimate.bytes, root: root).map {
                        " — too much for the \(formatBytes($0)) free there: run and cache will refuse"
                    } ?? ""))
            toBuild = (root, estimate.bytes)
        }
        if let line = try finalStreamLine(
            spec, cachedSplits: Set(plan.request.splits.map(\.name)), imagesPerSecond: estimate.imagesPerSecond)
        {
            print(line)
        }
        return toBuild
    }

    /// The images the final phase streams through the backbone (its eval split is not cached), with
    /// their backbone time at `imagesPerSecond` when known; nil when it streams none.
    static func finalStreamLine(_ spec: SweepSpec, cachedSplits: Set<String>, imagesPerSecond: Double?) throws
        -> String?
    {
        guard let search = spec.search, search.finalTop > 0, !cachedSplits.contains(spec.data.finalEval) else {
            return nil
        }
        let streamed = try spec.openSplit(spec.data.finalEval).count
        return "  final phase: streams \(streamed) images of \(spec.data.finalEval) through the backbone once"
            + (imagesPerSecond.map { ", backbone ≈ \(formatDuration(Double(streamed) / $0))" } ?? "")
    }

    /// Why a proposal breaks one of the sweep's constraints (judged as `run` judges it, from the
    /// backbone's shapes and the search train split's size), or nil; no constraints, always nil.
    static func constraintCheck(_ spec: SweepSpec, _ search: SearchSpec, splits: [any ImageSplit]) throws -> (Proposal)
        -> String?
    {
        guard !search.constraints.isEmpty else { return { _ in nil } }
        let config = try spec.backbone.config()
        let tokens = spec.cache.tokenPolicy.tokens(for: config)
        let examples = splits.first { $0.name == spec.data.searchTrain }?.count ?? 0
        return { proposal in
            let settings = SideTuningCatalogue.settings(
                method: proposal.method, values: proposal.values, epochs: search.epochs, seed: 0)
            return TrialCosts(
                settings: settings, width: config.width, depth: config.depth, heads: config.heads, cacheTokens: tokens,
                classes: spec.data.classes, trainExamples: examples)?.violation(of: search.constraints)
        }
    }

    static func describe(_ domain: Domain) -> String {
        switch domain {
        case .fixed(let v): return "= \(v)"
        case .choice(let vs): return "choice {\(vs.map(\.description).joined(separator: ", "))}"
        case .grid(let vs): return "grid {\(vs.map(\.description).joined(separator: ", "))}"
        case let .uniform(lo, hi): return "uniform [\(lo), \(hi)]"
        case let .logUniform(lo, hi): return "loguniform [\(lo), \(hi)]"
        case let .integer(lo, hi, log): return "int [\(lo), \(hi)]\(log ? " log" : "")"
        }
    }

    static func format(_ value: ParameterValue) -> String {
        if case .number(let x) = value, x != x.rounded() { return String(format: "%.4g", x) }
        return value.description
    }

    /// The data in one line: classes (by name, when named), and the splits searched and retrained on.
    static func describeData(_ data: SweepSpec.DataSpec, splits: [any ImageSplit]) -> String {
        func count(_ name: String) -> String {
            splits.first { $0.name == name }.map { "\(name) (\($0.count))" } ?? name
        }
        var classes = "\(data.classes) classes"
        if let names = data.classNames {
            classes += " (" + names.prefix(8).joined(separator: ", ") + (names.count > 8 ? ", …" : "") + ")"
        }
        return "data: \(classes); search trains on \(count(data.searchTrain)), scores on \(count(data.searchEval)); "
            + "final retrains on \(count(data.finalTrain)), scores on \(count(data.finalEval))"
    }
}

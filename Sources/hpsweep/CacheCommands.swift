import Cache
import Foundation
import Numerics
import SideTuning
import Sweep

/// The options of building a cache, shared by `hpsweep cache` and `hpsweep run`.
enum CacheOptions {
    static let cacheDir = Option<String>.text(
        "cache-dir", "DIR", help: "Cache root (default: the sweep's cache.dir, else ./.hpsweep-cache).")
    static let threads = Option<Int>.positiveInteger(
        "threads", "N", help: "Threads for the backbone while caching (default: all \(availableCores) cores).",
        maximum: 4096)
    static let batch = Option<Int>.positiveInteger(
        "batch", "N", help: "Images per backbone pass (default: the sweep's cache.batch_size, 32).", maximum: 1 << 16)
    static let noVerify = Flag("no-verify", help: "Reuse an existing cache after checking sizes only (skip CRC-32s).")
}

/// The cache root: `given` (--cache-dir), else the sweep's `cache.dir`, else ./.hpsweep-cache.
func cacheRoot(_ given: String?, spec: SweepSpec? = nil) -> String {
    given ?? spec?.cache.directory ?? FileManager.default.currentDirectoryPath + "/.hpsweep-cache"
}

func describe(_ cache: ActivationCache) -> String {
    let h = cache.header
    let splits = h.splits.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
    let bytes = h.arrays.reduce(0) { $0 + $1.bytes }
    let images = h.images.map { "\($0) distinct images in " } ?? "format 1, each split stored whole: "
    return
        "\(h.taps.count) taps (\(h.taps.first!)…\(h.taps.last!)), \(h.tokens)×\(h.width) per example, \(h.dtype.rawValue), \(images)\(splits); \(String(format: "%.1f", Double(bytes) / 1_048_576)) MiB"
}

/// "1797 distinct images (of 2797 examples in 4 splits), 28.0 MiB, backbone ≈ 1s (3500 images/s, measured on this machine)".
func describe(_ estimate: CacheEstimate, splits: Int) -> String {
    "\(estimate.distinctImages) distinct images (of \(estimate.examples) examples in \(splits) split\(splits == 1 ? "" : "s")), \(formatBytes(estimate.bytes))"
        + ", backbone ≈ \(formatDuration(estimate.backboneSeconds)) ("
        + String(format: "%.1f", estimate.imagesPerSecond) + " images/s, \(estimate.rateBasis))"
}

/// Refuses a build the filesystem of `root` has no room for (with 1% and 64 MiB to spare), in one
/// line with both numbers, before the backbone runs.
func checkSpace(for estimate: CacheEstimate, root: String, name: String) throws {
    if let free = CacheEstimate.shortage(estimate.bytes, root: root) {
        throw FileProblem(
            "\(root): the cache of \(name) needs \(formatBytes(estimate.bytes)) and this filesystem has \(formatBytes(free)) free; free some space or give another --cache-dir"
        )
    }
}

/// `hpsweep cache SWEEP.json`: build (or reuse) the activation cache a sweep needs.
enum CacheBuildCommand: Command {
    static let path = ["cache"]
    static let summary =
        "Build (or reuse) the activation cache of a sweep: the frozen backbone runs once over its splits."
    static let usage = "SWEEP.json [--cache-dir DIR] [--threads N] [--batch N] [--no-verify]"
    static let options = [
        CacheOptions.cacheDir.spec, CacheOptions.threads.spec, CacheOptions.batch.spec, CacheOptions.noVerify.spec,
    ]

    static func run(_ arguments: ParsedArguments) throws {
        guard arguments.positionals.count == 1 else {
            throw UsageError("'\(displayName)' needs one sweep file; usage: \(displayName) \(usage)")
        }
        let spec = try SweepSpec.load(arguments.positionals[0])
        print(machineLine)
        let stop = StopFlag(stopping: "stopping the cache build (Ctrl-C again to quit now)")
        stop.installSignalHandlers()
        _ = try buildCache(for: spec, arguments: arguments, stop: stop)
    }

    /// Builds or reuses the cache of `spec`, as `arguments` say through `CacheOptions`; shared with `hpsweep run`.
    /// A stop request (`stop`) ends the build with nothing of it kept, and the command with status 130.
    static func buildCache(for spec: SweepSpec, arguments: ParsedArguments, stop: StopFlag) throws -> (
        ActivationCache, CachePlan
    ) {
        do { return try buildCache(for: spec, arguments: arguments, shouldStop: { stop.isSet }) } catch let error
            as CacheError
        {
            guard case .interrupted = error else { throw error }
            FileHandle.standardError.write(Data("hpsweep: \(error)\n".utf8))
            throw ExitStatus.interrupted
        }
    }

    private static func buildCache(
        for spec: SweepSpec, arguments: ParsedArguments, shouldStop: @escaping () -> Bool
    ) throws -> (ActivationCache, CachePlan) {
        var builder = CacheBuilder(root: cacheRoot(arguments[CacheOptions.cacheDir], spec: spec))
        builder.shouldStop = shouldStop
        builder.threads = try arguments.value(CacheOptions.threads, default: availableCores)
        builder.batchSize = try arguments.value(CacheOptions.batch, default: spec.cache.batchSize)
        print("hpsweep cache: \(spec.name): hashing backbone and data…")
        let plan = try CachePlan(try spec.cacheRequest())
        let directory = builder.directory(for: plan.key)
        // One builder per cache: other processes (workers of the same sweep) wait, then reuse it.
        let cache = try builder.withBuildLock(
            key: plan.key, onWait: { print("  another process is building \(directory); waiting for it") }
        ) {
            () throws -> ActivationCache in
            if let existing = try builder.existing(plan, verify: !arguments.isSet(CacheOptions.noVerify)) {
                print("  reusing \(directory)")
                print("  \(describe(existing))")
                if existing.header.formatVersion == 1 {
                    print(
                        "  (a format-1 cache, read as it is; delete the directory to rebuild it with each distinct image stored once)"
                    )
                }
                return existing
            }
            let total = plan.images.count
            let estimate = CacheEstimate(plan, root: builder.root, threads: builder.threads)
            print(
                "  building \(directory): \(describe(estimate, splits: plan.request.splits.count)) through \(plan.vit.config), batch \(builder.batchSize)"
            )
            try checkSpace(for: estimate, root: builder.root, name: spec.name)
            let printer = ProgressPrinter()
            let start = Date()
            let cache = try builder.build(plan, progress: printer.report)
            let seconds = Date().timeIntervalSince(start)
            print(
                String(
                    format: "  done in %@ (%.1f images/s)", formatDuration(seconds), Double(total) / max(seconds, 1e-9))
            )
            print("  \(describe(cache))")
            return cache
        }
        return (cache, plan)
    }
}

/// `hpsweep cache verify DIR`: check a cache's header, sizes and every CRC-32.
enum CacheVerifyCommand: Command {
    static let path = ["cache", "verify"]
    static let summary = "Check a cache directory: header, array sizes and every CRC-32."
    static let usage = "CACHE_DIR"
    static let options: [OptionSpec] = []

    static func run(_ arguments: ParsedArguments) throws {
        guard arguments.positionals.count == 1 else { throw UsageError("'\(displayName)' needs one cache directory") }
        let cache = try ActivationCache(directory: arguments.positionals[0])
        try cache.verify()
        print("\(cache.directory): ok, key \(cache.key)")
        print("  \(describe(cache))")
    }
}

/// `hpsweep cache import DIR`: bring in a cache written elsewhere by the documented format.
enum CacheImportCommand: Command {
    static let cacheDir = Option<String>.text(
        "cache-dir", "DIR", help: "Cache root to import into (default ./.hpsweep-cache).")
    static let path = ["cache", "import"]
    static let summary =
        "Import a cache written elsewhere (docs/cache-format.md) into the cache root, after full checks."
    static let usage = "SOURCE_DIR [--cache-dir DIR]"
    static let options = [
        cacheDir.spec
    ]

    static func run(_ arguments: ParsedArguments) throws {
        guard arguments.positionals.count == 1 else { throw UsageError("'\(displayName)' needs one source directory") }
        let (cache, present) = try CacheImporter.importCache(
            from: arguments.positionals[0], into: cacheRoot(arguments[CacheImportCommand.cacheDir]))
        print(
            present
                ? "\(cache.directory): already present (same key); nothing copied" : "imported into \(cache.directory)")
        print("  \(describe(cache))")
    }
}

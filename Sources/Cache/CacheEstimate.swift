import Backbone
import Essentials
import Foundation
import Numerics

/// What building a plan's cache costs, known before the build: its distinct images, its bytes on disk
/// and the backbone's time, from the rate of the last cache built here with the same backbone, else
/// from a short measured forward pass on this machine.
public struct CacheEstimate {
    public let distinctImages: Int
    public let examples: Int
    public let bytes: Int
    public let imagesPerSecond: Double
    /// Where the rate comes from ("measured on this machine", "as <dir> was built").
    public let rateBasis: String

    public var backboneSeconds: Double { Double(distinctImages) / imagesPerSecond }

    /// Bytes of `plan`'s format-2 cache: every tap of each distinct image, and each example's index and label.
    public static func bytes(of plan: CachePlan) -> Int {
        let tokens = plan.request.tokenPolicy.tokens(for: plan.vit.config)
        let examples = plan.request.splits.reduce(0) { $0 + $1.count }
        return plan.images.count * plan.taps.count * tokens * plan.vit.config.width * plan.request.dtype.byteCount + 16
            * examples
    }

    /// Whether `bytes` more fit on the filesystem of `root`, keeping 1% and 64 MiB to spare; the free
    /// bytes when they do not (nil when they fit or the filesystem cannot be asked).
    public static func shortage(_ bytes: Int, root: String) -> Int? {
        guard let free = freeBytes(at: root), free < bytes + bytes / 100 + (64 << 20) else { return nil }
        return free
    }

    /// The estimate of `plan`'s cache under `root`, measuring the backbone (one small batch) only when
    /// no cache under `root` was built with the same backbone, compute and taps.
    public init(_ plan: CachePlan, root: String, threads: Int = availableCores) {
        distinctImages = plan.images.count
        examples = plan.request.splits.reduce(0) { $0 + $1.count }
        bytes = Self.bytes(of: plan)
        if let (rate, directory) = Self.recordedRate(plan, root: root) {
            imagesPerSecond = rate; rateBasis = "as \(directory) was built"
        } else {
            imagesPerSecond = Self.measuredRate(plan, threads: threads); rateBasis = "measured on this machine"
        }
    }

    /// Images per second of the most recent cache under `root` built with this plan's backbone (weights
    /// or seed, configuration, compute) and taps, from its header's build time.
    static func recordedRate(_ plan: CachePlan, root: String) -> (Double, String)? {
        guard case .object(let mine) = plan.ingredients,
            let entries = try? FileManager.default.contentsOfDirectory(atPath: root)
        else { return nil }
        var best: (rate: Double, directory: String, date: Date)?
        for entry in entries where entry.count == 64 {
            let directory = (root as NSString).appendingPathComponent(entry)
            let headerPath = (directory as NSString).appendingPathComponent(CacheHeader.fileName)
            guard let data = contentsOfRegularFile(headerPath),
                let header = try? CacheHeader(json: data, path: headerPath),
                let seconds = header.buildSeconds, seconds > 0, case .object(let theirs) = header.ingredients,
                ["backbone", "taps", "compute", "preprocessing"].allSatisfy({ theirs[$0] == mine[$0] })
            else { continue }
            let date =
                (try? FileManager.default.attributesOfItem(atPath: headerPath)[.modificationDate] as? Date)
                ?? .distantPast
            if best == nil || date > best!.date { best = (Double(header.storedImages) / seconds, directory, date) }
        }
        return best.map { ($0.rate, $0.directory) }
    }

    /// Images per second of the plan's backbone on this machine: one warm-up and one timed forward pass
    /// of a small batch of blank images, with the plan's taps.
    static func measuredRate(_ plan: CachePlan, threads: Int) -> Double {
        let config = plan.vit.config, batch = max(2, threads)
        let images = Tensor(shape: [batch, config.channels, config.imageSize, config.imageSize])
        let blocks = plan.taps.compactMap { if case .block(let i) = $0 { return i } else { return nil } }
        var output = ViT.Output(taps: [:], normalizedFinal: nil)
        var seconds = 0.0
        for pass in 0..<2 {
            let start = DispatchTime.now().uptimeNanoseconds
            plan.vit.forward(
                images: images, taps: blocks, normalizedFinal: plan.taps.contains(.normalized), threads: threads,
                into: &output)
            if pass == 1 { seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
        }
        return Double(batch) / max(seconds, 1e-9)
    }
}

/// Free bytes of the filesystem holding `path`, or of its nearest existing ancestor (a cache root not
/// made yet); nil when it cannot be asked.
public func freeBytes(at path: String) -> Int? {
    var probe = (path as NSString).standardizingPath
    while !FileManager.default.fileExists(atPath: probe), probe != "/", !probe.isEmpty {
        probe = (probe as NSString).deletingLastPathComponent
    }
    var stats = statvfs()
    guard statvfs(probe.isEmpty ? "." : probe, &stats) == 0 else { return nil }
    return Int(stats.f_bavail) * Int(stats.f_frsize)
}

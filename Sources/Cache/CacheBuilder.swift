import Backbone
import Datasets
import Essentials
import Foundation
import Numerics

/// Progress of a cache build, reported after every batch.
public struct CacheProgress {
    public let split: String
    public let done: Int
    public let total: Int
    /// Images of this build so far, over all splits.
    public let imagesDone: Int
    public let imagesTotal: Int
    public let imagesPerSecond: Double
    public var etaSeconds: Double {
        imagesPerSecond > 0 ? Double(imagesTotal - imagesDone) / imagesPerSecond : .infinity
    }

    public init(split: String, done: Int, total: Int, imagesDone: Int, imagesTotal: Int, imagesPerSecond: Double) {
        self.split = split; self.done = done; self.total = total
        self.imagesDone = imagesDone; self.imagesTotal = imagesTotal; self.imagesPerSecond = imagesPerSecond
    }
}

/// Builds cache directories under a root (default `.hpsweep-cache/`).
///
/// A build streams each distinct image of the splits once through the backbone (`BackboneStream`)
/// and appends each batch's encoded taps to one file per tap with a running CRC-32; each split is then
/// its labels and its examples' rows among those images (format 2, docs/cache-format.md). Memory is bounded by the
/// batch size, never by the dataset. Everything is written under `.building-<key>.<pid>/` and renamed
/// to `<key>/` only when complete and synced, so a killed build never leaves a cache that looks valid;
/// the next build removes the leftovers of dead builders and starts again.
public struct CacheBuilder {
    public let root: String
    public var batchSize: Int = 32
    public var threads: Int = availableCores

    public init(root: String) { self.root = root }

    public func directory(for key: String) -> String { (root as NSString).appendingPathComponent(key) }

    /// The finished cache of `plan` if one exists (checked: sizes always, CRCs when `verify`).
    public func existing(_ plan: CachePlan, verify: Bool) throws -> ActivationCache? {
        let dir = directory(for: plan.key)
        guard FileManager.default.fileExists(atPath: (dir as NSString).appendingPathComponent(CacheHeader.fileName))
        else { return nil }
        let cache = try ActivationCache(directory: dir)
        guard cache.key == plan.key else {
            throw CacheError.keyMismatch(path: dir, declared: cache.key, computed: plan.key)
        }
        if verify { try cache.verify() }
        return cache
    }

    /// Runs `body` holding the build lock of `key` (an fcntl record lock on `<root>/.lock-<key>`, which
    /// NFS supports), so that processes sharing a cache root build each cache once: the others wait,
    /// then find it built. `onWait` is called if another process holds the lock.
    public func withBuildLock<T>(key: String, onWait: () -> Void, _ body: () throws -> T) throws -> T {
        do { try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true) } catch {
            throw CacheError.writeFailed(path: root, reason: error.localizedDescription)
        }
        let path = (root as NSString).appendingPathComponent(".lock-\(key)")
        let fd = open(path, O_RDWR | O_CREAT, 0o644)
        guard fd >= 0 else { throw CacheError.writeFailed(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }  // closing drops the lock
        var request = flock()
        request.l_type = Int16(F_WRLCK)
        request.l_whence = Int16(SEEK_SET)
        var waited = false
        // Polled rather than F_SETLKW, so that a stop request ends the wait.
        while fcntl(fd, F_SETLK, &request) != 0 {
            guard errno == EACCES || errno == EAGAIN || errno == EINTR else {
                throw CacheError.writeFailed(path: path, reason: "cannot lock: \(String(cString: strerror(errno)))")
            }
            if !waited { onWait(); waited = true }
            if shouldStop() { throw CacheError.interrupted(path: directory(for: key)) }
            usleep(100_000)
        }
        return try body()
    }

    /// Asked between batches and while waiting for another builder: true stops the build with
    /// `CacheError.interrupted` (its staging directory removed, so no valid-looking cache is left).
    public var shouldStop: () -> Bool = { false }

    /// Builds the cache of `plan` (whether or not one exists: callers check `existing` first).
    public func build(_ plan: CachePlan, progress: ((CacheProgress) -> Void)? = nil) throws -> ActivationCache {
        if let problem = plan.request.compute.unavailability { throw CacheError.computeUnavailable(detail: problem) }
        let fm = FileManager.default
        do { try fm.createDirectory(atPath: root, withIntermediateDirectories: true) } catch {
            throw CacheError.writeFailed(path: root, reason: error.localizedDescription)
        }
        removeAbandonedBuilds(key: plan.key)
        let staging = (root as NSString).appendingPathComponent(".building-\(plan.key).\(getpid())")
        try? fm.removeItem(atPath: staging)
        do { try fm.createDirectory(atPath: staging, withIntermediateDirectories: false) } catch {
            throw CacheError.writeFailed(path: staging, reason: error.localizedDescription)
        }
        var finished = false
        defer { if !finished { try? fm.removeItem(atPath: staging) } }

        let config = plan.vit.config
        let request = plan.request
        let tokens = request.tokenPolicy.tokens(for: config)
        let images = DistinctImages(plan: plan)
        let start = DispatchTime.now().uptimeNanoseconds
        var arrays = try writeImages(images, plan: plan, tokens: tokens, into: staging) { done in
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            progress?(
                CacheProgress(
                    split: images.name, done: done, total: images.count, imagesDone: done,
                    imagesTotal: images.count, imagesPerSecond: Double(done) / max(seconds, 1e-9)))
        }
        for (split, rows) in zip(request.splits, plan.rows) {
            arrays.append(try writeIntegers(split.labels, split: split.name, name: "labels", into: staging))
            arrays.append(try writeIntegers(rows, split: split.name, name: "index", into: staging))
        }
        var header = CacheHeader(
            key: plan.key, dtype: request.dtype, tokenPolicy: request.tokenPolicy, tokens: tokens,
            width: config.width, taps: plan.taps, images: images.count,
            splits: Dictionary(uniqueKeysWithValues: request.splits.map { ($0.name, $0.count) }),
            arrays: arrays, ingredients: plan.ingredients, createdBy: "hpsweep")
        header.buildSeconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        header.classNames = request.classNames
        let headerPath = (staging as NSString).appendingPathComponent(CacheHeader.fileName)
        try writeSynced(try header.jsonData(), to: headerPath)
        syncDirectory(staging)
        let final = directory(for: plan.key)
        if rename(staging, final) != 0 {
            let failure = errno  // (before any other call can change it)
            let finalHeader = (final as NSString).appendingPathComponent(CacheHeader.fileName)
            // Another builder finished the same key first: keep theirs.
            if failure == ENOTEMPTY || failure == EEXIST, fm.fileExists(atPath: finalHeader) {
                return try ActivationCache(directory: final)
            }
            // A directory of this key without its header is no cache (a header is the last thing a
            // build writes, by this rename): what is left of one damaged by hand. Replace it.
            guard failure == ENOTEMPTY || failure == EEXIST, (try? fm.removeItem(atPath: final)) != nil,
                rename(staging, final) == 0
            else {
                throw CacheError.writeFailed(path: final, reason: String(cString: strerror(failure)))
            }
        }
        finished = true
        syncDirectory(root)
        return try ActivationCache(directory: final)
    }

    /// Streams the distinct images through the backbone, writing one array per tap.
    private func writeImages(
        _ split: DistinctImages, plan: CachePlan, tokens: Int, into staging: String,
        progress: (Int) -> Void
    ) throws -> [CacheArray] {
        let width = plan.vit.config.width, dtype = plan.request.dtype
        var writers = try plan.taps.map { tap in
            try ArrayWriter(path: (staging as NSString).appendingPathComponent("\(split.name).\(tap).bin"))
        }
        try BackboneStream(plan: plan, split: split, batchSize: batchSize, threads: threads).forEachBatch {
            range, encoded in
            if shouldStop() { throw CacheError.interrupted(path: directory(for: plan.key)) }
            for t in plan.taps.indices {
                if let element = firstNonFinite(encoded[t], dtype: dtype) {
                    let image = plan.images[range.lowerBound + element / (tokens * width)]
                    throw CacheError.nonFinite(
                        path: writers[t].path, element: element,
                        detail:
                            "the backbone's \(plan.taps[t]) of image \(image.example) of split \(plan.request.splits[image.split].name)"
                            + (dtype == .float16 ? " (beyond F16's ±65504? use \"dtype\": \"bf16\" or \"f32\")" : ""))
                }
                try writers[t].append(encoded[t])
            }
            progress(range.upperBound)
        }
        var arrays: [CacheArray] = []
        for (t, tap) in plan.taps.enumerated() {
            try writers[t].finish()
            arrays.append(
                CacheArray(
                    split: nil, tap: tap.description, file: "\(split.name).\(tap).bin",
                    shape: [split.count, tokens, width], dtype: dtype.rawValue,
                    bytes: writers[t].bytes, crc32: writers[t].crc.value))
        }
        return arrays
    }

    /// A split's labels or rows (`name`) as an I64 array `<split>.<name>.bin`.
    private func writeIntegers(_ values: [Int], split: String, name: String, into staging: String) throws -> CacheArray
    {
        let file = "\(split).\(name).bin"
        var writer = try ArrayWriter(path: (staging as NSString).appendingPathComponent(file))
        try values.map { Int64($0).littleEndian }.withUnsafeBytes { try writer.append($0) }
        try writer.finish()
        return CacheArray(
            split: split, tap: name, file: file, shape: [values.count], dtype: "I64", bytes: writer.bytes,
            crc32: writer.crc.value)
    }

    /// Removes `.building-<key>.<pid>` directories whose builder process is gone.
    private func removeAbandonedBuilds(key: String) {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: root) else { return }
        for entry in entries where entry.hasPrefix(".building-\(key).") {
            if let pid = Int32(entry.split(separator: ".").last ?? ""), pid != getpid(), kill(pid, 0) == 0 { continue }
            try? FileManager.default.removeItem(atPath: (root as NSString).appendingPathComponent(entry))
        }
    }

    private func writeSynced(_ data: Data, to path: String) throws {
        var writer = try ArrayWriter(path: path)
        try data.withUnsafeBytes { try writer.append($0) }
        try writer.finish()
    }

    private func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY)
        if fd >= 0 { fsync(fd); close(fd) }
    }
}

/// Appends bytes to a new file, keeping a CRC-32; `finish` fsyncs and closes it.
struct ArrayWriter {
    let path: String
    private var fd: Int32
    private(set) var bytes = 0
    private(set) var crc = CRC32()

    init(path: String) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw CacheError.writeFailed(path: path, reason: String(cString: strerror(errno))) }
    }

    mutating func append(_ buffer: UnsafeRawBufferPointer) throws {
        crc.update(buffer)
        do { try writeAll(fd, buffer) } catch {
            close(fd)
            fd = -1
            throw CacheError.writeFailed(path: path, reason: "\(error)")
        }
        bytes += buffer.count
    }

    mutating func finish() throws {
        guard fd >= 0 else { return }
        defer { close(fd); fd = -1 }
        guard fsync(fd) == 0 else { throw CacheError.writeFailed(path: path, reason: String(cString: strerror(errno))) }
    }
}

/// The distinct images of a plan's splits as one split (`images`), each read from the split and
/// example of its first occurrence: what a build runs through the backbone.
struct DistinctImages: ImageSplit {
    let plan: CachePlan
    var name: String { "images" }
    var count: Int { plan.images.count }
    var labels: [Int] { plan.images.map { plan.request.splits[$0.split].labels[$0.example] } }
    var files: [String] { [] }

    func loadImage(at index: Int, preprocessing: Preprocessing, into out: UnsafeMutablePointer<Float>) throws {
        let image = plan.images[index]
        try plan.request.splits[image.split].loadImage(at: image.example, preprocessing: preprocessing, into: out)
    }

    func exampleDigest(at index: Int, fileDigest: (String) throws -> String) throws -> String {
        let image = plan.images[index]
        return try plan.request.splits[image.split].exampleDigest(at: image.example, fileDigest: fileDigest)
    }
}

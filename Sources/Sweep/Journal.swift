import Essentials
import Foundation

/// One line of `journal.jsonl` (docs/formats.md): what happened to the sweep, in order.
public struct JournalEvent: Codable, Equatable {
    public enum Kind: String, Codable {
        case sweep, planned, started, epoch, rung, pruned, finished, diverged, failed, final, rejected
        case warmStart = "warm_start"
    }
    public var event: Kind
    /// Unix time in seconds.
    public var time: Double
    public var trial: String?
    // sweep
    public var specSha256: String?
    public var hpsweepVersion: String?
    public var cacheKey: String?
    public var sweepName: String?
    public var specFile: String?
    /// "metric:direction", primary first.
    public var objectives: [String]?
    /// Trials the sweep will run (configurations × seeds).
    public var trialsPlanned: Int?
    /// The sweep file (without workers and memory) and its revision: 1 when the sweep started, +1 at
    /// each extension.
    public var spec: JSONValue?
    public var revision: Int?
    /// For cost accounting: cache_seconds, cache_images, train_images, eval_images, final_train_images, final_eval_images.
    public var costBasis: [String: Double]?
    // planned: the trial's content key (TrialKey)
    public var key: String?
    // started, outcomes: who ran it, under which lease generation, with which hpsweep, on which CPU
    // and BLAS kernel (results differ in the last bits between kernels)
    public var host: String?
    public var lease: Int?
    public var version: String?
    public var cpu: String?
    public var blas: String?
    // planned
    public var generation: Int?
    public var config: Int?
    public var method: String?
    public var params: [String: ParameterValue]?
    public var seed: Int?
    public var trialSeed: UInt64?
    // started (the epoch count it trains to), rung, pruned
    public var epochs: Int?
    public var record: EpochRecord?
    // rung, finished, diverged, final
    public var result: TrialResult?
    // failed
    public var error: String?
    // final
    public var testAcc: Float?
    public var testLoss: Float?
    // final (and finished, with keep_models "finished"): the model file, relative to the sweep's directory
    public var modelFile: String?
    /// final: examples of the eval split by true class (row) and predicted class (column)
    public var confusion: [[Int]]?
    /// warm_start: what the sweep takes from earlier sweeps (WarmStart), recorded before its first plan
    public var warmStart: WarmStart?

    enum CodingKeys: String, CodingKey {
        case event, time, trial, specSha256 = "spec_sha256", hpsweepVersion = "hpsweep_version", cacheKey = "cache_key"
        case sweepName = "sweep_name", specFile = "spec_file", objectives, trialsPlanned = "trials_planned", spec, revision, key, costBasis = "cost_basis"
        case host, lease, version, cpu, blas
        case generation, config, method, params, seed, trialSeed = "trial_seed", epochs, record, result, error
        case testAcc = "test_acc", testLoss = "test_loss", modelFile = "model_file", confusion, warmStart = "warm_start"
    }

    public init(_ event: Kind, trial: String? = nil, time: Double = Date().timeIntervalSince1970) {
        self.event = event; self.trial = trial; self.time = time
    }
}

/// A journal that cannot be read: the file, the line and what is wrong.
public struct JournalError: Error, CustomStringConvertible {
    public let path: String
    public let line: Int?
    public let message: String
    public var description: String { "\(path)\(line.map { ":\($0)" } ?? ""): \(message)" }
    public init(path: String, line: Int?, message: String) { self.path = path; self.line = line; self.message = message }
}

/// The append-only journal of a sweep. Each event is one JSON line, written with a single write()
/// and (all but per-epoch progress lines) fsync'ed before `append` returns, so after a crash the file
/// holds every result that was reported plus at most one torn final line, which reading ignores (and
/// opening for append cuts off).
public final class Journal {
    public let path: String
    private let fd: Int32
    private let lock = NSLock()

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return e
    }()
    static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return d
    }()

    /// Opens (creating) the journal for appending, first cutting off a torn final line.
    public init(path: String) throws {
        self.path = path
        if let data = FileManager.default.contents(atPath: path), let last = data.last, last != UInt8(ascii: "\n") {
            let keep = (data.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 }) ?? 0
            guard truncate(path, off_t(keep)) == 0 else {
                throw JournalError(path: path, line: nil, message: "cannot cut off the torn last line: \(String(cString: strerror(errno)))")
            }
        }
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0o644)
        guard fd >= 0 else { throw JournalError(path: path, line: nil, message: "cannot open for appending: \(String(cString: strerror(errno)))") }
    }

    deinit { close(fd) }

    public func append(_ event: JournalEvent) throws { try append(contentsOf: [event]) }

    /// Appends several events with one write and (unless all are epoch lines) one fsync. A kill
    /// part-way leaves a prefix of them plus a torn line: readers must not assume all or none.
    public func append(contentsOf events: [JournalEvent]) throws {
        guard !events.isEmpty else { return }
        var lines = Data()
        for event in events { lines.append(try Self.line(event)) }
        lock.lock()
        defer { lock.unlock() }
        do { try lines.withUnsafeBytes { try writeAll(fd, $0) } } catch {
            throw JournalError(path: path, line: nil, message: "write failed: \(error)")
        }
        // Started and epoch lines only report progress (the checkpoint and the next rung/finished line
        // hold the state): written, so a killed process keeps them, but not fsync'ed one by one.
        guard events.allSatisfy({ $0.event == .epoch || $0.event == .started }) || fsync(fd) == 0 else {
            throw JournalError(path: path, line: nil, message: "fsync failed: \(String(cString: strerror(errno)))")
        }
    }

    /// The journal files of a results directory: `journal.jsonl` (written by a plain `hpsweep run`) and
    /// `journal-<worker>.jsonl` (one per `--worker` process: each file has a single writer), sorted.
    public static func files(in directory: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0 == "journal.jsonl" || ($0.hasPrefix("journal-") && $0.hasSuffix(".jsonl")) }.sorted()
            .map { (directory as NSString).appendingPathComponent($0) }
    }

    /// Every event of every journal file of `directory`, file after file (SweepState's rules make the
    /// result independent of how the files interleave in time).
    public static func readAll(directory: String) throws -> [JournalEvent] {
        try files(in: directory).flatMap { try read($0) }
    }

    /// One journal line: the event's JSON with a last field `"crc32"`, the CRC-32 (hex) of the line
    /// as it would read without that field, then a newline.
    static func line(_ event: JournalEvent) throws -> Data {
        var json = try encoder.encode(event)
        let crc = json.withUnsafeBytes { CRC32.of($0) }
        json.removeLast()   // the closing brace
        json.append(contentsOf: Array(String(format: ",\"crc32\":\"%08x\"}\n", crc).utf8))
        return json
    }

    /// Parses one line (without its newline), checking its CRC when it has one.
    static func parse(_ line: Data, path: String, lineNumber: Int) throws -> JournalEvent {
        let suffix = 20   // ,"crc32":"xxxxxxxx"}
        if line.count > suffix, line[line.endIndex - suffix..<line.endIndex - 10].elementsEqual(Array(",\"crc32\":\"".utf8)) {
            var body = Data(line[line.startIndex..<line.endIndex - suffix])
            body.append(UInt8(ascii: "}"))
            let stored = String(decoding: line[line.endIndex - 10..<line.endIndex - 2], as: UTF8.self)
            let computed = String(format: "%08x", body.withUnsafeBytes { CRC32.of($0) })
            guard stored == computed else {
                throw JournalError(path: path, line: lineNumber, message: "corrupt journal line (CRC-32 \(computed), the line says \(stored)); the sweep cannot resume from it")
            }
        }
        do { return try decoder.decode(JournalEvent.self, from: line) } catch {
            throw JournalError(path: path, line: lineNumber, message: "corrupt journal line (not a journal event); the sweep cannot resume from it")
        }
    }

    /// Every complete event of the journal at `path` (none if it does not exist). A torn final line
    /// (no newline) is ignored; a line that does not parse anywhere else is an error naming it.
    public static func read(_ path: String) throws -> [JournalEvent] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        return try parseLines(data, path: path, firstLine: 1).events
    }

    /// The events of the complete lines of `data` (line numbers from `firstLine`, for errors), and
    /// how many bytes and lines they took: a final line without its newline is left for later.
    static func parseLines(_ data: Data, path: String, firstLine: Int) throws -> (events: [JournalEvent], bytes: Int, lines: Int) {
        var events: [JournalEvent] = []
        var lineNumber = firstLine - 1
        var start = data.startIndex
        while let end = data[start...].firstIndex(of: UInt8(ascii: "\n")) {
            lineNumber += 1
            let line = data[start..<end]
            start = end + 1
            if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") }) { continue }
            events.append(try parse(Data(line), path: path, lineNumber: lineNumber))
        }
        return (events, start - data.startIndex, lineNumber - firstLine + 1)
    }
}

/// Reads the journals of a results directory incrementally: each call returns the complete lines
/// appended to any journal file since the previous call (new files included). Workers poll the
/// journals often; parsing only what is new keeps that cheap.
public final class JournalFollower {
    public let directory: String
    private var offsets: [String: UInt64] = [:]
    private var lines: [String: Int] = [:]
    private var handles: [String: FileHandle] = [:]
    private var listedAt = DispatchTime(uptimeNanoseconds: 0)
    /// New journal files (workers that joined) are looked for at most this often.
    public var rescanSeconds = 0.25

    public init(directory: String) { self.directory = directory }

    deinit { for handle in handles.values { try? handle.close() } }

    /// Follows `path` from now on without waiting for the next rescan (our own journal).
    public func watch(_ path: String) {
        if handles[path] == nil, let handle = FileHandle(forReadingAtPath: path) { handles[path] = handle }
    }

    /// `rescan`: look for new journal files now (before claiming a trial: a worker that joined since
    /// the last look may have trained it).
    public func newEvents(rescan: Bool = false) throws -> [JournalEvent] {
        var events: [JournalEvent] = []
        let now = DispatchTime.now()
        if rescan || handles.isEmpty || Double(now.uptimeNanoseconds - listedAt.uptimeNanoseconds) / 1e9 >= rescanSeconds {
            listedAt = now
            for path in Journal.files(in: directory) where handles[path] == nil {
                if let handle = FileHandle(forReadingAtPath: path) { handles[path] = handle }
            }
        }
        for path in handles.keys.sorted() {
            let handle = handles[path]!
            let offset = offsets[path] ?? 0
            try handle.seek(toOffset: offset)
            guard let data = try handle.readToEnd(), !data.isEmpty else { continue }
            // Only complete lines; a partial last line is read again next time, when it may be whole.
            let parsed = try Journal.parseLines(data, path: path, firstLine: (lines[path] ?? 0) + 1)
            events += parsed.events
            offsets[path] = offset + UInt64(parsed.bytes)
            lines[path, default: 0] += parsed.lines
        }
        return events
    }
}

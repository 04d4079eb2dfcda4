import Essentials
import Foundation

/// A journal that cannot be read, or one of its lines that holds no event: the file, the line and what is wrong.
public struct JournalError: Error, CustomStringConvertible {
    public let path: String
    public let line: Int?
    public let message: String
    public var description: String { "\(path)\(line.map { ":\($0)" } ?? ""): \(message)" }
    public init(path: String, line: Int?, message: String) {
        self.path = path; self.line = line; self.message = message
    }

    /// The sweep file changed in ways that make the journal's trials and new ones incomparable.
    static func incomparableChange(journal: String, file: String, changes: [String]) -> JournalError {
        JournalError(
            path: journal, line: nil,
            message: """
                \(file) changed in ways that make its old and new trials incomparable (\(changes.joined(separator: "; "))); \
                extend a sweep only through methods, space, trials, seeds or final_top, or rerun with --fresh to start over \
                (the old results are moved aside)
                """)
    }

    /// The journal predates recorded sweep files and was written for another one.
    static func otherSpec(journal: String, file: String, journaled: String, now: String) -> JournalError {
        JournalError(
            path: journal, line: nil,
            message: """
                was written for a different version of \(file) (spec hash \(journaled.prefix(12)), now \(now.prefix(12))); \
                rerun with --fresh to start over (the old results are moved aside)
                """)
    }
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
        e.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return e
    }()
    static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return d
    }()

    /// Opens (creating) the journal for appending, first cutting off a torn final line.
    public init(path: String) throws {
        self.path = path
        if let data = contentsOfRegularFile(path), let last = data.last, last != UInt8(ascii: "\n") {
            let keep = (data.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 }) ?? 0
            guard truncate(path, off_t(keep)) == 0 else {
                throw JournalError(
                    path: path, line: nil,
                    message: "cannot cut off the torn last line: \(String(cString: strerror(errno)))")
            }
        }
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0o644)
        guard fd >= 0 else {
            throw JournalError(
                path: path, line: nil, message: "cannot open for appending: \(String(cString: strerror(errno)))")
        }
    }

    deinit { close(fd) }

    public func append(_ event: JournalEvent) throws { try append(contentsOf: [event]) }

    /// Appends several events with one write and (unless all are epoch lines) one fsync. A kill
    /// part-way leaves a prefix of them plus a torn line: readers must not assume all or none.
    public func append(contentsOf events: [JournalEvent]) throws {
        guard !events.isEmpty else { return }
        var lines = Data()
        for event in events {
            let line = try Self.line(event)
            // What this hpsweep writes it must read back: a line it would skip (a value out of the
            // ranges reading enforces) would leave the sweep planning the same trial for ever.
            if case .failure(let why) = try Self.parse(line.dropLast(), path: path, lineNumber: 0) {
                throw JournalError(
                    path: path, line: nil,
                    message:
                        "refusing to write a line this hpsweep could not read back (\(why.message.replacingOccurrences(of: "skipped ", with: "")))"
                )
            }
            lines.append(line)
        }
        lock.lock()
        defer { lock.unlock() }
        do { try lines.withUnsafeBytes { try writeAll(fd, $0) } } catch {
            throw JournalError(path: path, line: nil, message: "write failed: \(error)")
        }
        // Started and epoch lines only report progress (the checkpoint and the next rung/finished line
        // hold the state): written, so a killed process keeps them, but not fsync'ed one by one.
        guard events.allSatisfy(\.isProgress) || fsync(fd) == 0 else {
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
    /// result independent of how the files interleave in time), and the lines that hold none.
    public static func readAll(directory: String) throws -> JournalContents {
        var contents = JournalContents()
        for path in files(in: directory) {
            guard let data = contentsOfRegularFile(path) else { continue }
            contents.append(try parseLines(data, path: path, firstLine: 1).contents)
        }
        return contents
    }

    /// One journal line: the event's JSON with a last field `"crc32"`, the CRC-32 (hex) of the line
    /// as it would read without that field, then a newline.
    static func line(_ event: JournalEvent) throws -> Data {
        var json = try encoder.encode(event)
        let crc = json.withUnsafeBytes { CRC32.of($0) }
        json.removeLast()  // the closing brace
        json.append(contentsOf: Array(String(format: ",\"crc32\":\"%08x\"}\n", crc).utf8))
        return json
    }

    /// Parses one line (without its newline), checking its CRC when it has one: its event, or why a line
    /// that is sound JSON holds none (a field its kind needs is missing or of another type, or the kind is
    /// unknown). Damage (a CRC that does not match, or not JSON) is an error.
    static func parse(_ line: Data, path: String, lineNumber: Int) throws -> Result<JournalEvent, JournalError> {
        let suffix = 20  // ,"crc32":"xxxxxxxx"}
        if line.count > suffix,
            line[line.endIndex - suffix..<line.endIndex - 10].elementsEqual(Array(",\"crc32\":\"".utf8))
        {
            var body = Data(line[line.startIndex..<line.endIndex - suffix])
            body.append(UInt8(ascii: "}"))
            let stored = String(decoding: line[line.endIndex - 10..<line.endIndex - 2], as: UTF8.self)
            let computed = String(format: "%08x", body.withUnsafeBytes { CRC32.of($0) })
            guard stored == computed else {
                throw JournalError(
                    path: path, line: lineNumber,
                    message:
                        "corrupt journal line (CRC-32 \(computed), the line says \(stored)); the sweep cannot resume from it"
                )
            }
        }
        do { return .success(try decoder.decode(JournalEvent.self, from: line)) } catch {
            guard (try? JSONValue.parse(line))?.object != nil else {
                throw JournalError(
                    path: path, line: lineNumber,
                    message: "corrupt journal line (not JSON); the sweep cannot resume from it")
            }
            let why =
                (error as? UndecodableEvent)?.description
                ?? "a line that is not a journal event (\(decodingPath(error)))"
            return .failure(JournalError(path: path, line: lineNumber, message: "skipped \(why)"))
        }
    }

    private static func decodingPath(_ error: Error) -> String {
        switch error as? DecodingError {
        case .keyNotFound(let key, let context)?:
            (context.codingPath + [key]).map(\.stringValue).joined(separator: ".") + " missing"
        case .typeMismatch(_, let context)?, .valueNotFound(_, let context)?, .dataCorrupted(let context)?:
            context.codingPath.map(\.stringValue).joined(separator: ".") + ": " + context.debugDescription
        default: "\(error)"
        }
    }

    /// Every complete event of the journal at `path` (none if it does not exist). A torn final line
    /// (no newline) is ignored, and so is a line that holds no event (`readAll` counts those); damage
    /// anywhere else is an error naming the line.
    public static func read(_ path: String) throws -> [JournalEvent] {
        guard let data = contentsOfRegularFile(path) else { return [] }
        return try parseLines(data, path: path, firstLine: 1).contents.events
    }

    /// The events of the complete lines of `data` (line numbers from `firstLine`, for errors), and
    /// how many bytes and lines they took: a final line without its newline is left for later.
    static func parseLines(_ data: Data, path: String, firstLine: Int) throws -> (
        contents: JournalContents, bytes: Int, lines: Int
    ) {
        var contents = JournalContents()
        var lineNumber = firstLine - 1
        var start = data.startIndex
        while let end = data[start...].firstIndex(of: UInt8(ascii: "\n")) {
            lineNumber += 1
            let line = data[start..<end]
            start = end + 1
            if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") }) { continue }
            switch try parse(Data(line), path: path, lineNumber: lineNumber) {
            case .success(let event): contents.events.append(event)
            case .failure(let undecodable): contents.undecodable.append(undecodable)
            }
        }
        return (contents, start - data.startIndex, lineNumber - firstLine + 1)
    }
}

/// What journal lines hold: their events in the order read, and the complete lines that hold none
/// (written by a newer hpsweep, or edited), which readers skip and `status` reports.
public struct JournalContents {
    public var events: [JournalEvent] = []
    public var undecodable: [JournalError] = []
    public init(events: [JournalEvent] = [], undecodable: [JournalError] = []) {
        self.events = events; self.undecodable = undecodable
    }
    mutating func append(_ other: JournalContents) {
        events += other.events
        undecodable += other.undecodable
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
    public func newEvents(rescan: Bool = false) throws -> JournalContents {
        var contents = JournalContents()
        let now = DispatchTime.now()
        if rescan || handles.isEmpty
            || Double(now.uptimeNanoseconds - listedAt.uptimeNanoseconds) / 1e9 >= rescanSeconds
        {
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
            contents.append(parsed.contents)
            offsets[path] = offset + UInt64(parsed.bytes)
            lines[path, default: 0] += parsed.lines
        }
        return contents
    }
}

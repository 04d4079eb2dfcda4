import Essentials
import Foundation

/// Claims on trials shared by every worker of a sweep (`results/<name>/leases/<trial>.lease`).
///
/// A lease file is created with O_EXCL (atomic on local filesystems and on NFSv3+), holds the owner and
/// a generation number, and is kept fresh by a heartbeat that touches it every `heartbeatSeconds`. A
/// lease whose file was not touched for `leaseSeconds` (or whose owner, on this host, is a dead
/// process) is taken over: renamed aside (only one renamer can succeed) and recreated with the next
/// generation. An owner that finds its lease file changed has lost the trial and must not report it.
public final class LeaseKeeper {
    public let directory: String
    public let owner: String
    public let leaseSeconds: Double
    private let lock = NSLock()
    private var held: [String: Int] = [:]  // trial → generation
    private var timer: DispatchSourceTimer?

    public struct Lease: Equatable {
        public let owner: String; public let generation: Int; public let host: String; public let pid: Int32
    }

    public init(directory: String, owner: String, leaseSeconds: Double) throws {
        self.directory = directory; self.owner = owner; self.leaseSeconds = leaseSeconds
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw JournalError(
                path: directory, line: nil, message: "cannot create the lease directory: \(error.localizedDescription)")
        }
        let timer = DispatchSource.makeTimerSource(queue: .global())
        let interval = max(0.2, leaseSeconds / 4)
        timer.schedule(deadline: .now() + interval, repeating: interval)
        timer.setEventHandler { [weak self] in self?.heartbeat() }
        timer.resume()
        self.timer = timer
    }

    deinit { timer?.cancel() }

    func path(_ trial: String) -> String { (directory as NSString).appendingPathComponent("\(trial).lease") }

    public static var hostName: String { ProcessInfo.processInfo.hostName }

    /// Claims `trial`; returns its lease generation, or nil when another live worker holds it.
    public func acquire(_ trial: String) -> Int? {
        let file = path(trial)
        if create(file, generation: 1) { return remember(trial, 1) }
        guard let current = Self.read(file) else {
            // Vanished between our create and read (released): try once more.
            return create(file, generation: 1) ? remember(trial, 1) : nil
        }
        guard isStale(file, current) else { return nil }
        // Take over: whoever renames the stale file away wins; the rest see it gone.
        let aside = file + ".stale-\(owner)"
        guard rename(file, aside) == 0 else { return nil }
        unlink(aside)
        let generation = current.generation + 1
        return create(file, generation: generation) ? remember(trial, generation) : nil
    }

    private func remember(_ trial: String, _ generation: Int) -> Int {
        lock.lock(); held[trial] = generation; lock.unlock()
        return generation
    }

    /// Whether we still hold `trial` at `generation` (checked before reporting its result).
    public func owns(_ trial: String, generation: Int) -> Bool {
        guard let lease = Self.read(path(trial)) else { return false }
        return lease.owner == owner && lease.generation == generation
    }

    public func release(_ trial: String) {
        lock.lock(); let generation = held.removeValue(forKey: trial); lock.unlock()
        if let generation, owns(trial, generation: generation) { unlink(path(trial)) }
    }

    /// Every lease in the directory, by trial (for `hpsweep status`).
    public static func all(in directory: String) -> [String: (Lease, ageSeconds: Double)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        var leases: [String: (Lease, Double)] = [:]
        for name in names where name.hasSuffix(".lease") {
            let file = (directory as NSString).appendingPathComponent(name)
            if let lease = read(file), let age = age(file) { leases[String(name.dropLast(6))] = (lease, age) }
        }
        return leases
    }

    private func heartbeat() {
        lock.lock(); let trials = held; lock.unlock()
        for (trial, generation) in trials where owns(trial, generation: generation) { utimes(path(trial), nil) }
    }

    private func isStale(_ file: String, _ lease: Lease) -> Bool {
        // Its process is gone.
        if lease.host == Self.hostName && lease.pid > 0 && kill(lease.pid, 0) != 0 && errno == ESRCH { return true }
        guard let age = Self.age(file) else { return false }
        return age > leaseSeconds
    }

    private func create(_ file: String, generation: Int) -> Bool {
        let fd = open(file, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard fd >= 0 else { return false }
        let text = "owner \(owner)\ngeneration \(generation)\nhost \(Self.hostName)\npid \(getpid())\n"
        // The file's existence is the lease; its text only tells who holds it (best effort).
        try? Data(text.utf8).withUnsafeBytes { try writeAll(fd, $0) }
        fsync(fd)
        close(fd)
        return true
    }

    static func read(_ file: String) -> Lease? {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return nil }
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
            if parts.count == 2 { fields[parts[0]] = parts[1] }
        }
        guard let owner = fields["owner"], let generation = fields["generation"].flatMap({ Int($0) }) else {
            return nil
        }
        return Lease(
            owner: owner, generation: generation, host: fields["host"] ?? "",
            pid: fields["pid"].flatMap { Int32($0) } ?? 0)
    }

    static func age(_ file: String) -> Double? {
        var info = stat()
        guard stat(file, &info) == 0 else { return nil }
        let modified = Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
        return Date().timeIntervalSince1970 - modified
    }
}

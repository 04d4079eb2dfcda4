import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A child process for tests, built so that no child can hang the suite:
/// - started with posix_spawn in a process group of its own, stdin from /dev/null, stdout and stderr
///   into files (no pipe that a grandchild, say a daemon it starts, could hold open for ever);
/// - waited for with waitpid against a deadline: a child that overruns it is killed with its whole
///   group and its test fails with the command and its last output;
/// - killed (with its group) when it goes out of scope still running, so a failed assertion never
///   leaves a stopped or busy process behind.
/// Foundation's `Process` is not used: on Linux it learns of a child's exit through a socket the
/// child inherits, and daemons the child starts (munged, from scripts/slurm-local) keep it open.
public final class Subprocess {
    public struct Result {
        /// The exit code, or 128 + the signal number for a child killed by a signal (as shells do).
        public let status: Int32
        public let stdout: String
        public let stderr: String
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public let pid: pid_t
    public let command: String
    private let directory: URL
    private let mergedOutput: Bool
    private var status: Int32?

    /// Starts `executable` (a path, or a name looked up in PATH) with `arguments`; `environment`
    /// entries are added to this process's environment and `unsetting` ones removed from it. With
    /// `mergeOutput`, stderr goes to stdout.
    public init(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:], unsetting: Set<String> = [],
        mergeOutput: Bool = false
    ) throws {
        command = ([executable] + arguments).joined(separator: " ")
        mergedOutput = mergeOutput
        directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "hpsweep-subprocess-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(
            &actions, 1, directory.appendingPathComponent("stdout").path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        if mergeOutput {
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        } else {
            posix_spawn_file_actions_addopen(
                &actions, 2, directory.appendingPathComponent("stderr").path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attributes, 0)

        let variables = ProcessInfo.processInfo.environment.filter { !unsetting.contains($0.key) }
            .merging(environment) { $1 }.map { "\($0.key)=\($0.value)" }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = variables.map { strdup($0) } + [nil]
        defer { for pointer in argv + envp { free(pointer) } }
        var child: pid_t = 0
        let error = posix_spawnp(&child, executable, &actions, &attributes, argv, envp)
        guard error == 0 else {
            try? FileManager.default.removeItem(at: directory)
            throw Failure(description: "cannot start \(command): \(String(cString: strerror(error)))")
        }
        pid = child
    }

    deinit {
        if status == nil {
            kill(-pid, SIGKILL)
            kill(pid, SIGKILL)
            var raw: Int32 = 0
            waitpid(pid, &raw, 0)
        }
        try? FileManager.default.removeItem(at: directory)
    }

    /// Whether the child still runs (reaps it if it has ended).
    public var isRunning: Bool { poll() == nil }

    public func signal(_ number: Int32) { kill(pid, number) }

    /// What the child has written so far.
    public var stdout: String { read("stdout") }
    public var stderr: String { mergedOutput ? "" : read("stderr") }

    /// Waits for the child to end; after `timeout` seconds kills it and its process group and throws.
    @discardableResult
    public func wait(timeout: TimeInterval = 600) throws -> Result {
        let deadline = Date().addingTimeInterval(timeout)
        while poll() == nil {
            if Date() > deadline {
                kill(-pid, SIGKILL)
                kill(pid, SIGKILL)
                while poll() == nil { usleep(1_000) }
                let tail = (stdout + stderr).split(separator: "\n").suffix(5).joined(separator: "\n")
                throw Failure(
                    description:
                        "\(command) did not end within \(Int(timeout)) s and was killed; its last output:\n\(tail)")
            }
            usleep(2_000)
        }
        return Result(status: status!, stdout: stdout, stderr: stderr)
    }

    private func poll() -> Int32? {
        if let status { return status }
        var raw: Int32 = 0
        let result = waitpid(pid, &raw, WNOHANG)
        if result == pid {
            let signal = raw & 0x7f
            status = signal == 0 ? (raw >> 8) & 0xff : 128 + signal
        } else if result < 0 && errno == ECHILD {
            status = -1  // reaped elsewhere: ended, status unknown
        }
        return status
    }

    private func read(_ name: String) -> String {
        FileManager.default.contents(atPath: directory.appendingPathComponent(name).path).map {
            String(decoding: $0, as: UTF8.self)
        } ?? ""
    }
}

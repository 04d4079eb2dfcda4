import Foundation
import Sweep

/// Who may work on results/<name>/: one plain `hpsweep run` (an exclusive lock) or any number of
/// `--worker` processes (shared locks), never both. The lock is an fcntl record lock on
/// results/.<name>.lock — the kind NFS (NLM) supports — released by the kernel if the process dies, so a
/// killed run never blocks the next. The file holds the pid of the last process that took it.
final class SweepLock {
    private var fd: Int32

    init(root: String, name: String, shared: Bool) throws {
        let path = (root as NSString).appendingPathComponent(".\(name).lock")
        fd = open(path, O_RDWR | O_CREAT, 0o644)
        guard fd >= 0 else {
            throw JournalError(
                path: path, line: nil,
                message: "cannot create the sweep's lock file: \(String(cString: strerror(errno)))")
        }
        var request = flock()
        request.l_type = Int16(shared ? F_RDLCK : F_WRLCK)
        request.l_whence = Int16(SEEK_SET)
        if fcntl(fd, F_SETLK, &request) != 0 {
            // Who holds it: F_GETLK names the conflicting lock's process and kind (a plain run writes,
            // workers read), which the file's pid may not yet (its writer truncates, then writes).
            var held = request
            let known = fcntl(fd, F_GETLK, &held) == 0 && held.l_type != Int16(F_UNLCK)
            let holder = known ? "\(held.l_pid)" : "unknown"
            let plainRunHolds = !known || held.l_type == Int16(F_WRLCK)
            close(fd)
            let where_ = (root as NSString).appendingPathComponent(name)
            if shared {
                throw FileProblem(
                    "\(where_) is being run by a plain 'hpsweep run' (pid \(holder)); workers can join only a sweep started with --worker"
                )
            }
            throw FileProblem(
                plainRunHolds
                    ? "\(where_) is in use by another hpsweep run (pid \(holder)); wait for it or stop it first"
                    : "\(where_) is being run by workers (pid \(holder) among them); add --worker to join them, or wait for them"
            )
        }
        ftruncate(fd, 0)
        let pid = "\(getpid())\n"
        _ = pid.withCString { pwrite(fd, $0, strlen($0), 0) }
    }

    func release() {
        guard fd >= 0 else { return }
        close(fd); fd = -1  // closing drops the record lock
    }
}

import Essentials
import Foundation

/// The memory this process may really use: the least of the machine's physical memory, its cgroup's
/// limit (v2 `memory.max`, v1 `memory.limit_in_bytes`, on its own cgroup and every ancestor) and
/// Slurm's allocation (`SLURM_MEM_PER_NODE`, or `SLURM_MEM_PER_CPU` × the task's CPUs, in MiB).
/// A budget above it admits trials the kernel then kills.
public struct MemoryLimit: Equatable {
    public let bytes: Int
    /// What set it: "physical memory", "the cgroup limit (…/memory.max)", "Slurm's SLURM_MEM_PER_NODE".
    public let source: String

    public init(bytes: Int, source: String) { self.bytes = bytes; self.source = source }

    /// `root` prefixes /proc and /sys (tests point it at a directory that imitates them; the
    /// `HPSWEEP_SYS_ROOT` environment variable does the same for the command).
    public static func detect(
        physical: Int = Int(clamping: ProcessInfo.processInfo.physicalMemory),
        environment: [String: String] = ProcessInfo.processInfo.environment,
        root: String? = nil
    ) -> MemoryLimit {
        let root = root ?? environment["HPSWEEP_SYS_ROOT"] ?? ""
        var candidates = [MemoryLimit(bytes: physical, source: "physical memory")]
        candidates += cgroupLimits(root: root)
        if let slurm = slurmLimit(environment) { candidates.append(slurm) }
        return candidates.min { $0.bytes < $1.bytes }!
    }

    /// The limits of this process's memory cgroup and its ancestors (v1 and v2), where set.
    static func cgroupLimits(root: String) -> [MemoryLimit] {
        guard let data = contentsOfRegularFile(root + "/proc/self/cgroup"),
            let text = String(data: data, encoding: .utf8)
        else { return [] }
        var limits: [MemoryLimit] = []
        for line in text.split(separator: "\n") {
            // "hierarchy-id:controllers:path": v2 is "0::/path", v1's memory line names "memory".
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { continue }
            let controllers = fields[1].split(separator: ",")
            let (mount, file): (String, String)
            if fields[0] == "0" && fields[1].isEmpty {
                (mount, file) = (root + "/sys/fs/cgroup", "memory.max")
            } else if controllers.contains("memory") {
                (mount, file) = (root + "/sys/fs/cgroup/memory", "memory.limit_in_bytes")
            } else {
                continue
            }
            // The cgroup's own directory, then each ancestor up to the mount (inside a container the
            // mount is often the container's own cgroup, and the path below it does not exist).
            var components = fields[2].split(separator: "/").map(String.init)
            while true {
                let path = ([mount] + components + [file]).joined(separator: "/")
                if let data = contentsOfRegularFile(path),
                    let value = Int(
                        String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)),
                    value > 0, value < 1 << 60  // v1 writes "unlimited" as about 2^63; v2 as "max"
                {
                    limits.append(MemoryLimit(bytes: value, source: "the cgroup limit (\(path))"))
                }
                if components.isEmpty { break }
                components.removeLast()
            }
        }
        return limits
    }

    /// Slurm's memory allocation of this task, from its environment.
    static func slurmLimit(_ environment: [String: String]) -> MemoryLimit? {
        let mebibyte = 1 << 20
        if let perNode = environment["SLURM_MEM_PER_NODE"].flatMap(Int.init), perNode > 0, perNode < 1 << 40 {
            return MemoryLimit(bytes: perNode * mebibyte, source: "Slurm's SLURM_MEM_PER_NODE (\(perNode) MiB)")
        }
        if let perCPU = environment["SLURM_MEM_PER_CPU"].flatMap(Int.init), perCPU > 0, perCPU < 1 << 40 {
            let cpus = environment["SLURM_CPUS_PER_TASK"].flatMap(Int.init).map { max(1, min($0, 1 << 16)) } ?? 1
            return MemoryLimit(
                bytes: perCPU * cpus * mebibyte,
                source: "Slurm's SLURM_MEM_PER_CPU × SLURM_CPUS_PER_TASK (\(perCPU) MiB × \(cpus))")
        }
        return nil
    }

    /// The default working-memory budget: 70% of the limit (the rest for the process, the page cache
    /// the cache files live in, and the kernel).
    public var defaultBudget: Int { Int(Double(bytes) * 0.7) }
}

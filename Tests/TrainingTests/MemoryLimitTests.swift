import Foundation
import Training
import XCTest
import _TestSupport

/// The default memory budget follows the memory the process may really use: the least of physical
/// memory, its cgroup's limit (v1 or v2, on the cgroup or an ancestor) and Slurm's allocation.
final class MemoryLimitTests: XCTestCase {
    let gib = 1 << 30

    /// A directory imitating /proc/self/cgroup and /sys/fs/cgroup.
    func fakeRoot(cgroup: String, files: [String: String]) throws -> String {
        let root = temporaryDirectory(self).path
        for (path, text) in files.merging(["proc/self/cgroup": cgroup], uniquingKeysWith: { a, _ in a }) {
            let full = root + "/" + path
            try FileManager.default.createDirectory(
                atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: full, atomically: true, encoding: .utf8)
        }
        return root
    }

    func testCgroupV2LimitOnTheCgroupOrAnAncestor() throws {
        let root = try fakeRoot(
            cgroup: "0::/user.slice/job/task\n",
            files: [
                "sys/fs/cgroup/user.slice/job/task/memory.max": "max\n",
                "sys/fs/cgroup/user.slice/job/memory.max": "\(6 * gib)\n",
            ])
        let limit = MemoryLimit.detect(physical: 64 * gib, environment: [:], root: root)
        XCTAssertEqual(limit.bytes, 6 * gib)
        XCTAssertEqual(limit.source, "the cgroup limit (\(root)/sys/fs/cgroup/user.slice/job/memory.max)")
        XCTAssertEqual(limit.defaultBudget, Int(Double(6 * gib) * 0.7))
    }

    func testCgroupV1LimitAndItsUnlimitedValue() throws {
        let v1 = "4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n"
        var root = try fakeRoot(
            cgroup: v1, files: ["sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes": "\(3 * gib)\n"])
        XCTAssertEqual(MemoryLimit.detect(physical: 64 * gib, environment: [:], root: root).bytes, 3 * gib)
        // Inside a container the mount is the container's own cgroup: the path below it is absent.
        root = try fakeRoot(cgroup: v1, files: ["sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712\n"])
        let unlimited = MemoryLimit.detect(physical: 64 * gib, environment: [:], root: root)
        XCTAssertEqual(unlimited, MemoryLimit(bytes: 64 * gib, source: "physical memory"))
    }

    func testSlurmAllocationAndTheLeastOfAll() throws {
        let root = try fakeRoot(cgroup: "0::/\n", files: ["sys/fs/cgroup/memory.max": "\(12 * gib)\n"])
        let perNode = MemoryLimit.detect(physical: 64 * gib, environment: ["SLURM_MEM_PER_NODE": "8192"], root: root)
        XCTAssertEqual(perNode, MemoryLimit(bytes: 8 * gib, source: "Slurm's SLURM_MEM_PER_NODE (8192 MiB)"))
        let perCPU = MemoryLimit.detect(
            physical: 64 * gib, environment: ["SLURM_MEM_PER_CPU": "2048", "SLURM_CPUS_PER_TASK": "2"], root: root)
        XCTAssertEqual(perCPU.bytes, 4 * gib)
        XCTAssertEqual(
            MemoryLimit.detect(physical: 2 * gib, environment: ["SLURM_MEM_PER_NODE": "8192"], root: root).bytes,
            2 * gib)
        for junk in ["", "-5", "lots", "99999999999999999999"] {
            XCTAssertEqual(
                MemoryLimit.detect(physical: 64 * gib, environment: ["SLURM_MEM_PER_NODE": junk], root: root).bytes,
                12 * gib, "'\(junk)' is no allocation")
        }
    }
}

import Foundation

/// Resident memory now (Linux /proc/self/statm), in bytes; 0 where unavailable.
func currentResidentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8),
        let pages = text.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
    else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// Peak resident memory of this process so far (or since `resetPeakResidentBytes()`), in bytes: Linux's
/// VmHWM, else getrusage's maximum (KiB on Linux).
func peakResidentBytes() -> Int {
    if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
        let kib = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
    {
        return kib * 1024
    }
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Int(usage.ru_maxrss) * 1024
}

/// Starts the peak over from the memory resident now (Linux: "5" to /proc/self/clear_refs), so that a
/// measurement does not count a larger transient of its own set-up; does nothing where unsupported.
func resetPeakResidentBytes() {
    try? Data("5".utf8).write(to: URL(fileURLWithPath: "/proc/self/clear_refs"))
}

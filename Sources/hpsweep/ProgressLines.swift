import Cache
import Foundation
import Training

/// Prints cache-build progress: one updating line on a terminal, a line per ~10% in a log.
final class ProgressPrinter {
    private let isTerminal = isatty(STDOUT_FILENO) != 0
    private var lastReported = -1
    private var lastSplit = ""

    func report(_ p: CacheProgress) {
        let eta = p.etaSeconds.isFinite ? formatDuration(p.etaSeconds) : "?"
        let line = String(
            format: "  %@: %d/%d images, %.1f images/s, ETA %@", p.split, p.done, p.total, p.imagesPerSecond, eta)
        if isTerminal {
            print("\r" + line + "   ", terminator: p.done == p.total ? "\n" : "")
            fflush(stdout)
        } else {
            let decile = p.done * 10 / max(p.total, 1)
            if p.split != lastSplit { lastReported = -1; lastSplit = p.split }
            if decile > lastReported || p.done == p.total { print(line); lastReported = decile }
        }
    }
}

/// Bytes in the largest binary unit that keeps a whole part: "512 B", "28.0 MiB", "3.9 GiB".
func formatBytes(_ bytes: Int) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
    var value = Double(bytes), unit = 0
    while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
    return unit == 0 ? "\(bytes) B" : String(format: "%.1f ", value) + units[unit]
}

func formatDuration(_ seconds: Double) -> String {
    let s = Int(seconds.rounded())
    return s >= 3600
        ? "\(s / 3600)h\(String(format: "%02d", s % 3600 / 60))m"
        : s >= 60 ? "\(s / 60)m\(String(format: "%02d", s % 60))s" : "\(s)s"
}

/// The live line of a trial pool: counts, best so far, ETA. On a terminal one line is rewritten in
/// place; otherwise (logs, CI) each finished trial prints its own line.
final class PoolProgressLine {
    private let isTerminal = isatty(STDOUT_FILENO) != 0
    private let start = DispatchTime.now().uptimeNanoseconds
    private(set) var progress: PoolProgress
    private let describe: (String, TrialOutcome) -> String

    /// `describe` names a finished trial's outcome for the non-terminal log lines.
    init(workers: Int, trials: Int, describe: @escaping (String, TrialOutcome) -> String) {
        progress = PoolProgress(workers: workers, queued: trials)
        self.describe = describe
    }

    var line: String {
        var parts = ["\(progress.done) done", "\(progress.running) running", "\(progress.queued) queued"]
        if progress.failed > 0 { parts.append("\(progress.failed) failed") }
        var text = "  [" + parts.joined(separator: ", ") + "]"
        if let best = progress.best { text += String(format: " best %.4f (%@)", best.accuracy, best.id) }
        text += " ETA " + (progress.etaSeconds.map(formatDuration) ?? "?")
        return text
    }

    func record(_ event: PoolEvent) {
        progress.record(event, now: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        if isTerminal {
            print("\r\u{1B}[K" + line, terminator: "")
            fflush(stdout)
        } else if case let .finished(id, outcome, _, _, _) = event {
            print("  \(id): \(describe(id, outcome))" + line.dropFirst(1))
        }
    }

    /// Ends the live line (call once the pool is done).
    func finish() { if isTerminal { print("") } }
}

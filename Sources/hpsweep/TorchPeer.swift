import Foundation

/// The PyTorch peer of a `bench` command (scripts/bench_*_torch.py), run right after it on the same
/// machine with the same threads, so that the printed ratio comes from one run.
enum TorchPeer {
    /// tcmalloc, when installed (Debian's libgoogle-perftools4), as PyTorch's own CPU tuning guide advises.
    static let tcmalloc = ["/usr/lib/x86_64-linux-gnu/libtcmalloc.so.4", "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4"]
        .first { FileManager.default.fileExists(atPath: $0) }

    /// Runs `scripts/<script>` with `arguments` and returns the number before `rate` (e.g. "steps/s")
    /// on its last line that has one.
    static func run(_ script: String, _ arguments: [String], rate: String) throws -> Double {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/\(script)").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = (tcmalloc.map { ["LD_PRELOAD=\($0)"] } ?? []) + ["python3", path] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do { try process.run() } catch { throw FileProblem("--torch: cannot run python3 \(path): \(error)") }
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let pattern = "[0-9.]+ " + NSRegularExpression.escapedPattern(for: rate)
        guard process.terminationStatus == 0,
              let match = output.range(of: pattern, options: [.regularExpression, .backwards]),
              let value = Double(output[match].split(separator: " ")[0]) else {
            throw FileProblem("--torch: the PyTorch peer failed: \(output.split(separator: "\n").last ?? "no output")")
        }
        return value
    }
}

import Foundation

/// The PyTorch peer of a `bench` command (scripts/bench_*_torch.py), run right after it on the same
/// machine with the same threads, so that the printed ratio comes from one run.
/// The peer always runs with tcmalloc preloaded, as PyTorch's CPU tuning guide advises: without it
/// glibc's malloc makes PyTorch's side-network steps about 2× slower, and the ratio would flatter us.
enum TorchPeer {
    /// tcmalloc (Debian's libtcmalloc-minimal4, or libgoogle-perftools4's full one).
    static let tcmalloc = [
        "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4", "/usr/lib/x86_64-linux-gnu/libtcmalloc.so.4",
        "/usr/lib/aarch64-linux-gnu/libtcmalloc_minimal.so.4", "/usr/lib64/libtcmalloc_minimal.so.4",
    ]
    .first { FileManager.default.fileExists(atPath: $0) }

    /// Runs `scripts/<script>` with `arguments` and returns the number before `rate` (e.g. "steps/s")
    /// on its last line that has one.
    static func run(_ script: String, _ arguments: [String], rate: String) throws -> Double {
        guard let tcmalloc else {
            throw FileProblem(
                "--torch: tcmalloc is not installed, and PyTorch without it is not a fair peer (about 2× slower); run scripts/setup --with-peers"
            )
        }
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
            .appendingPathComponent("scripts/\(script)").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["LD_PRELOAD=\(tcmalloc)", "python3", path] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do { try process.run() } catch { throw FileProblem("--torch: cannot run python3 \(path): \(error)") }
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let pattern = "[0-9.]+ " + NSRegularExpression.escapedPattern(for: rate)
        guard process.terminationStatus == 0,
            let match = output.range(of: pattern, options: [.regularExpression, .backwards]),
            let value = Double(output[match].split(separator: " ")[0])
        else {
            throw FileProblem("--torch: the PyTorch peer failed: \(output.split(separator: "\n").last ?? "no output")")
        }
        return value
    }
}

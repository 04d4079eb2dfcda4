import Foundation

/// The files an output option (`export`, `report --output`, `compare --csv`) must never write: a sweep's
/// own files (docs/formats.md: its journals, leases, checkpoints, models, leaderboards, summary, lock)
/// and anything inside an activation cache. Only `hpsweep run` and `hpsweep leaderboard` write those.
public enum ProtectedPaths {
    static let sweepFiles: Set<String> = ["leaderboard.csv", "pareto.csv", "summary.json"]
    static let sweepFolders: Set<String> = ["leases", "checkpoints", "models"]

    /// Why `path` must not be written by an output option, or nil when it may be.
    public static func reason(forWriting path: String) -> String? {
        // Symbolic links resolved, so that a link into a sweep is caught too.
        let url = URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath()
        let name = url.lastPathComponent
        if name.hasPrefix(".") && name.hasSuffix(".lock") { return "\(path) is a sweep's lock file" }
        var ancestors: [URL] = []
        var folder = url.deletingLastPathComponent()
        while true {
            ancestors.append(folder)
            let parent = folder.deletingLastPathComponent()
            if parent.path == folder.path { break }
            folder = parent
        }
        for (depth, ancestor) in ancestors.enumerated() {
            if isCache(ancestor) { return "\(path) is inside the activation cache \(ancestor.path)" }
            guard isSweep(ancestor) else { continue }
            if depth == 0 && (sweepFiles.contains(name) || (name.hasPrefix("journal") && name.hasSuffix(".jsonl"))) {
                return "\(path) is one of the sweep's own files in \(ancestor.path)"
            }
            if depth > 0, let first = url.pathComponents.dropFirst(ancestor.pathComponents.count).first,
                sweepFolders.contains(first)
            {
                return "\(path) is inside the sweep's \(first)/ in \(ancestor.path)"
            }
        }
        return nil
    }

    /// Throws a one-line error when `path` is protected, is one of the files the command reads
    /// (`inputs`), or is another of its outputs (`outputs`, by option). Files are compared by identity
    /// (device and inode, links resolved) where they exist, by resolved path where not yet.
    public static func checkWritable(
        _ path: String, option: String, inputs: [String] = [], outputs: [(option: String, path: String)] = []
    ) throws {
        if let reason = reason(forWriting: path) {
            throw ProtectedPathError(message: "\(option): refusing to write \(reason); choose another file")
        }
        if let input = inputs.first(where: { sameFile($0, path) }) {
            throw ProtectedPathError(
                message:
                    "\(option): refusing to write \(path): it is \(input == path ? "" : "\(input), ")one of this command's inputs; choose another file"
            )
        }
        if let other = outputs.first(where: { $0.option != option && sameFile($0.path, path) }) {
            throw ProtectedPathError(
                message: "\(option): refusing to write \(path): \(other.option) writes it too; choose two files")
        }
    }

    /// Whether `a` and `b` name one file.
    public static func sameFile(_ a: String, _ b: String) -> Bool {
        var x = stat(), y = stat()
        if stat(a, &x) == 0 && stat(b, &y) == 0 { return x.st_dev == y.st_dev && x.st_ino == y.st_ino }
        func resolved(_ p: String) -> String {
            URL(fileURLWithPath: p).standardizedFileURL.resolvingSymlinksInPath().path
        }
        return resolved(a) == resolved(b)
    }

    static func isSweep(_ folder: URL) -> Bool {
        FileManager.default.fileExists(atPath: folder.appendingPathComponent("journal.jsonl").path)
    }

    static func isCache(_ folder: URL) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: folder.appendingPathComponent("header.json").path) else {
            return false
        }
        defer { try? handle.close() }
        let start = (try? handle.read(upToCount: 256)) ?? Data()
        return String(decoding: start, as: UTF8.self).contains("hpsweep-activation-cache")
    }
}

public struct ProtectedPathError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

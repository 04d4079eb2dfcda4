import Foundation

/// Brings a cache written elsewhere (e.g. by PyTorch on a GPU machine, following
/// docs/cache-format.md) into the cache root, after checking it as strictly as one built here.
public enum CacheImporter {
    /// Validates `source` (header, sizes, every CRC-32, key = SHA-256 of its ingredients) and copies
    /// it to `<root>/<key>`. Returns the imported cache and whether that key was already present.
    public static func importCache(from source: String, into root: String) throws -> (
        cache: ActivationCache, alreadyPresent: Bool
    ) {
        let incoming = try ActivationCache(directory: source)
        try incoming.verify()
        let computed = CacheHeader.key(of: incoming.header.ingredients)
        guard computed == incoming.key else {
            throw CacheError.keyMismatch(
                path: (source as NSString).appendingPathComponent(CacheHeader.fileName),
                declared: incoming.key, computed: computed)
        }
        let fm = FileManager.default
        let destination = (root as NSString).appendingPathComponent(incoming.key)
        if fm.fileExists(atPath: (destination as NSString).appendingPathComponent(CacheHeader.fileName)) {
            return (try ActivationCache(directory: destination), true)
        }
        let staging = (root as NSString).appendingPathComponent(".importing-\(incoming.key).\(getpid())")
        do {
            try fm.createDirectory(atPath: root, withIntermediateDirectories: true)
            try? fm.removeItem(atPath: staging)
            try fm.createDirectory(atPath: staging, withIntermediateDirectories: false)
            for file in incoming.header.arrays.map(\.file) + [CacheHeader.fileName] {
                try fm.copyItem(
                    atPath: (source as NSString).appendingPathComponent(file),
                    toPath: (staging as NSString).appendingPathComponent(file))
            }
        } catch {
            try? fm.removeItem(atPath: staging)
            throw CacheError.writeFailed(path: staging, reason: error.localizedDescription)
        }
        guard rename(staging, destination) == 0 else {
            let reason = String(cString: strerror(errno))
            try? fm.removeItem(atPath: staging)
            throw CacheError.writeFailed(path: destination, reason: reason)
        }
        // The copy is checked again where it now lives.
        let imported = try ActivationCache(directory: destination)
        try imported.verify()
        return (imported, false)
    }
}

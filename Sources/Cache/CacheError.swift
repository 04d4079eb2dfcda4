/// Why a cache could not be built, opened or imported; each case names the file.
public enum CacheError: Error, Equatable, CustomStringConvertible {
    case notACache(path: String, detail: String)
    case badHeader(path: String, field: String, detail: String)
    case unsupportedVersion(path: String, version: Int)
    case missingArray(path: String)
    case truncatedArray(path: String, expectedBytes: Int, actualBytes: Int)
    case checksumMismatch(path: String, expected: UInt32, actual: UInt32)
    case keyMismatch(path: String, declared: String, computed: String)
    case writeFailed(path: String, reason: String)
    case unknownTap(tap: String, available: [String])
    /// A tap the request asks for that the backbone cannot give: it has fewer blocks.
    case tapBeyondDepth(tap: String, depth: Int)
    case unknownSplit(split: String, available: [String])
    case nonFinite(path: String, element: Int, detail: String)
    case computeUnavailable(detail: String)
    case badIndex(path: String, example: Int, row: Int, images: Int)
    /// A label that is no class: negative, or not below the class count (when known).
    case labelOutOfRange(path: String, example: Int, label: Int, classes: Int?)
    /// The build was asked to stop (Ctrl-C, SIGTERM): nothing of it is kept.
    case interrupted(path: String)

    public var description: String {
        switch self {
        case let .notACache(path, detail): return "\(path): not an hpsweep activation cache: \(detail)"
        case let .badHeader(path, field, detail): return "\(path): header field '\(field)': \(detail)"
        case let .unsupportedVersion(path, version):
            return
                "\(path): cache format version \(version) is not supported (this hpsweep reads versions \(CacheHeader.readableVersions.lowerBound)–\(CacheHeader.readableVersions.upperBound))"
        case let .missingArray(path):
            return "\(path): array file is missing (incomplete or damaged cache; delete the directory to rebuild)"
        case let .truncatedArray(path, expected, actual):
            return
                "\(path): array has \(actual) bytes, the header says \(expected) (truncated or damaged cache; delete the directory to rebuild)"
        case let .checksumMismatch(path, expected, actual):
            return
                "\(path): CRC-32 is \(String(format: "%08x", actual)), the header says \(String(format: "%08x", expected)) (corrupted cache; delete the directory to rebuild)"
        case let .keyMismatch(path, declared, computed):
            return "\(path): header key \(declared) does not match its ingredients (\(computed))"
        case let .writeFailed(path, reason): return "\(path): cannot write: \(reason)"
        case let .unknownTap(tap, available):
            return "tap '\(tap)' is not in the cache (it has \(available.joined(separator: ", ")))"
        case let .tapBeyondDepth(tap, depth):
            return "tap '\(tap)' is beyond the backbone's \(depth) blocks (its taps are z0 to z\(depth) and norm)"
        case let .nonFinite(path, element, detail): return "\(path): element \(element) is NaN or infinite: \(detail)"
        case let .labelOutOfRange(path, example, label, classes):
            let range = classes.map { "0..<\($0) (\($0) classes)" } ?? "0..<\(ActivationCache.maximumClasses)"
            return "\(path): label \(label) of example \(example) is out of range \(range)"
        case let .interrupted(path):
            return "\(path): the cache build was interrupted; nothing of it is kept, and the next run builds it again"
        case let .computeUnavailable(detail):
            return "cannot build the cache here: \(detail) (a cache built elsewhere with the same key is reused)"
        case let .badIndex(path, example, row, images):
            return
                "\(path): example \(example) names image row \(row), outside the cache's \(images) images (damaged cache; delete the directory to rebuild)"
        case let .unknownSplit(split, available):
            return "split '\(split)' is not in the cache (it has \(available.joined(separator: ", ")))"
        }
    }
}

import Essentials

/// Why a dataset could not be read. Each case names the file (and line, for list files).
public enum DatasetError: Error, Equatable, CustomStringConvertible {
    case missingFile(path: String, referencedFrom: String?, line: Int?)
    case unreadableImage(path: String, reason: String, referencedFrom: String?, line: Int?)
    case badListLine(path: String, line: Int, text: String, reason: String)
    case labelOutOfRange(path: String, line: Int?, label: Int, classes: Int)
    case emptySplit(path: String)
    case badArray(path: String, reason: String)
    case mismatchedCounts(images: String, labels: String, imageCount: Int, labelCount: Int)
    /// A class folder with no JPEG or PNG image.
    case emptyClass(path: String)
    /// A split whose class folders are not those of the first split (`reference`).
    case classMismatch(path: String, missing: [String], extra: [String], reference: String)

    public var description: String {
        func at(_ file: String?, _ line: Int?) -> String {
            guard let file else { return "" }
            return " (listed in \(file)\(line.map { " line \($0)" } ?? ""))"
        }
        switch self {
        case let .missingFile(path, from, line):
            return "\(path): \(whyUnreadable(path))\(at(from, line))"
        case let .unreadableImage(path, reason, from, line):
            return "\(path): cannot decode image: \(reason)\(at(from, line))"
        case let .badListLine(path, line, text, reason):
            return "\(path) line \(line): \(reason): '\(text.prefix(80))'"
        case let .labelOutOfRange(path, line, label, classes):
            return "\(path)\(line.map { " line \($0)" } ?? ""): label \(label) is out of range 0..<\(classes)"
        case let .emptySplit(path):
            return "\(path): the split is empty"
        case let .badArray(path, reason):
            return "\(path): \(reason)"
        case let .mismatchedCounts(images, labels, imageCount, labelCount):
            return "\(labels): \(labelCount) labels for \(imageCount) images in \(images)"
        case let .emptyClass(path):
            return "\(path): the class folder holds no JPEG or PNG image"
        case let .classMismatch(path, missing, extra, reference):
            let parts =
                (missing.isEmpty ? [] : ["lacks class folder\(missing.count == 1 ? "" : "s") \(list(missing))"])
                + (extra.isEmpty ? [] : ["has class folder\(extra.count == 1 ? "" : "s") \(list(extra))"])
            return
                "\(path): \(parts.joined(separator: " and ")) that \(reference) \(missing.isEmpty ? "lacks" : "has") (every split needs the same classes)"
        }
    }
}

private func list(_ names: [String]) -> String {
    names.prefix(5).map { "'\($0)'" }.joined(separator: ", ") + (names.count > 5 ? " and \(names.count - 5) more" : "")
}

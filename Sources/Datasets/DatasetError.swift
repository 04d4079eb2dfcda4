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
        }
    }
}

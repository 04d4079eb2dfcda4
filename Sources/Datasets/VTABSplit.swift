import Essentials
import Foundation

/// A VTAB-1k split in the NOAH/FacT layout: `<root>/<task>/<split>.txt` whose lines are
/// `images/<split>/<name>.jpg <label>`, paths relative to `<root>/<task>/`.
public struct VTABSplit: ImageSplit {
    public let name: String
    public let listFile: String
    public let directory: String
    public let imagePaths: [String]
    public let labels: [Int]
    /// 1-based line of each example in the list file (for error messages).
    let lineNumbers: [Int]

    public var count: Int { imagePaths.count }
    public var files: [String] { [listFile] + imagePaths }

    /// Reads and checks `<root>/<task>/<split>.txt`: every line well formed, every image present,
    /// every label in 0..<classes when `classes` is given, and at least one example.
    public init(root: String, task: String, split: String, classes: Int? = nil) throws {
        directory = (root as NSString).appendingPathComponent(task)
        listFile = (directory as NSString).appendingPathComponent("\(split).txt")
        name = split
        guard let data = contentsOfRegularFile(listFile) else {
            throw DatasetError.missingFile(path: listFile, referencedFrom: nil, line: nil)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw DatasetError.badListLine(path: listFile, line: 1, text: "", reason: "not UTF-8 text")
        }
        var paths: [String] = [], labels: [Int] = [], lines: [Int] = []
        // Split on any line break: in Swift "\r\n" is one Character, so splitting on "\n" alone would
        // read a CRLF file as one line.
        for (offset, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated()
        {
            let line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty { continue }
            if line.unicodeScalars.contains("\0") {  // a C path would end there, silently naming another file
                throw DatasetError.badListLine(
                    path: listFile, line: offset + 1, text: line.replacingOccurrences(of: "\0", with: "\\0"),
                    reason: "contains a NUL byte")
            }
            // The label is the last field; the path may itself contain spaces.
            guard let space = line.lastIndex(where: { $0 == " " || $0 == "\t" }) else {
                throw DatasetError.badListLine(
                    path: listFile, line: offset + 1, text: line, reason: "expected '<image path> <label>'")
            }
            let relative = line[..<space].trimmingCharacters(in: .whitespaces)
            guard let label = Int(line[line.index(after: space)...]) else {
                throw DatasetError.badListLine(
                    path: listFile, line: offset + 1, text: line, reason: "the label is not an integer")
            }
            if let classes, label < 0 || label >= classes {
                throw DatasetError.labelOutOfRange(path: listFile, line: offset + 1, label: label, classes: classes)
            }
            guard label >= 0 else {
                throw DatasetError.labelOutOfRange(
                    path: listFile, line: offset + 1, label: label, classes: classes ?? Int.max)
            }
            let path = (directory as NSString).appendingPathComponent(relative)
            guard FileManager.default.fileExists(atPath: path) else {
                throw DatasetError.missingFile(path: path, referencedFrom: listFile, line: offset + 1)
            }
            paths.append(path); labels.append(label); lines.append(offset + 1)
        }
        guard !paths.isEmpty else { throw DatasetError.emptySplit(path: listFile) }
        imagePaths = paths
        self.labels = labels
        lineNumbers = lines
    }

    public func loadImage(at index: Int, preprocessing: Preprocessing, into out: UnsafeMutablePointer<Float>) throws {
        let path = imagePaths[index]
        let image: RGBImage
        do {
            image = try RGBImage.decode(contentsOf: path)
        } catch DatasetError.unreadableImage(let p, let reason, _, _) {
            throw DatasetError.unreadableImage(
                path: p, reason: reason, referencedFrom: listFile, line: lineNumbers[index])
        } catch DatasetError.missingFile(let p, _, _) {
            throw DatasetError.missingFile(path: p, referencedFrom: listFile, line: lineNumbers[index])
        }
        preprocessing.apply(image, into: out)
    }

    public func exampleDigest(at index: Int, fileDigest: (String) throws -> String) throws -> String {
        try fileDigest(imagePaths[index])
    }

    /// Checks labels against a class count known only after reading all splits.
    public func checkLabels(classes: Int) throws {
        try validateLabels(classes: classes, source: listFile, lines: lineNumbers)
    }
}

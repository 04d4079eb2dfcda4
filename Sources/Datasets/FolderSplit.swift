import Essentials
import Foundation

/// A split in the class-folder layout (torchvision's ImageFolder): `<root>/<split>/<class>/<image>`,
/// JPEG and PNG files. Classes are the split's folders in sorted order (as torchvision sorts them), so
/// label i is the i-th name; images are sorted by name within a class. Hidden entries and other files
/// are skipped, as torchvision skips files without an image extension.
public struct FolderSplit: ImageSplit {
    public let name: String
    public let directory: String
    public let classNames: [String]?
    public let imagePaths: [String]
    public let labels: [Int]

    public var count: Int { imagePaths.count }
    public var files: [String] { imagePaths }
    /// The labels are the folders the images lie in, which no file's contents record: the digest of
    /// every image's class and relative path, so a cache key changes when an image changes class.
    public let labelDigest: String?

    /// The class folders of `<root>/<split>`, sorted (byte order, as Python sorts str).
    public static func classNames(root: String, split: String) throws -> [String] {
        let directory = (root as NSString).appendingPathComponent(split)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue
        else {
            throw DatasetError.missingFile(path: directory, referencedFrom: nil, line: nil)
        }
        let entries = try FileManager.default.contentsOfDirectory(atPath: directory)
        return entries.filter { entry in
            var isFolder: ObjCBool = false
            return !entry.hasPrefix(".")
                && FileManager.default.fileExists(
                    atPath: (directory as NSString).appendingPathComponent(entry), isDirectory: &isFolder)
                && isFolder.boolValue
        }.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// Reads `<root>/<split>`: its class folders must be `classNames` when given (those of the split
    /// `classesFrom`: every split needs the same classes), and every class folder must hold an image.
    /// `someClasses`: the folder may hold only some of `classNames` (images to predict), each labelled
    /// by its name's position there.
    public init(
        root: String, split: String, classNames expected: [String]? = nil, classesFrom: String = "",
        someClasses: Bool = false
    ) throws {
        directory = (root as NSString).appendingPathComponent(split)
        name = split
        let found = try Self.classNames(root: root, split: split)
        guard !found.isEmpty else { throw DatasetError.emptySplit(path: directory) }
        if let expected, someClasses ? !found.allSatisfy(expected.contains) : expected != found {
            throw DatasetError.classMismatch(
                path: directory, missing: someClasses ? [] : expected.filter { !found.contains($0) },
                extra: found.filter { !expected.contains($0) },
                reference: classesFrom.isEmpty ? "the first split" : classesFrom)
        }
        let names = expected ?? found
        classNames = names
        var paths: [String] = [], labels: [Int] = []
        var digest = SHA256()
        for className in found {
            let label = names.firstIndex(of: className)!
            let folder = (directory as NSString).appendingPathComponent(className)
            let images = try FileManager.default.contentsOfDirectory(atPath: folder).filter {
                !$0.hasPrefix(".") && FileImageSplit.extensions.contains(($0 as NSString).pathExtension.lowercased())
            }.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            guard !images.isEmpty else { throw DatasetError.emptyClass(path: folder) }
            for image in images {
                paths.append((folder as NSString).appendingPathComponent(image))
                labels.append(label)
                digest.update("\(className)/\(image)\n")
            }
        }
        imagePaths = paths
        self.labels = labels
        labelDigest = digest.finalize()
    }

    public func loadImage(at index: Int, preprocessing: Preprocessing, into out: UnsafeMutablePointer<Float>) throws {
        preprocessing.apply(try RGBImage.decode(contentsOf: imagePaths[index]), into: out)
    }

    public func exampleDigest(at index: Int, fileDigest: (String) throws -> String) throws -> String {
        try fileDigest(imagePaths[index])
    }
}

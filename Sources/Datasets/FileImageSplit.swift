import Foundation

/// Image files without labels (`hpsweep predict MODEL a.jpg dir/ …`): JPEG and PNG files given one by
/// one or found in directories (sorted by path, not recursive). Labels are -1: unknown.
public struct FileImageSplit: ImageSplit {
    public static let extensions: Set<String> = ["jpg", "jpeg", "png"]
    public let name: String
    public let files: [String]
    public var count: Int { files.count }
    public var labels: [Int] { [Int](repeating: -1, count: files.count) }

    /// Every path must exist: a file is taken as it is (its decoding says if it is no image), a
    /// directory contributes its JPEG and PNG files.
    public init(name: String = "images", paths: [String]) throws {
        var files: [String] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw DatasetError.missingFile(path: path, referencedFrom: nil, line: nil)
            }
            if isDirectory.boolValue {
                let names = try FileManager.default.contentsOfDirectory(atPath: path).sorted()
                files += names.filter { Self.extensions.contains(($0 as NSString).pathExtension.lowercased()) }
                    .map { (path as NSString).appendingPathComponent($0) }
            } else {
                files.append(path)
            }
        }
        self.name = name
        self.files = files
    }

    public func loadImage(at index: Int, preprocessing: Preprocessing, into out: UnsafeMutablePointer<Float>) throws {
        preprocessing.apply(try RGBImage.decode(contentsOf: files[index]), into: out)
    }

    public func exampleDigest(at index: Int, fileDigest: (String) throws -> String) throws -> String {
        try fileDigest(files[index])
    }
}

/// One split of a labelled image dataset (e.g. VTAB-1k's train800), read image by image.
public protocol ImageSplit {
    /// The split's name ("train800", "val200", "test", …).
    var name: String { get }
    /// Number of examples.
    var count: Int { get }
    /// Integer class of every example.
    var labels: [Int] { get }
    /// Every file whose contents define the split (list file and images, or the .npy arrays), for
    /// the cache key.
    var files: [String] { get }
    /// Writes example `index`, preprocessed, as (3, S, S) floats at `out`.
    func loadImage(at index: Int, preprocessing: Preprocessing, into out: UnsafeMutablePointer<Float>) throws
    /// A digest of example `index`'s image content, equal for equal images in any split (a cache runs
    /// each distinct image through the backbone once): the digest of its file, from `fileDigest`, for an
    /// example that is a file of its own; the SHA-256 of its array row otherwise.
    func exampleDigest(at index: Int, fileDigest: (String) throws -> String) throws -> String
    /// A digest of the labels when no file in `files` records them (class folders), else nil: it joins
    /// the cache key, so that moving an image to another class makes another cache.
    var labelDigest: String? { get }
    /// The class names, in label order, when the data names its classes, else nil.
    var classNames: [String]? { get }
}

extension ImageSplit {
    public var labelDigest: String? { nil }
    public var classNames: [String]? { nil }

    /// Checks every label lies in 0..<classes; `source` names the file in the error.
    func validateLabels(classes: Int, source: String, lines: [Int]? = nil) throws {
        for (i, label) in labels.enumerated() where label < 0 || label >= classes {
            throw DatasetError.labelOutOfRange(path: source, line: lines?[i], label: label, classes: classes)
        }
    }
}

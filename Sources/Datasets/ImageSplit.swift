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
}

extension ImageSplit {
    /// Checks every label lies in 0..<classes; `source` names the file in the error.
    func validateLabels(classes: Int, source: String, lines: [Int]? = nil) throws {
        for (i, label) in labels.enumerated() where label < 0 || label >= classes {
            throw DatasetError.labelOutOfRange(path: source, line: lines?[i], label: label, classes: classes)
        }
    }
}

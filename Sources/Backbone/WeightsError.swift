/// Why a weight file could not be used. Every case names the file, and the tensor where there is one,
/// so the CLI can print it as one line.
public enum WeightsError: Error, Equatable, CustomStringConvertible {
    case unableToOpen(path: String, reason: String)
    case truncated(path: String, detail: String)
    case badHeader(path: String, detail: String)
    case unsupportedDType(path: String, tensor: String, dtype: String)
    case badTensorExtent(path: String, tensor: String, detail: String)
    case missingTensor(path: String, tensor: String)
    case shapeMismatch(path: String, tensor: String, expected: [Int], found: [Int])
    case unknownConvention(path: String, sampleKeys: [String])
    case inconsistentModel(path: String, detail: String)
    case nonFinite(path: String, tensor: String, index: Int, value: Float)
    /// The image side asked for cannot be cut into the checkpoint's patches.
    case badImageSize(path: String, imageSize: Int, patchSize: Int)

    public var description: String {
        switch self {
        case let .unableToOpen(path, reason):
            return "\(path): cannot open weights: \(reason)"
        case let .truncated(path, detail):
            return "\(path): file is truncated: \(detail)"
        case let .badHeader(path, detail):
            return "\(path): bad header: \(detail)"
        case let .unsupportedDType(path, tensor, dtype):
            return "\(path): tensor '\(tensor)' has dtype \(dtype); supported: F32, F16, BF16"
        case let .badTensorExtent(path, tensor, detail):
            return "\(path): tensor '\(tensor)': \(detail)"
        case let .missingTensor(path, tensor):
            return "\(path): missing tensor '\(tensor)'"
        case let .shapeMismatch(path, tensor, expected, found):
            return "\(path): tensor '\(tensor)' has shape \(found), expected \(expected)"
        case let .unknownConvention(path, keys):
            let sample = keys.prefix(4).joined(separator: ", ")
            return
                "\(path): not a ViT checkpoint in timm, HuggingFace ViTModel or Google .npz naming (keys: \(sample)\(keys.count > 4 ? ", …" : ""))"
        case let .inconsistentModel(path, detail):
            return "\(path): \(detail)"
        case let .nonFinite(path, tensor, index, value):
            return
                "\(path): tensor '\(tensor)' holds \(value) at element \(index): the checkpoint is corrupt (weights must be finite)"
        case let .badImageSize(path, size, patch):
            return "\(path): image size \(size) is not a positive multiple (at most 1024×) of the patch size \(patch)"
        }
    }
}

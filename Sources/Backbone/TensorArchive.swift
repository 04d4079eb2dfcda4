import Numerics

/// A named collection of tensors in a file (safetensors, .npz), read on demand as Float.
public protocol TensorArchive {
    /// The file the tensors come from (for error messages).
    var path: String { get }
    /// Every tensor name in the file.
    var names: [String] { get }
    /// Shape of `name`, or nil if the file has no such tensor.
    func shape(of name: String) -> [Int]?
    /// Storage type of `name`, or nil if the file has no such tensor.
    func scalarType(of name: String) -> ScalarType?
    /// The tensor `name` converted to Float. Throws `WeightsError.missingTensor` if absent.
    func tensor(_ name: String) throws -> Tensor
}

extension TensorArchive {
    /// The tensor `name`, checked to have `shape` (or any shape with the same elements in the same
    /// order when `reshapingTo` is used by a caller after this check).
    public func tensor(_ name: String, shape expected: [Int]) throws -> Tensor {
        guard let found = shape(of: name) else { throw WeightsError.missingTensor(path: path, tensor: name) }
        guard found == expected else {
            throw WeightsError.shapeMismatch(path: path, tensor: name, expected: expected, found: found)
        }
        let t = try tensor(name)
        // A NaN or inf in frozen weights would surface only as every trial diverging, after the cache.
        if let bad = t.storage.firstIndex(where: { !$0.isFinite }) {
            throw WeightsError.nonFinite(path: path, tensor: name, index: bad, value: t.storage[bad])
        }
        return t
    }

    public func contains(_ name: String) -> Bool { shape(of: name) != nil }
}

/// A dense, row-major array of `Float` with a shape.
///
/// Storage is one contiguous Swift array, so a tensor can be handed to BLAS and to the kernels in
/// this module as a plain pointer. Kernels take pointers (llm.c style: outputs first, then inputs,
/// then sizes); `Tensor` is the owning convenience around them.
public struct Tensor: Equatable {
    /// Extent of each dimension, outermost first.
    public private(set) var shape: [Int]
    /// The elements in row-major order; `storage.count == shape.reduce(1, *)`.
    public var storage: [Float]

    /// A tensor of `shape` filled with `value`.
    public init(shape: [Int], repeating value: Float = 0) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative extent in shape \(shape)")
        self.shape = shape
        self.storage = [Float](repeating: value, count: shape.reduce(1, *))
    }

    /// A tensor of `shape` holding `storage` (row-major).
    public init(shape: [Int], storage: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative extent in shape \(shape)")
        precondition(
            shape.reduce(1, *) == storage.count,
            "Tensor: shape \(shape) needs \(shape.reduce(1, *)) elements, got \(storage.count)")
        self.shape = shape
        self.storage = storage
    }

    /// Number of elements.
    public var count: Int { storage.count }

    /// The same elements under another shape with the same element count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        Tensor(shape: newShape, storage: storage)
    }

    /// Row-major element access by multi-index (slow path: for tests and small code only).
    public subscript(_ index: Int...) -> Float {
        get { storage[flatIndex(index)] }
        set { storage[flatIndex(index)] = newValue }
    }

    private func flatIndex(_ index: [Int]) -> Int {
        precondition(index.count == shape.count, "Tensor: index \(index) for shape \(shape)")
        var flat = 0
        for (i, extent) in zip(index, shape) {
            precondition(i >= 0 && i < extent, "Tensor: index \(index) out of bounds for shape \(shape)")
            flat = flat * extent + i
        }
        return flat
    }

    /// Calls `body` with a pointer to the elements.
    @inlinable
    public func withUnsafePointer<R>(_ body: (UnsafePointer<Float>) throws -> R) rethrows -> R {
        try storage.withUnsafeBufferPointer { try body($0.baseAddress!) }
    }

    /// Calls `body` with a mutable pointer to the elements.
    @inlinable
    public mutating func withUnsafeMutablePointer<R>(
        _ body: (UnsafeMutablePointer<Float>) throws -> R
    ) rethrows -> R {
        try storage.withUnsafeMutableBufferPointer { try body($0.baseAddress!) }
    }
}

extension Tensor {
    /// Largest absolute element (0 for an empty tensor).
    public var maxAbs: Float { storage.reduce(0) { max($0, abs($1)) } }

    /// `max|self − other| / max|other|`: the error measure used for parity with reference dumps.
    /// It is relative to the reference's scale rather than element-wise, so values near zero do not
    /// blow it up.
    public func relativeError(to reference: Tensor) -> Float {
        precondition(shape == reference.shape, "relativeError: shapes \(shape) vs \(reference.shape)")
        var diff: Float = 0
        for i in 0..<count { diff = max(diff, abs(storage[i] - reference.storage[i])) }
        let scale = reference.maxAbs
        return scale > 0 ? diff / scale : diff
    }
}

/// Calls `body` with a mutable pointer into each of `arrays` at once (for kernels that fill
/// several outputs, possibly from several threads writing disjoint ranges).
public func withMutablePointers<R>(_ arrays: inout [[Float]], _ body: ([UnsafeMutablePointer<Float>]) throws -> R)
    rethrows -> R
{
    if arrays.isEmpty { return try body([]) }
    // Move the arrays out so each is uniquely referenced (no copy-on-write when pointers are taken).
    var rest = arrays
    arrays = []
    var first = rest.removeFirst()
    defer { arrays = [first] + rest }
    return try first.withUnsafeMutableBufferPointer { buffer in
        // An empty array may have no base address; it is never written.
        let pointer = buffer.baseAddress ?? UnsafeMutablePointer(bitPattern: 16)!
        return try withMutablePointers(&rest) { try body([pointer] + $0) }
    }
}

extension Array where Element == Float {
    /// Makes the array hold `count` floats, keeping its storage when it already has that many (a
    /// fresh large array is fresh pages, and faulting them in every training step costs more than the
    /// arithmetic of a thin layer); zeroed when `zeroed`, else its old contents are left to overwrite.
    @inlinable
    public mutating func reuse(count: Int, zeroed: Bool) {
        if self.count != count { self = [Float](repeating: 0, count: count); return }
        if zeroed { withUnsafeMutableBufferPointer { $0.update(repeating: 0) } }
    }

    /// Copies `source` into this array's storage (reused when the count matches).
    @inlinable
    public mutating func assign(_ source: [Float]) {
        reuse(count: source.count, zeroed: false)
        withUnsafeMutableBufferPointer { destination in
            source.withUnsafeBufferPointer { destination.baseAddress!.update(from: $0.baseAddress!, count: $0.count) }
        }
    }
}

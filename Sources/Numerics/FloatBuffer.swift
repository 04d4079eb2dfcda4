/// Floats in memory this object allocates and frees: the address stays valid for as long as the
/// object lives, so kernels can be handed `pointer` without it escaping an array's `withUnsafe…`
/// closure. For buffers read by pointer across calls (a batch's taps); zeroed when made.
public final class FloatBuffer: @unchecked Sendable {
    public let count: Int
    public let pointer: UnsafeMutablePointer<Float>
    /// The buffer this one is a window into (kept alive by it), or nil when this one owns its memory.
    private let viewed: FloatBuffer?

    /// `count` zeros.
    public init(count: Int) {
        precondition(count >= 0, "FloatBuffer: negative count \(count)")
        self.count = count
        pointer = .allocate(capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
        viewed = nil
    }

    /// Floats `range` of `buffer`, not copied: the window keeps `buffer` alive and sees its writes.
    public init(window range: Range<Int>, of buffer: FloatBuffer) {
        precondition(
            range.lowerBound >= 0 && range.upperBound <= buffer.count,
            "FloatBuffer: window \(range) outside \(buffer.count) floats")
        count = range.count
        pointer = buffer.pointer + range.lowerBound
        viewed = buffer
    }

    /// A copy of `values` (written once: no zeroing first).
    public init<Values: Collection>(_ values: Values) where Values.Element == Float {
        count = values.count
        pointer = .allocate(capacity: max(count, 1))
        let (_, written) = UnsafeMutableBufferPointer(start: pointer, count: max(count, 1)).initialize(from: values)
        if written < max(count, 1) { (pointer + written).initialize(repeating: 0, count: max(count, 1) - written) }
        viewed = nil
    }

    deinit { if viewed == nil { pointer.deallocate() } }

    public var buffer: UnsafeBufferPointer<Float> { UnsafeBufferPointer(start: pointer, count: count) }
    public var array: [Float] { Array(buffer) }
}

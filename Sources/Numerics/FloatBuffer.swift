/// Floats in memory this object allocates and frees: the address stays valid for as long as the
/// object lives, so kernels can be handed `pointer` without it escaping an array's `withUnsafe…`
/// closure. For buffers read by pointer across calls (a batch's taps); zeroed when made.
public final class FloatBuffer: @unchecked Sendable {
    public let count: Int
    public let pointer: UnsafeMutablePointer<Float>

    public init(count: Int) {
        precondition(count >= 0, "FloatBuffer: negative count \(count)")
        self.count = count
        pointer = .allocate(capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
    }

    public convenience init<Values: Collection>(_ values: Values) where Values.Element == Float {
        self.init(count: values.count)
        _ = UnsafeMutableBufferPointer(start: pointer, count: count).initialize(from: values)
    }

    deinit { pointer.deallocate() }

    public var buffer: UnsafeBufferPointer<Float> { UnsafeBufferPointer(start: pointer, count: count) }
    public var array: [Float] { Array(buffer) }
}

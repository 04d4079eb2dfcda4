import Numerics

/// The first element of `bytes` (stored as `dtype`, little-endian) that is NaN or ±inf, or nil.
/// A non-finite activation in a cache makes every trial that reads it diverge; finding it when the cache
/// is built or verified names the file instead. Exponent bits all ones marks NaN/inf in each format.
func firstNonFinite(_ bytes: UnsafeRawBufferPointer, dtype: ScalarType) -> Int? {
    switch dtype {
    case .float16: return firstWithAllBits(bytes, mask: UInt16(0x7C00))
    case .bfloat16: return firstWithAllBits(bytes, mask: UInt16(0x7F80))
    case .float32: return firstWithAllBits(bytes, mask: UInt32(0x7F80_0000))
    }
}

private func firstWithAllBits<W: FixedWidthInteger>(_ bytes: UnsafeRawBufferPointer, mask: W) -> Int? {
    let count = bytes.count / MemoryLayout<W>.size
    for i in 0..<count
    where W(littleEndian: bytes.loadUnaligned(fromByteOffset: i * MemoryLayout<W>.size, as: W.self)) & mask == mask {
        return i
    }
    return nil
}

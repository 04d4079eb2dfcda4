import CZlib

/// Running CRC-32 (IEEE, as zlib.crc32 in Python) over streamed bytes.
public struct CRC32 {
    public private(set) var value: UInt32 = 0
    public init() {}

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        var offset = 0
        // zlib takes a 32-bit length: feed large buffers in 1 GiB pieces.
        while offset < bytes.count {
            let n = min(bytes.count - offset, 1 << 30)
            value = UInt32(
                crc32(
                    uLong(value), bytes.baseAddress!.advanced(by: offset).assumingMemoryBound(to: Bytef.self), uInt(n)))
            offset += n
        }
    }

    public static func of(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var c = CRC32()
        c.update(bytes)
        return c.value
    }
}

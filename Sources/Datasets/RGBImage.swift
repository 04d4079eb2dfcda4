import CImageCodecs
import Essentials
import Foundation

/// An 8-bit RGB image, row-major height × width × 3.
public struct RGBImage: Equatable {
    public let width: Int
    public let height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(pixels.count == width * height * 3, "RGBImage: \(pixels.count) bytes for \(width)×\(height)×3")
        self.width = width; self.height = height; self.pixels = pixels
    }

    /// Decodes a JPEG or PNG file (recognised by its first bytes, not its name) with the system's
    /// libjpeg-turbo and libpng. Grey images become RGB; PNG alpha is dropped (as PIL's convert("RGB")).
    public static func decode(contentsOf path: String) throws -> RGBImage {
        guard let data = contentsOfRegularFile(path) else {
            throw DatasetError.missingFile(path: path, referencedFrom: nil, line: nil)
        }
        return try decode(data, path: path)
    }

    /// Decodes image bytes; `path` names them in errors.
    public static func decode(_ data: Data, path: String) throws -> RGBImage {
        let bytes = [UInt8](data.prefix(8))
        var image = hp_image()
        let status: Int32 = data.withUnsafeBytes { raw in
            let base = raw.bindMemory(to: UInt8.self).baseAddress
            if bytes.starts(with: [0xFF, 0xD8]) { return hp_decode_jpeg(base, raw.count, &image) }
            if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]) { return hp_decode_png(base, raw.count, &image) }
            return -2
        }
        if status == -2 {
            throw DatasetError.unreadableImage(
                path: path, reason: data.isEmpty ? "the file is empty" : "not a JPEG or PNG file",
                referencedFrom: nil, line: nil)
        }
        guard status == 0 else {
            let reason = withUnsafeBytes(of: image.error) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            throw DatasetError.unreadableImage(path: path, reason: reason, referencedFrom: nil, line: nil)
        }
        defer { hp_image_free(&image) }
        let count = Int(image.width) * Int(image.height) * 3
        return RGBImage(
            width: Int(image.width), height: Int(image.height),
            pixels: Array(UnsafeBufferPointer(start: image.pixels, count: count)))
    }
}

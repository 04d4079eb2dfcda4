import Backbone
import Cache
import Datasets
import Foundation
import Numerics
import XCTest
import _TestSupport

/// A numpy split of `count` random uint8 images (side `size`) with labels in 0..<3, written to `dir`.
func writeRandomSplit(_ name: String, count: Int, size: Int = 8, seed: UInt64, in dir: URL) throws -> NumpySplit {
    var rng = SeededRNG(seed: seed)
    let pixels = (0..<(count * size * size * 3)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    let labels = (0..<count).map { Int64($0 % 3) }
    let images = dir.appendingPathComponent("\(name)_images.npy").path
    let labelsPath = dir.appendingPathComponent("\(name)_labels.npy").path
    try npy(descr: "|u1", shape: [count, size, size, 3], data: Data(pixels)).write(to: URL(fileURLWithPath: images))
    try npy(descr: "<i8", shape: [count], data: labels.withUnsafeBytes { Data($0) }).write(to: URL(fileURLWithPath: labelsPath))
    return try NumpySplit(name: name, images: images, labels: labelsPath, classes: 3)
}

/// A version-1 .npy file.
func npy(descr: String, shape: [Int], data: Data) -> Data {
    let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
    var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shapeText), }"
    while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
    header += "\n"
    var out = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)])
    out.append(Data(header.utf8))
    out.append(data)
    return out
}

let tinyConfig = ViTConfig(imageSize: 16, patchSize: 8, width: 24, depth: 2, heads: 2)

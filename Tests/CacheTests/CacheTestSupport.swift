import Backbone
import Cache
import Datasets
import Essentials
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
    try npyFile(descr: "|u1", shape: [count, size, size, 3], data: Data(pixels)).write(to: URL(fileURLWithPath: images))
    try npyFile(descr: "<i8", shape: [count], data: labels.withUnsafeBytes { Data($0) }).write(
        to: URL(fileURLWithPath: labelsPath))
    return try NumpySplit(name: name, images: images, labels: labelsPath, classes: 3)
}

let tinyConfig = ViTConfig(imageSize: 16, patchSize: 8, width: 24, depth: 2, heads: 2)

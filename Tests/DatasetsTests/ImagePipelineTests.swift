import Backbone
import Datasets
import Foundation
import Numerics
import XCTest
import _TestSupport

/// Decoding + PIL-bicubic resize + normalisation against PIL/torchvision's output
/// (Tests/Fixtures/vtab/preprocessed.safetensors, from scripts/make_datasets.py). Target: within 2e-2
/// per value; the fixed-point resize reproduces PIL's, so the error is far smaller.
final class ImagePipelineTests: XCTestCase {
    func testMatchesPILForEveryImageKind() throws {
        let reference = try SafeTensorsFile(path: fixturePath("vtab/preprocessed.safetensors"))
        let task = fixturePath("vtab/tiny-task")
        var worst: Float = 0
        for name in reference.names {
            let parts = name.split(separator: "@")
            let size = Int(parts[1])!
            let expected = try reference.tensor(name)
            var actual = Tensor(shape: [3, size, size])
            let image = try RGBImage.decode(contentsOf: task + "/" + parts[0])
            actual.withUnsafeMutablePointer { Preprocessing(imageSize: size).apply(image, into: $0) }
            var maxDiff: Float = 0
            for i in 0..<actual.count { maxDiff = max(maxDiff, abs(actual.storage[i] - expected.storage[i])) }
            XCTAssertLessThanOrEqual(maxDiff, 2e-2, name)
            print("  \(name): max difference \(maxDiff)")
            worst = max(worst, maxDiff)
        }
        print("image pipeline vs PIL: worst absolute difference \(worst) over \(reference.names.count) images")
    }

    func testIdentityResizeKeepsPixels() {
        let image = RGBImage(width: 3, height: 2, pixels: (0..<18).map { UInt8($0 * 10) })
        XCTAssertEqual(image.resizedBicubic(width: 3, height: 2), image)
    }

    func testDecodeErrorsNameTheFile() throws {
        let dir = temporaryDirectory(self)
        let fake = dir.appendingPathComponent("fake.jpg").path
        try Data("hello".utf8).write(to: URL(fileURLWithPath: fake))
        XCTAssertThrowsError(try RGBImage.decode(contentsOf: fake)) { error in
            XCTAssertEqual("\(error)", "\(fake): cannot decode image: not a JPEG or PNG file")
        }
        let jpeg = try Data(contentsOf: URL(fileURLWithPath: fixturePath("vtab/tiny-task/images/val200/f.jpg")))
        let cut = dir.appendingPathComponent("cut.jpg").path
        try jpeg.prefix(300).write(to: URL(fileURLWithPath: cut))
        // libjpeg pads a truncated stream with grey (a warning, as PIL with LOAD_TRUNCATED_IMAGES);
        // a stream cut inside its headers is an error.
        let header = dir.appendingPathComponent("header.jpg").path
        try jpeg.prefix(20).write(to: URL(fileURLWithPath: header))
        XCTAssertThrowsError(try RGBImage.decode(contentsOf: header)) { error in
            XCTAssertTrue("\(error)".hasPrefix("\(header): cannot decode image: JPEG"), "\(error)")
        }
        let png = try Data(contentsOf: URL(fileURLWithPath: fixturePath("vtab/tiny-task/images/test/g.png")))
        let cutPNG = dir.appendingPathComponent("cut.png").path
        try png.prefix(png.count / 2).write(to: URL(fileURLWithPath: cutPNG))
        XCTAssertThrowsError(try RGBImage.decode(contentsOf: cutPNG)) { error in
            XCTAssertTrue("\(error)".hasPrefix("\(cutPNG): cannot decode image: PNG"), "\(error)")
        }
        XCTAssertThrowsError(try RGBImage.decode(contentsOf: dir.appendingPathComponent("none.png").path)) { error in
            XCTAssertTrue("\(error)".contains("no such file"), "\(error)")
        }
    }
}

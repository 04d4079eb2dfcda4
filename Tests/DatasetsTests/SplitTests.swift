import Datasets
import Foundation
import Numerics
import XCTest
import _TestSupport

/// VTAB-1k list files and .npy splits: what they read, and one clear error for each kind of mistake.
final class SplitTests: XCTestCase {
    let root = fixturePath("vtab")

    func testVTABListFiles() throws {
        let train = try VTABSplit(root: root, task: "tiny-task", split: "train800")
        XCTAssertEqual(train.count, 4)
        XCTAssertEqual(train.labels, [0, 1, 2, 1])
        XCTAssertEqual(train.files.count, 5, "list file + images")
        let both = try VTABSplit(root: root, task: "tiny-task", split: "train800val200", classes: 3)
        XCTAssertEqual(both.count, 6)
        var x = Tensor(shape: [3, 16, 16])
        try x.withUnsafeMutablePointer {
            try both.loadImage(at: 5, preprocessing: Preprocessing(imageSize: 16), into: $0)
        }
        XCTAssertTrue(x.storage.allSatisfy { $0.isFinite && abs($0) < 3 })
    }

    /// A copy of the fixture task whose `split` list file has `text`.
    func taskWithList(_ split: String, _ text: String) throws -> String {
        let dir = temporaryDirectory(self)
        try FileManager.default.copyItem(atPath: root + "/tiny-task", toPath: dir.path + "/t")
        try text.write(toFile: dir.path + "/t/\(split).txt", atomically: true, encoding: .utf8)
        return dir.path
    }

    func assertError(_ body: @autoclosure () throws -> Any, _ expected: String, line: UInt = #line) {
        XCTAssertThrowsError(try body(), line: line) { error in
            XCTAssertEqual("\(error)", expected, line: line)
        }
    }

    func testListFileErrorsNameFileAndLine() throws {
        let missingImage = try taskWithList("train800", "images/train800/a.jpg 0\nimages/train800/zzz.jpg 1\n")
        assertError(
            try VTABSplit(root: missingImage, task: "t", split: "train800"),
            "\(missingImage)/t/images/train800/zzz.jpg: no such file (listed in \(missingImage)/t/train800.txt line 2)")
        let badLabel = try taskWithList("val200", "images/val200/e.jpg zero\n")
        assertError(
            try VTABSplit(root: badLabel, task: "t", split: "val200"),
            "\(badLabel)/t/val200.txt line 1: the label is not an integer: 'images/val200/e.jpg zero'")
        let noLabel = try taskWithList("val200", "\nimages/val200/e.jpg\n")
        assertError(
            try VTABSplit(root: noLabel, task: "t", split: "val200"),
            "\(noLabel)/t/val200.txt line 2: expected '<image path> <label>': 'images/val200/e.jpg'")
        let range = try taskWithList("val200", "images/val200/e.jpg 7\n")
        assertError(
            try VTABSplit(root: range, task: "t", split: "val200", classes: 3),
            "\(range)/t/val200.txt line 1: label 7 is out of range 0..<3")
        let empty = try taskWithList("test", "\n\n")
        assertError(try VTABSplit(root: empty, task: "t", split: "test"), "\(empty)/t/test.txt: the split is empty")
        assertError(
            try VTABSplit(root: root, task: "tiny-task", split: "train1000"),
            "\(root)/tiny-task/train1000.txt: no such file")
    }

    func testUnreadableImageNamesListLine() throws {
        let dir = try taskWithList("test", "images/test/g.png 1\n")
        try Data("not an image".utf8).write(to: URL(fileURLWithPath: dir + "/t/images/test/g.png"))
        let split = try VTABSplit(root: dir, task: "t", split: "test")
        var x = [Float](repeating: 0, count: 3 * 8 * 8)
        XCTAssertThrowsError(try split.loadImage(at: 0, preprocessing: Preprocessing(imageSize: 8), into: &x)) {
            error in
            XCTAssertEqual(
                "\(error)",
                "\(dir)/t/images/test/g.png: cannot decode image: not a JPEG or PNG file (listed in \(dir)/t/test.txt line 1)"
            )
        }
    }

    func testBundledDigits() throws {
        let data = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("sweeps/data/digits").path
        let train = try NumpySplit(
            name: "train800", images: data + "/train800_images.npy", labels: data + "/train800_labels.npy", classes: 10)
        XCTAssertEqual(train.count, 800)
        XCTAssertEqual(Set(train.labels), Set(0..<10))
        let test = try NumpySplit(
            name: "test", images: data + "/test_images.npy", labels: data + "/test_labels.npy", classes: 10)
        XCTAssertEqual(test.count, 797)
        var x = Tensor(shape: [3, 32, 32])
        try x.withUnsafeMutablePointer {
            try train.loadImage(at: 0, preprocessing: Preprocessing(imageSize: 32), into: $0)
        }
        XCTAssertEqual(
            x[0, 5, 5], x[1, 5, 5] * 0.224 / 0.229 + (0.456 - 0.485) / 0.229, accuracy: 1e-4, "grey replicated to RGB")
        XCTAssertThrowsError(
            try NumpySplit(name: "x", images: data + "/train800_images.npy", labels: data + "/val200_labels.npy")
        ) { error in
            XCTAssertEqual(
                "\(error)", "\(data)/val200_labels.npy: 200 labels for 800 images in \(data)/train800_images.npy")
        }
        XCTAssertThrowsError(
            try NumpySplit(name: "x", images: data + "/train800_labels.npy", labels: data + "/train800_labels.npy")
        ) { error in
            XCTAssertTrue("\(error)".contains("images must be uint8"), "\(error)")
        }
        XCTAssertThrowsError(
            try NumpySplit(
                name: "x", images: data + "/train800_images.npy", labels: data + "/train800_labels.npy", classes: 5)
        ) { error in
            XCTAssertTrue("\(error)".contains("out of range 0..<5"), "\(error)")
        }
    }

    func testCRLFListFilesReadAndNULBytesAreRefused() throws {
        let lines = [
            "images/train800/a.jpg 0", "images/train800/b.png 1", "images/train800/c.png 2", "images/train800/d.png 1",
        ]
        let crlf = try taskWithList("train800", lines.joined(separator: "\r\n") + "\r\n")
        let split = try VTABSplit(root: crlf, task: "t", split: "train800")
        XCTAssertEqual(split.labels, [0, 1, 2, 1])
        XCTAssertEqual(split.count, 4, "four lines, not one")
        let nul = try taskWithList("train800", "images/train800/a.jpg 0\nimages/train800/b.png\u{0}.jpg 1\n")
        XCTAssertThrowsError(try VTABSplit(root: nul, task: "t", split: "train800")) { error in
            XCTAssertTrue("\(error)".contains("train800.txt line 2") && "\(error)".contains("NUL byte"), "\(error)")
        }
    }

    /// A Fortran-order (column-major) image array reads as the same images as its C-order copy.
    func testFortranOrderImageArraysAreReordered() throws {
        let dir = temporaryDirectory(self)
        let (n, h, w, c) = (3, 5, 4, 3)
        var cOrder = [UInt8](repeating: 0, count: n * h * w * c)
        for i in cOrder.indices { cOrder[i] = UInt8((i * 37 + 11) % 251) }
        var fOrder = cOrder
        for a in 0..<n {
            for y in 0..<h {
                for x in 0..<w {
                    for k in 0..<c {
                        fOrder[a + n * (y + h * (x + w * k))] = cOrder[((a * h + y) * w + x) * c + k]
                    }
                }
            }
        }
        func npy(_ bytes: [UInt8], fortran: Bool, shape: String, descr: String = "|u1") -> Data {
            var header = "{'descr': '\(descr)', 'fortran_order': \(fortran ? "True" : "False"), 'shape': \(shape), }"
            while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
            header += "\n"
            var data = Data(
                [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count & 0xff), UInt8(header.utf8.count >> 8)])
            data.append(Data(header.utf8)); data.append(Data(bytes))
            return data
        }
        try npy(cOrder, fortran: false, shape: "(\(n), \(h), \(w), \(c))").write(
            to: dir.appendingPathComponent("c.npy"))
        try npy(fOrder, fortran: true, shape: "(\(n), \(h), \(w), \(c))").write(to: dir.appendingPathComponent("f.npy"))
        try npy(
            (0..<n).flatMap { [UInt8($0)] + [UInt8](repeating: 0, count: 7) }, fortran: false, shape: "(\(n),)",
            descr: "<i8"
        )
        .write(to: dir.appendingPathComponent("labels.npy"))
        let cSplit = try NumpySplit(name: "c", images: dir.path + "/c.npy", labels: dir.path + "/labels.npy")
        let fSplit = try NumpySplit(name: "f", images: dir.path + "/f.npy", labels: dir.path + "/labels.npy")
        for a in 0..<n {
            var x = [Float](repeating: 0, count: 3 * 8 * 8), y = x
            try cSplit.loadImage(at: a, preprocessing: Preprocessing(imageSize: 8), into: &x)
            try fSplit.loadImage(at: a, preprocessing: Preprocessing(imageSize: 8), into: &y)
            XCTAssertEqual(x, y, "image \(a)")
        }
    }

    /// A NaN or infinity in float32 (already preprocessed) images is refused where it is read, naming
    /// the array, the image and the pixel: in the taps it would pass for a damaged cache.
    func testNonFiniteFloatImagesAreRefusedNamingTheInput() throws {
        let dir = temporaryDirectory(self)
        for (bad, text) in [(Float.nan, "nan"), (-Float.infinity, "-inf")] {
            var pixels = [Float](repeating: 0.5, count: 2 * 3 * 8 * 8)
            pixels[3 * 8 * 8 + 2 * 8 * 8 + 3 * 8 + 4] = bad  // image 1, channel 2, row 3, column 4
            let images = dir.path + "/images.npy", labels = dir.path + "/labels.npy"
            try npyFile(descr: "<f4", shape: [2, 3, 8, 8], data: pixels.withUnsafeBytes { Data($0) }).write(
                to: URL(fileURLWithPath: images))
            try npyFile(descr: "<i8", shape: [2], data: [Int64(0), 1].withUnsafeBytes { Data($0) }).write(
                to: URL(fileURLWithPath: labels))
            let split = try NumpySplit(name: "s", images: images, labels: labels)
            var out = [Float](repeating: 0, count: 3 * 8 * 8)
            XCTAssertNoThrow(try split.loadImage(at: 0, preprocessing: Preprocessing(imageSize: 8), into: &out))
            XCTAssertThrowsError(try split.loadImage(at: 1, preprocessing: Preprocessing(imageSize: 8), into: &out)) {
                XCTAssertEqual(
                    "\($0)",
                    "\(images): image 1 holds \(text) at channel 2, row 3, column 4 (images must be finite)")
            }
        }
    }
}

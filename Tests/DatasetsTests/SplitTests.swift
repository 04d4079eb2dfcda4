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
        try x.withUnsafeMutablePointer { try both.loadImage(at: 5, preprocessing: Preprocessing(imageSize: 16), into: $0) }
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
        assertError(try VTABSplit(root: missingImage, task: "t", split: "train800"),
                    "\(missingImage)/t/images/train800/zzz.jpg: no such file (listed in \(missingImage)/t/train800.txt line 2)")
        let badLabel = try taskWithList("val200", "images/val200/e.jpg zero\n")
        assertError(try VTABSplit(root: badLabel, task: "t", split: "val200"),
                    "\(badLabel)/t/val200.txt line 1: the label is not an integer: 'images/val200/e.jpg zero'")
        let noLabel = try taskWithList("val200", "\nimages/val200/e.jpg\n")
        assertError(try VTABSplit(root: noLabel, task: "t", split: "val200"),
                    "\(noLabel)/t/val200.txt line 2: expected '<image path> <label>': 'images/val200/e.jpg'")
        let range = try taskWithList("val200", "images/val200/e.jpg 7\n")
        assertError(try VTABSplit(root: range, task: "t", split: "val200", classes: 3),
                    "\(range)/t/val200.txt line 1: label 7 is out of range 0..<3")
        let empty = try taskWithList("test", "\n\n")
        assertError(try VTABSplit(root: empty, task: "t", split: "test"), "\(empty)/t/test.txt: the split is empty")
        assertError(try VTABSplit(root: root, task: "tiny-task", split: "train1000"), "\(root)/tiny-task/train1000.txt: no such file")
    }

    func testUnreadableImageNamesListLine() throws {
        let dir = try taskWithList("test", "images/test/g.png 1\n")
        try Data("not an image".utf8).write(to: URL(fileURLWithPath: dir + "/t/images/test/g.png"))
        let split = try VTABSplit(root: dir, task: "t", split: "test")
        var x = [Float](repeating: 0, count: 3 * 8 * 8)
        XCTAssertThrowsError(try split.loadImage(at: 0, preprocessing: Preprocessing(imageSize: 8), into: &x)) { error in
            XCTAssertEqual("\(error)", "\(dir)/t/images/test/g.png: cannot decode image: not a JPEG or PNG file (listed in \(dir)/t/test.txt line 1)")
        }
    }

    func testBundledDigits() throws {
        let data = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("sweeps/data/digits").path
        let train = try NumpySplit(name: "train800", images: data + "/train800_images.npy", labels: data + "/train800_labels.npy", classes: 10)
        XCTAssertEqual(train.count, 800)
        XCTAssertEqual(Set(train.labels), Set(0..<10))
        let test = try NumpySplit(name: "test", images: data + "/test_images.npy", labels: data + "/test_labels.npy", classes: 10)
        XCTAssertEqual(test.count, 797)
        var x = Tensor(shape: [3, 32, 32])
        try x.withUnsafeMutablePointer { try train.loadImage(at: 0, preprocessing: Preprocessing(imageSize: 32), into: $0) }
        XCTAssertEqual(x[0, 5, 5], x[1, 5, 5] * 0.224 / 0.229 + (0.456 - 0.485) / 0.229, accuracy: 1e-4, "grey replicated to RGB")
        XCTAssertThrowsError(try NumpySplit(name: "x", images: data + "/train800_images.npy", labels: data + "/val200_labels.npy")) { error in
            XCTAssertEqual("\(error)", "\(data)/val200_labels.npy: 200 labels for 800 images in \(data)/train800_images.npy")
        }
        XCTAssertThrowsError(try NumpySplit(name: "x", images: data + "/train800_labels.npy", labels: data + "/train800_labels.npy")) { error in
            XCTAssertTrue("\(error)".contains("images must be uint8"), "\(error)")
        }
        XCTAssertThrowsError(try NumpySplit(name: "x", images: data + "/train800_images.npy", labels: data + "/train800_labels.npy", classes: 5)) { error in
            XCTAssertTrue("\(error)".contains("out of range 0..<5"), "\(error)")
        }
    }
}

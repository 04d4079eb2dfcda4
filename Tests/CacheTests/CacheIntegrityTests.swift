import Backbone
import Cache
import Datasets
import Essentials
import Foundation
import Numerics
import XCTest
import _TestSupport

/// Damaged caches are detected and reported with the file, never trained on; foreign caches import.
final class CacheIntegrityTests: XCTestCase {
    func buildSmall() throws -> ActivationCache {
        let dir = temporaryDirectory(self)
        let split = try writeRandomSplit("train800", count: 6, seed: 4, in: dir)
        let plan = try CachePlan(CacheRequest(backbone: .random(config: tinyConfig, seed: 0), splits: [split]))
        return try CacheBuilder(root: dir.appendingPathComponent("cache").path).build(plan)
    }

    func testFlippedByteFailsVerification() throws {
        let cache = try buildSmall()
        let file = cache.directory + "/images.z1.bin"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: file))
        bytes[100] ^= 0x40
        try bytes.write(to: URL(fileURLWithPath: file))
        let reopened = try ActivationCache(directory: cache.directory)  // sizes still fine
        XCTAssertThrowsError(try reopened.verify()) { error in
            guard case CacheError.checksumMismatch(let path, _, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(path, file)
            XCTAssertTrue("\(error)".contains("corrupted cache"))
        }
    }

    /// A NaN written with a matching CRC (a cache made elsewhere) is still found by verify, with its file.
    func testNonFiniteActivationFailsVerification() throws {
        let cache = try buildSmall()
        let file = cache.directory + "/images.z1.bin"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: file))
        bytes[20] = 0x00; bytes[21] = 0x7E  // F16 NaN at element 10
        try bytes.write(to: URL(fileURLWithPath: file))
        let headerURL = URL(fileURLWithPath: cache.directory + "/header.json")
        var header = try JSONSerialization.jsonObject(with: Data(contentsOf: headerURL)) as! [String: Any]
        var arrays = header["arrays"] as! [[String: Any]]
        let index = arrays.firstIndex { $0["file"] as? String == "images.z1.bin" }!
        arrays[index]["crc32"] = bytes.withUnsafeBytes { Int(CRC32.of($0)) }
        header["arrays"] = arrays
        try JSONSerialization.data(withJSONObject: header).write(to: headerURL)
        let reopened = try ActivationCache(directory: cache.directory)
        XCTAssertThrowsError(try reopened.verify()) { error in
            guard case CacheError.nonFinite(let path, 10, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(path, file)
        }
    }

    /// Labels that are no class, written with matching CRCs (a cache made elsewhere): verify refuses
    /// a negative or absurd one, and a reader that knows the class count refuses one beyond it, each
    /// naming the labels file and the example — never an index out of range later.
    func testLabelsOutOfRangeAreRefusedNamingTheFile() throws {
        let cache = try buildSmall()
        let array = try XCTUnwrap(cache.header.array(split: "train800", tap: "labels"))
        let file = cache.directory + "/" + array.file
        let headerURL = URL(fileURLWithPath: cache.directory + "/header.json")
        let original = try Data(contentsOf: headerURL)
        func relabel(_ label: Int64) throws -> ActivationCache {
            var bytes = try Data(contentsOf: URL(fileURLWithPath: file))
            withUnsafeBytes(of: label.littleEndian) { bytes.replaceSubrange(16..<24, with: $0) }  // example 2
            try bytes.write(to: URL(fileURLWithPath: file))
            let crc = bytes.withUnsafeBytes { Int(CRC32.of($0)) }
            let text = String(decoding: original, as: UTF8.self).replacingOccurrences(
                of: "\"crc32\" : \(array.crc32),", with: "\"crc32\" : \(crc),")
            try Data(text.utf8).write(to: headerURL)
            return try ActivationCache(directory: cache.directory)
        }
        for bad: Int64 in [-1, 1 << 40] {
            XCTAssertThrowsError(try relabel(bad).verify()) { error in
                XCTAssertEqual("\(error)", "\(file): label \(bad) of example 2 is out of range 0..<1048576")
            }
        }
        let twelve = try relabel(12)
        XCTAssertNoThrow(try twelve.verify(), "a cache does not know its class count")
        XCTAssertThrowsError(try twelve.labels("train800", classes: 10)) { error in
            XCTAssertEqual("\(error)", "\(file): label 12 of example 2 is out of range 0..<10 (10 classes)")
        }
        XCTAssertEqual(try twelve.labels("train800", classes: 13)[2], 12)
    }

    /// A NaN reaching the taps stops the build, naming the image: here a finite but huge pixel of
    /// preprocessed float images overflows in the backbone. A NaN in the input itself is refused
    /// earlier, naming the input array (not a staging file). Neither publishes a cache.
    func testNonFiniteActivationStopsTheBuild() throws {
        let dir = temporaryDirectory(self)
        for bad: Float in [3e38, .nan] {
            var pixels = [Float](repeating: 0.25, count: 2 * 3 * 16 * 16)
            pixels[3 * 16 * 16 + 5] = bad  // image 1
            let images = dir.appendingPathComponent("train800_images.npy"),
                labels = dir.appendingPathComponent("train800_labels.npy")
            try npyFile(descr: "<f4", shape: [2, 3, 16, 16], data: pixels.withUnsafeBytes { Data($0) }).write(
                to: images)
            try npyFile(descr: "<i8", shape: [2], data: [Int64(0), 1].withUnsafeBytes { Data($0) }).write(to: labels)
            let split = try NumpySplit(name: "train800", images: images.path, labels: labels.path, classes: 3)
            let plan = try CachePlan(CacheRequest(backbone: .random(config: tinyConfig, seed: 0), splits: [split]))
            XCTAssertThrowsError(try CacheBuilder(root: dir.appendingPathComponent("cache").path).build(plan)) {
                error in
                if bad.isNaN {
                    XCTAssertEqual(
                        "\(error)",
                        "\(images.path): image 1 holds nan at channel 0, row 0, column 5 (images must be finite)")
                } else {
                    guard case CacheError.nonFinite(_, _, let detail) = error else { return XCTFail("\(error)") }
                    XCTAssertTrue(detail.contains("image 1 of split train800"), detail)
                }
            }
            let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: dir.path + "/cache")) ?? []
            XCTAssertFalse(
                leftovers.contains { !$0.hasPrefix(".") && !$0.hasSuffix(".lock") && !$0.contains("staging") },
                "no cache published: \(leftovers)")
        }
    }

    func testTruncatedOrMissingArrayFailsToOpen() throws {
        let cache = try buildSmall()
        let file = cache.directory + "/images.z2.bin"
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: file))
        try handle.truncate(atOffset: 10)
        try handle.close()
        XCTAssertThrowsError(try ActivationCache(directory: cache.directory)) { error in
            XCTAssertEqual(
                error as? CacheError, .truncatedArray(path: file, expectedBytes: 6 * 5 * 24 * 2, actualBytes: 10))
        }
        try FileManager.default.removeItem(atPath: file)
        XCTAssertThrowsError(try ActivationCache(directory: cache.directory)) { error in
            XCTAssertEqual(error as? CacheError, .missingArray(path: file))
        }
    }

    func testBadHeaders() throws {
        let cache = try buildSmall()
        let headerPath = cache.directory + "/header.json"
        let original = try Data(contentsOf: URL(fileURLWithPath: headerPath))
        func expect(_ edit: (inout [String: Any]) -> Void, _ check: (String) -> Bool, line: UInt = #line) throws {
            var object = try JSONSerialization.jsonObject(with: original) as! [String: Any]
            edit(&object)
            try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: headerPath))
            XCTAssertThrowsError(try ActivationCache(directory: cache.directory), line: line) { error in
                XCTAssertTrue(check("\(error)"), "\(error)", line: line)
            }
        }
        try expect({ $0["magic"] = "something-else" }, { $0.contains("not an hpsweep activation cache") })
        try expect({ $0["format_version"] = 99 }, { $0.contains("format version 99 is not supported") })
        try expect({ $0["dtype"] = "F64" }, { $0.contains("'dtype'") })
        try expect({ $0["width"] = 25 }, { $0.contains("arrays[0].shape") && $0.contains("expected [6, 5, 25]") })
        try expect({ $0["arrays"] = [] }, { $0.contains("needs exactly one array for split 'train800'") })
        try expect(
            { o in
                var arrays = o["arrays"] as! [[String: Any]]
                arrays[0]["file"] = "../../etc/passwd"
                o["arrays"] = arrays
            }, { $0.contains("plain file name") })
        try Data("{".utf8).write(to: URL(fileURLWithPath: headerPath))
        XCTAssertThrowsError(try ActivationCache(directory: cache.directory)) { error in
            XCTAssertTrue("\(error)".contains("not a JSON object"), "\(error)")
        }
    }

    func testImportOfPythonWrittenCache() throws {
        let root = temporaryDirectory(self).path
        let source = fixturePath("python-cache")
        let (cache, present) = try CacheImporter.importCache(from: source, into: root)
        XCTAssertFalse(present)
        XCTAssertEqual(
            cache.key, "822f93ff529e59c33381adb4efb6e73ac7a8a8f0ccbb75e946022892268243dc",
            "the key Python computed is SHA-256 of the same canonical JSON")
        XCTAssertEqual(cache.directory, root + "/" + cache.key)
        XCTAssertEqual(cache.header.taps, [.block(0), .block(2), .normalized])
        XCTAssertEqual(try cache.labels("val200"), [0, 1, 0])
        // value = (split·10 + tap index) + 0.001·(example·100 + token·10 + feature), stored as fp16.
        let z2 = try cache.tensor(split: "train800", tap: .block(2), indices: [4])
        XCTAssertEqual(z2[0, 1, 3], floatFromHalfBits(halfBits(from: 1 + 0.413)))
        let norm = try cache.tensor(split: "val200", tap: .normalized, indices: [2, 0])
        XCTAssertEqual(norm[0, 2, 1], floatFromHalfBits(halfBits(from: 12 + 0.221)))
        XCTAssertEqual(norm[1, 0, 0], 12)
        let again = try CacheImporter.importCache(from: source, into: root)
        XCTAssertTrue(again.alreadyPresent)
    }

    /// Format 2 from Python: 8 distinct images; train800val200 is train800 and val200 again by index.
    func testImportOfPythonWrittenFormat2Cache() throws {
        let root = temporaryDirectory(self).path
        let (cache, _) = try CacheImporter.importCache(from: fixturePath("python-cache-v2"), into: root)
        XCTAssertEqual(cache.header.formatVersion, 2)
        XCTAssertEqual(cache.header.images, 8)
        XCTAssertEqual(cache.header.splits, ["train800": 5, "val200": 3, "train800val200": 8])
        XCTAssertEqual(try cache.labels("train800val200"), try cache.labels("train800") + cache.labels("val200"))
        // Image 6 (val200's example 1) read through either split: (1·10 + tap) + 0.001·(1·100 + token·10 + feature).
        let viaVal = try cache.tensor(split: "val200", tap: .block(2), indices: [1])
        let viaBoth = try cache.tensor(split: "train800val200", tap: .block(2), indices: [6])
        XCTAssertEqual(viaVal.storage, viaBoth.storage)
        XCTAssertEqual(viaVal[0, 2, 3], floatFromHalfBits(halfBits(from: 11 + 0.123)))
        var classTokens = [Float](repeating: 0, count: 2 * 4)
        try cache.readClassTokens(split: "train800val200", tap: .normalized, indices: [7, 0], into: &classTokens)
        XCTAssertEqual(classTokens[0], floatFromHalfBits(halfBits(from: 12 + 0.2)))
        XCTAssertEqual(classTokens[4], 2)
    }

    /// A format-2 index naming a row outside the images, or a header whose arrays do not match its
    /// format, is refused at opening, with the file named.
    func testFormat2IndexAndLayoutAreChecked() throws {
        let copy = temporaryDirectory(self).path + "/c"
        try FileManager.default.copyItem(atPath: fixturePath("python-cache-v2"), toPath: copy)
        let index = copy + "/val200.index.bin"
        var rows = [Int64(5), 6, 8].map(\.littleEndian)  // row 8 of 8 images
        try Data(bytes: &rows, count: 24).write(to: URL(fileURLWithPath: index))
        XCTAssertThrowsError(try ActivationCache(directory: copy)) { error in
            XCTAssertEqual(
                "\(error)",
                "\(index): example 2 names image row 8, outside the cache's 8 images (damaged cache; delete the directory to rebuild)"
            )
        }
        rows = [Int64(5), 6, -1].map(\.littleEndian)
        try Data(bytes: &rows, count: 24).write(to: URL(fileURLWithPath: index))
        XCTAssertThrowsError(try ActivationCache(directory: copy)) {
            XCTAssertTrue("\($0)".contains("image row -1"), "\($0)")
        }

        let headerPath = copy + "/header.json"
        let original = try Data(contentsOf: URL(fileURLWithPath: headerPath))
        func expect(_ change: (inout [String: Any]) -> Void, _ text: String) throws {
            var header = try JSONSerialization.jsonObject(with: original) as! [String: Any]
            change(&header)
            try JSONSerialization.data(withJSONObject: header).write(to: URL(fileURLWithPath: headerPath))
            XCTAssertThrowsError(try ActivationCache(directory: copy)) {
                XCTAssertTrue("\($0)".contains(text), "\($0) lacks \(text)")
            }
        }
        try expect({ $0["images"] = nil }, "'images'")
        try expect(
            { $0["arrays"] = ($0["arrays"] as! [[String: Any]]).filter { $0["tap"] as? String != "index" } },
            "needs exactly one array for split")
        try expect(
            { o in
                o["arrays"] = (o["arrays"] as! [[String: Any]]).map { a in
                    var a = a; if a["split"] == nil { a["split"] = "train800" }; return a
                }
            }, "must be absent")
        try expect(
            { o in
                o["arrays"] = (o["arrays"] as! [[String: Any]]).map { a in
                    var a = a; if a["tap"] as? String == "z0" { a["shape"] = [5, 3, 4]; a["bytes"] = 120 }; return a
                }
            }, "expected [8, 3, 4]")
    }

    func testImportRefusesTamperedCache() throws {
        let copy = temporaryDirectory(self).path + "/c"
        try FileManager.default.copyItem(atPath: fixturePath("python-cache"), toPath: copy)
        var header =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: copy + "/header.json")))
            as! [String: Any]
        var ingredients = header["ingredients"] as! [String: Any]
        ingredients["dtype"] = "F32"  // claims other ingredients than those the key was made from
        header["ingredients"] = ingredients
        try JSONSerialization.data(withJSONObject: header).write(to: URL(fileURLWithPath: copy + "/header.json"))
        let root = temporaryDirectory(self).path
        XCTAssertThrowsError(try CacheImporter.importCache(from: copy, into: root)) { error in
            guard case CacheError.keyMismatch = error else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root), [])
    }
}

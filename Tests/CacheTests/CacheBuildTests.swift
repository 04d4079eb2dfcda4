import Backbone
import Cache
import Datasets
import Foundation
import Numerics
import XCTest
import _TestSupport

/// Building caches: contents equal the backbone's taps, token policies, reuse, leftovers of dead builds.
final class CacheBuildTests: XCTestCase {
    /// The VTAB fixture tree through the tiny timm fixture ViT.
    func vtabPlan(dtype: ScalarType, policy: TokenPolicy = .all) throws -> CachePlan {
        let splits = try ["train800", "val200"].map {
            try VTABSplit(root: fixturePath("vtab"), task: "tiny-task", split: $0, classes: 3)
        }
        var request = CacheRequest(
            backbone: .weights(path: fixturePath("vit_tiny_f32.safetensors"), heads: 3, layerNormEps: nil),
            splits: splits)
        request.taps = [.block(0), .block(2), .block(4), .normalized]
        request.dtype = dtype
        request.tokenPolicy = policy
        return try CachePlan(request)
    }

    /// The backbone's taps computed directly on the split's preprocessed images.
    func directTaps(_ plan: CachePlan, split: any ImageSplit) throws -> ViT.Output {
        let size = plan.vit.config.imageSize
        var images = Tensor(shape: [split.count, 3, size, size])
        try images.withUnsafeMutablePointer { base in
            for i in 0..<split.count {
                try split.loadImage(at: i, preprocessing: plan.preprocessing, into: base + i * 3 * size * size)
            }
        }
        return plan.vit.forward(images: images, taps: [0, 2, 4], normalizedFinal: true, threads: 1)
    }

    func testCacheHoldsTheBackboneTaps() throws {
        for (dtype, tolerance) in [(ScalarType.float32, Float(1e-6)), (.float16, 5e-4), (.bfloat16, 4e-3)] {
            let root = temporaryDirectory(self).path
            let plan = try vtabPlan(dtype: dtype)
            var builder = CacheBuilder(root: root)
            builder.batchSize = 3  // 4 and 2 images: a partial last batch
            let cache = try builder.build(plan)
            try cache.verify()
            XCTAssertEqual(cache.directory, root + "/" + plan.key)
            for split in plan.request.splits {
                let direct = try directTaps(plan, split: split)
                let all = Array(0..<split.count)
                for (tap, expected) in [
                    (Tap.block(0), direct.taps[0]!), (.block(2), direct.taps[2]!), (.block(4), direct.taps[4]!),
                    (.normalized, direct.normalizedFinal!),
                ] {
                    assertClose(
                        try cache.tensor(split: split.name, tap: tap, indices: all), expected, rtol: tolerance,
                        "\(dtype) \(split.name) \(tap)")
                }
                XCTAssertEqual(try cache.labels(split.name), split.labels)
            }
            XCTAssertThrowsError(try cache.tensor(split: "train800", tap: .block(1), indices: [0])) { error in
                XCTAssertEqual("\(error)", "tap 'z1' is not in the cache (it has z0, z2, z4, norm)")
            }
        }
    }

    /// train800val200 is train800 and val200 again: each image runs through the backbone once, is
    /// stored once, and reads back the same through every split naming it. Equal contents under other
    /// names count as one image (a copied file, a repeated array row); the key does not change.
    func testEachDistinctImageIsComputedAndStoredOnce() throws {
        let splits = try ["train800", "val200", "train800val200"].map {
            try VTABSplit(root: fixturePath("vtab"), task: "tiny-task", split: $0, classes: 3)
        }
        var request = CacheRequest(
            backbone: .weights(path: fixturePath("vit_tiny_f32.safetensors"), heads: 3, layerNormEps: nil),
            splits: splits)
        request.taps = [.block(0), .normalized]
        let plan = try CachePlan(request)
        let counts = splits.map(\.count)
        XCTAssertEqual(plan.images.count, counts[0] + counts[1], "the combined split adds no image")
        XCTAssertEqual(plan.rows[2], plan.rows[0] + plan.rows[1])
        var progress: [CacheProgress] = []
        let cache = try CacheBuilder(root: temporaryDirectory(self).path).build(plan) { progress.append($0) }
        try cache.verify()
        XCTAssertEqual(progress.last?.imagesTotal, plan.images.count, "the build reports distinct images")
        XCTAssertEqual(cache.header.images, plan.images.count)
        XCTAssertEqual(cache.header.array(split: nil, tap: "z0")?.shape.first, plan.images.count)
        for split in splits {
            let direct = try directTaps(plan, split: split)
            assertClose(
                try cache.tensor(split: split.name, tap: .block(0), indices: Array(0..<split.count)), direct.taps[0]!,
                rtol: 5e-4, split.name)
            XCTAssertEqual(try cache.labels(split.name), split.labels)
        }
        XCTAssertEqual(
            try cache.tensor(split: "train800val200", tap: .normalized, indices: [counts[0]]).storage,
            try cache.tensor(split: "val200", tap: .normalized, indices: [0]).storage)

        // NumPy rows: a split whose rows repeat another's (and itself) shares them.
        let dir = temporaryDirectory(self)
        let first = try writeRandomSplit("first", count: 4, seed: 9, in: dir)
        let pixels = try Data(contentsOf: URL(fileURLWithPath: first.imagesPath)).suffix(4 * 8 * 8 * 3)
        let row = 8 * 8 * 3
        var repeated = Data(pixels.prefix(row * 2))  // rows 0, 1 of `first`
        repeated += Data(pixels.prefix(row))  // row 0 again
        repeated += Data((0..<row).map { UInt8($0 % 251) })  // a new image
        let images = dir.appendingPathComponent("second_images.npy").path,
            labels = dir.appendingPathComponent("second_labels.npy").path
        try npyFile(descr: "|u1", shape: [4, 8, 8, 3], data: repeated).write(to: URL(fileURLWithPath: images))
        try npyFile(descr: "<i8", shape: [4], data: [Int64](repeating: 1, count: 4).withUnsafeBytes { Data($0) }).write(
            to: URL(fileURLWithPath: labels))
        let second = try NumpySplit(name: "second", images: images, labels: labels, classes: 3)
        let numpyPlan = try CachePlan(
            CacheRequest(backbone: .random(config: tinyConfig, seed: 0), splits: [first, second]))
        XCTAssertEqual(numpyPlan.rows, [[0, 1, 2, 3], [0, 1, 0, 4]])
        let numpyCache = try CacheBuilder(root: dir.appendingPathComponent("cache").path).build(numpyPlan)
        XCTAssertEqual(numpyCache.header.images, 5)
        XCTAssertEqual(
            try numpyCache.tensor(split: "second", tap: .block(1), indices: [2]).storage,
            try numpyCache.tensor(split: "first", tap: .block(1), indices: [0]).storage)
        XCTAssertEqual(try numpyCache.labels("second"), [1, 1, 1, 1], "labels stay the split's own")
    }

    func testTokenPolicies() throws {
        let root = temporaryDirectory(self).path
        let all = try CacheBuilder(root: root).build(try vtabPlan(dtype: .float32))
        let cls = try CacheBuilder(root: root).build(try vtabPlan(dtype: .float32, policy: .cls))
        let mean = try CacheBuilder(root: root).build(try vtabPlan(dtype: .float32, policy: .mean))
        XCTAssertEqual(Set([all.key, cls.key, mean.key]).count, 3)
        let full = try all.tensor(split: "val200", tap: .block(4), indices: [0, 1])  // (2, 17, 96)
        let first = try cls.tensor(split: "val200", tap: .block(4), indices: [0, 1])  // (2, 1, 96)
        let pooled = try mean.tensor(split: "val200", tap: .block(4), indices: [0, 1])
        XCTAssertEqual(first.shape, [2, 1, 96])
        for e in 0..<2 {
            for d in 0..<96 {
                XCTAssertEqual(first[e, 0, d], full[e, 0, d])
                let average = (1..<17).reduce(Float(0)) { $0 + full[e, $1, d] } / 16
                XCTAssertEqual(pooled[e, 0, d], average, accuracy: 1e-5)
            }
        }
    }

    func testReuseAndAbandonedBuilds() throws {
        let root = temporaryDirectory(self).path
        let plan = try vtabPlan(dtype: .float16)
        let builder = CacheBuilder(root: root)
        XCTAssertNil(try builder.existing(plan, verify: true))
        // Leftovers of a builder that died (its pid no longer exists) are cleared by the next build.
        let dead = root + "/.building-\(plan.key).999999999"
        try FileManager.default.createDirectory(atPath: dead, withIntermediateDirectories: true)
        try Data("half".utf8).write(to: URL(fileURLWithPath: dead + "/train800.z0.bin"))
        XCTAssertNil(try builder.existing(plan, verify: true), "a staging directory is never a cache")
        _ = try builder.build(plan)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dead))
        let reused = try XCTUnwrap(try builder.existing(plan, verify: true))
        XCTAssertEqual(reused.key, plan.key)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root), [plan.key])
    }

    func testUnreadableImageStopsTheBuildWithoutACache() throws {
        let task = temporaryDirectory(self).path
        try FileManager.default.copyItem(atPath: fixturePath("vtab/tiny-task"), toPath: task + "/t")
        try Data("broken".utf8).write(to: URL(fileURLWithPath: task + "/t/images/train800/d.png"))
        let split = try VTABSplit(root: task, task: "t", split: "train800")
        let root = temporaryDirectory(self).path
        let plan = try CachePlan(
            CacheRequest(
                backbone: .random(
                    config: ViTConfig(imageSize: 32, patchSize: 8, width: 24, depth: 1, heads: 2), seed: 0),
                splits: [split]))
        XCTAssertThrowsError(try CacheBuilder(root: root).build(plan)) { error in
            XCTAssertEqual(
                "\(error)",
                "\(task)/t/images/train800/d.png: cannot decode image: not a JPEG or PNG file (listed in \(task)/t/train800.txt line 4)"
            )
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root), [], "nothing left behind")
    }
}

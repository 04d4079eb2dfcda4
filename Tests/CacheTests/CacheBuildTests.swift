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
        let splits = try ["train800", "val200"].map { try VTABSplit(root: fixturePath("vtab"), task: "tiny-task", split: $0, classes: 3) }
        var request = CacheRequest(backbone: .weights(path: fixturePath("vit_tiny_f32.safetensors"), heads: 3, layerNormEps: nil), splits: splits)
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
            for i in 0..<split.count { try split.loadImage(at: i, preprocessing: plan.preprocessing, into: base + i * 3 * size * size) }
        }
        return plan.vit.forward(images: images, taps: [0, 2, 4], normalizedFinal: true, threads: 1)
    }

    func testCacheHoldsTheBackboneTaps() throws {
        for (dtype, tolerance) in [(ScalarType.float32, Float(1e-6)), (.float16, 5e-4), (.bfloat16, 4e-3)] {
            let root = temporaryDirectory(self).path
            let plan = try vtabPlan(dtype: dtype)
            var builder = CacheBuilder(root: root)
            builder.batchSize = 3           // 4 and 2 images: a partial last batch
            let cache = try builder.build(plan)
            try cache.verify()
            XCTAssertEqual(cache.directory, root + "/" + plan.key)
            for split in plan.request.splits {
                let direct = try directTaps(plan, split: split)
                let all = Array(0..<split.count)
                for (tap, expected) in [(Tap.block(0), direct.taps[0]!), (.block(2), direct.taps[2]!), (.block(4), direct.taps[4]!),
                                        (.normalized, direct.normalizedFinal!)] {
                    assertClose(try cache.tensor(split: split.name, tap: tap, indices: all), expected, rtol: tolerance,
                                "\(dtype) \(split.name) \(tap)")
                }
                XCTAssertEqual(try cache.labels(split.name), split.labels)
            }
            XCTAssertThrowsError(try cache.tensor(split: "train800", tap: .block(1), indices: [0])) { error in
                XCTAssertEqual("\(error)", "tap 'z1' is not in the cache (it has z0, z2, z4, norm)")
            }
        }
    }

    func testTokenPolicies() throws {
        let root = temporaryDirectory(self).path
        let all = try CacheBuilder(root: root).build(try vtabPlan(dtype: .float32))
        let cls = try CacheBuilder(root: root).build(try vtabPlan(dtype: .float32, policy: .cls))
        let mean = try CacheBuilder(root: root).build(try vtabPlan(dtype: .float32, policy: .mean))
        XCTAssertEqual(Set([all.key, cls.key, mean.key]).count, 3)
        let full = try all.tensor(split: "val200", tap: .block(4), indices: [0, 1])     // (2, 17, 96)
        let first = try cls.tensor(split: "val200", tap: .block(4), indices: [0, 1])    // (2, 1, 96)
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
        let plan = try CachePlan(CacheRequest(backbone: .random(config: ViTConfig(imageSize: 32, patchSize: 8, width: 24, depth: 1, heads: 2), seed: 0), splits: [split]))
        XCTAssertThrowsError(try CacheBuilder(root: root).build(plan)) { error in
            XCTAssertEqual("\(error)", "\(task)/t/images/train800/d.png: cannot decode image: not a JPEG or PNG file (listed in \(task)/t/train800.txt line 4)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root), [], "nothing left behind")
    }
}

import Backbone
import Numerics
import XCTest
import _TestSupport

/// Every tap of the Swift ViT against the float64 PyTorch reference (scripts/make_fixtures.py), for
/// F32, F16 and BF16 weight files. Target: max relative error <= 1e-4 on each tap.
final class ViTParityTests: XCTestCase {
    func checkParity(dtype: String, threads: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let loaded = try LoadedViT(path: fixturePath("vit_tiny_\(dtype.lowercased()).safetensors"), heads: 3)
        XCTAssertEqual(loaded.convention, .timm, file: file, line: line)
        XCTAssertEqual(loaded.scalarType.rawValue, dtype, file: file, line: line)
        XCTAssertEqual(
            loaded.config, ViTConfig(imageSize: 32, patchSize: 8, width: 96, depth: 4, heads: 3), file: file, line: line
        )
        let reference = try SafeTensorsFile(path: fixturePath("vit_tiny_taps.safetensors"))
        let vit = ViT(loaded)
        let output = vit.forward(
            images: try reference.tensor("images"), taps: Array(0...4), normalizedFinal: true, threads: threads)
        var worst: Float = 0
        for i in 0...4 {
            worst = max(worst, output.taps[i]!.relativeError(to: try reference.tensor("\(dtype.lowercased()).z\(i)")))
            assertClose(
                output.taps[i]!, try reference.tensor("\(dtype.lowercased()).z\(i)"), rtol: 1e-4,
                "\(dtype) tap z\(i), \(threads) threads", file: file, line: line)
        }
        assertClose(
            output.normalizedFinal!, try reference.tensor("\(dtype.lowercased()).norm"), rtol: 1e-4,
            "\(dtype) final norm", file: file, line: line)
        print("ViT parity \(dtype), \(threads) threads: worst relative error over taps z0…z4 = \(worst)")
    }

    func testF32TapsMatchReference() throws { try checkParity(dtype: "F32", threads: 1) }
    func testF16TapsMatchReference() throws { try checkParity(dtype: "F16", threads: 2) }
    func testBF16TapsMatchReference() throws { try checkParity(dtype: "BF16", threads: 2) }

    func testChunkingAcrossWorkersDoesNotChangeResults() throws {
        let loaded = try LoadedViT(path: fixturePath("vit_tiny_f32.safetensors"), heads: 3)
        let vit = ViT(loaded)
        let images = try SafeTensorsFile(path: fixturePath("vit_tiny_taps.safetensors")).tensor("images")
        let one = vit.forward(images: images, taps: [2, 4], threads: 1)
        let three = vit.forward(images: images, taps: [2, 4], threads: 3)
        for i in [2, 4] { assertClose(three.taps[i]!, one.taps[i]!, rtol: 1e-6, "tap \(i)") }
        XCTAssertNil(one.taps[0], "only requested taps are returned")
        // A batch of one image, alone, gives that image's rows of the batched result.
        let first = Tensor(shape: [1, 3, 32, 32], storage: Array(images.storage[0..<(3 * 32 * 32)]))
        let single = vit.forward(images: first, taps: [4], threads: 2)
        let rows = 17 * 96
        assertClose(
            single.taps[4]!, Tensor(shape: [1, 17, 96], storage: Array(one.taps[4]!.storage[0..<rows])), rtol: 1e-6,
            "single image")
    }

    func testBF16ComputeStaysNearTheReferenceAndDoesNotDependOnChunking() throws {
        // bf16 GEMMs (8 significant bits per operand, fp32 sums): every tap within a few bf16 steps of
        // the float64 reference, visibly further than fp32's 1e-4, and bitwise the same whatever the
        // split of the batch over workers (each row's sums run in one order).
        let loaded = try LoadedViT(path: fixturePath("vit_tiny_f32.safetensors"), heads: 3)
        let reference = try SafeTensorsFile(path: fixturePath("vit_tiny_taps.safetensors"))
        let images = try reference.tensor("images")
        let vit = ViT(loaded, compute: .bf16)
        XCTAssertEqual(vit.compute, .bf16)
        let one = vit.forward(images: images, taps: Array(0...4), threads: 1)
        let three = vit.forward(images: images, taps: Array(0...4), threads: 3)
        for i in 0...4 {
            XCTAssertEqual(three.taps[i]!.storage, one.taps[i]!.storage, "tap z\(i): bitwise whatever the chunking")
            let error = one.taps[i]!.relativeError(to: try reference.tensor("f32.z\(i)"))
            XCTAssertLessThan(error, 2e-2, "tap z\(i)")
            XCTAssertGreaterThan(error, 1e-4, "tap z\(i): bf16 rounding must show (else the fp32 path ran)")
        }
    }

    func testEmptyBatch() throws {
        let vit = ViT(
            config: .preset(named: "vit-tiny-test")!, parameters: .random(.preset(named: "vit-tiny-test")!, seed: 1))
        let output = vit.forward(images: Tensor(shape: [0, 3, 32, 32]), taps: [0, 4])
        XCTAssertEqual(output.taps[4]?.shape, [0, 17, 96])
    }

    func testFLOPCountOfViTB16() {
        // 17.56 GMACs for ViT-B/16 at 224 (the usual "17.6 GFLOPs" counts MACs) = 35.1 GFLOP.
        let config = ViTConfig.preset(named: "vit-b16")!
        XCTAssertEqual(config.forwardFLOPsPerImage / 2e9, 17.56, accuracy: 0.02)
        XCTAssertEqual(config.parameterCount, 85_798_656, "timm vit_base_patch16_224 without its head")
    }
}

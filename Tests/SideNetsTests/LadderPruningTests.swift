import Backbone
import Cache
import Essentials
import Numerics
import XCTest
import _TestSupport

@testable import SideNets

/// LST's pruning initialisation from the backbone's blocks.
final class LadderPruningTests: XCTestCase {
    /// With r = 1 nothing is pruned: side block i is backbone block i, so it maps the fixture ViT's
    /// tap z_{i-1} to z_i (computed independently by the ViT forward and by PyTorch).
    func testUnprunedSideBlockReproducesTheBackboneBlock() throws {
        let loaded = try LoadedViT(path: fixturePath("vit_tiny_f32.safetensors"), heads: 3)
        let reference = try SafeTensorsFile(path: fixturePath("vit_tiny_taps.safetensors"))
        let lst = LadderSideTuning(width: 96, depth: 4, heads: 3, classes: 2, reduction: 1, layers: [3])
        var p = [Float](repeating: 0, count: lst.layout.count)
        var rng = SeededRNG(seed: 1)
        lst.initializeByPruning(&p, backbone: loaded.parameters, rng: &rng)
        // Drive the ladder so the block sees exactly z2: Down₀ = 0 with bias 0, the gate shut (α ≪ 0
        // gives μ ≈ 0), and Down₃ the identity applied to z2 as the "z3" input.
        let down0 = lst.layout.entry("down.0.weight")!, down3 = lst.layout.entry("down.3.weight")!
        for i in down0.range { p[i] = 0 }
        for i in down3.range { p[i] = 0 }
        for k in 0..<96 { p[down3.offset + k * 96 + k] = 1 }
        p[lst.layout.entry("gates.3")!.offset] = -100
        let z2 = try reference.tensor("f32.z2"), z3 = try reference.tensor("f32.z3")
        let batch = TapBatch(taps: [.block(0): z2, .block(3): z2], labels: [0, 1, 0])
        let blockOutput = try lst.sideBlockOutput(p, batch, rung: 0)
        assertClose(blockOutput, z3, rtol: 1e-5, "pruned (r = 1) block 3 = backbone block 3")
    }

    func testPruningKeepsTheLargestRows() throws {
        let config = ViTConfig(imageSize: 16, patchSize: 8, width: 8, depth: 2, heads: 2)
        var backbone = ViTParameters.random(config, seed: 3)
        // Make residual dims 5 and 2 (and only they) dominant in proj/fc2: they must be the ones kept.
        for c in 0..<8 { backbone.blocks[1].projWeight[5, c] = 10; backbone.blocks[1].projWeight[2, c] = 9 }
        let lst = LadderSideTuning(width: 8, depth: 2, heads: 2, classes: 2, reduction: 4, layers: [2])
        backbone.blocks[1].norm1Bias.storage = (0..<8).map { Float($0) }
        var p = [Float](repeating: 0, count: lst.layout.count)
        var rng = SeededRNG(seed: 1)
        lst.initializeByPruning(&p, backbone: backbone, rng: &rng)
        let norm1 = lst.layout.entry("blocks.2.norm1.bias")!
        XCTAssertEqual(Array(p[norm1.range]), [2, 5], "LayerNorm vectors follow the kept residual dims, in order")
        let proj = lst.layout.entry("blocks.2.attn.proj.weight")!
        XCTAssertTrue(p[proj.range].allSatisfy { $0 == 10 || $0 == 9 }, "proj rows are the dominant ones")
    }
}

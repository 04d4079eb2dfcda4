import Backbone
import Cache
import Numerics
import SideNets
import Training
import XCTest
import _TestSupport

/// Each side network against its PyTorch re-implementation from METHODS.md
/// (Tests/Fixtures/sidenets.safetensors, scripts/make_sidenet_fixtures.py): logits, loss, every
/// parameter gradient within 1e-4 relative, and 20 AdamW steps loss by loss; with bf16 Linear layers
/// (`compute` bf16) the same within bf16's rounding.
final class SideNetFixtureTests: XCTestCase {
    static let (B, N, D, L, C) = (3, 5, 8, 4, 3)
    var fixture: SafeTensorsFile!
    var batch: TapBatch!

    override func setUpWithError() throws {
        fixture = try SafeTensorsFile(path: fixturePath("sidenets.safetensors"))
        var taps: [Tap: Tensor] = [:]
        for i in 0...Self.L { taps[.block(i)] = try fixture.tensor("taps.z\(i)") }
        batch = TapBatch(taps: taps, labels: try fixture.tensor("labels").storage.map { Int32($0) })
    }

    /// The fixture's parameters of `net` laid out in the network's flat buffer (every entry must exist).
    func parameters(_ network: SideNetwork) throws -> [Float] {
        var flat = [Float](repeating: .nan, count: network.layout.count)
        for entry in network.layout.entries {
            let t = try fixture.tensor("\(network.name).param.\(entry.name)", shape: entry.shape)
            flat.replaceSubrange(entry.range, with: t.storage)
        }
        XCTAssertFalse(flat.contains { $0.isNaN }, "every parameter comes from the fixture")
        return flat
    }

    /// `make`'s network at both precisions against the fixture: fp32 within 1e-4 (relative to each
    /// tensor's largest value), bf16 within what rounding every GEMM operand to 8 bits costs.
    func check(_ make: (ComputePrecision) -> SideNetwork, line: UInt = #line) throws {
        try check(make(.fp32), tolerance: 1e-4, trajectory: 2e-3, line: line)
        try check(make(.bf16), tolerance: 3e-2, trajectory: 5e-2, line: line)
    }

    func check(_ network: SideNetwork, tolerance: Float, trajectory: Float, line: UInt) throws {
        let label = "\(network.name) (\(tolerance == 1e-4 ? "fp32" : "bf16"))"
        var p = try parameters(network)
        var g = [Float](repeating: 0, count: p.count)
        let (loss, logits) = network.lossAndGradients(p, gradients: &g, batch)
        XCTAssertEqual(
            loss, try fixture.tensor("\(network.name).loss").storage[0], accuracy: tolerance / 10, "\(label) loss",
            line: line)
        assertClose(
            logits, try fixture.tensor("\(network.name).logits").storage, rtol: tolerance, "\(label) logits", line: line
        )
        for entry in network.layout.entries {
            assertClose(
                Array(g[entry.range]), try fixture.tensor("\(network.name).grad.\(entry.name)").storage,
                rtol: tolerance,
                "\(label) d\(entry.name)", line: line)
        }
        // 20 AdamW steps, lr 1e-2, weight decay 0.1 on weights only, as the fixture.
        var optimizer = AdamW(parameterCount: p.count, weightDecay: 0.1, decayMask: network.layout.decayMask)
        let expected = try fixture.tensor("\(network.name).adamw_losses").storage
        var losses: [Float] = []
        for _ in 0..<20 {
            for i in 0..<g.count { g[i] = 0 }
            losses.append(network.lossAndGradients(p, gradients: &g, batch).loss)
            optimizer.update(&p, gradients: g, lr: 1e-2)
        }
        // The reference runs in float64. Adam divides each gradient by its own running scale, so where a
        // gradient is tiny (LST's lower rungs, behind saturating gates) float32 rounding is amplified
        // step after step: the first steps match to `tolerance`, the trajectory stays within `trajectory`.
        for (step, (a, b)) in zip(losses, expected).enumerated() {
            let allowed = step < 5 ? tolerance : trajectory
            XCTAssertEqual(a, b, accuracy: allowed * max(1, abs(b)), "\(label) AdamW step \(step)", line: line)
        }
        XCTAssertLessThan(losses.last!, losses.first!, "\(label): training lowers the loss", line: line)
    }

    func testLinearProbe() throws {
        try check { LinearProbe(width: Self.D, depth: Self.L, classes: Self.C, compute: $0) }
    }

    func testSideAdapters() throws {
        try check { SideAdapters(width: Self.D, depth: Self.L, classes: Self.C, bottleneck: 3, compute: $0) }
    }

    func testLST() throws {
        try check {
            LadderSideTuning(
                width: Self.D, depth: Self.L, heads: 2, classes: Self.C, reduction: 2, layers: [2, 4], compute: $0)
        }
    }

    func testLAST() throws {
        try check {
            LowRankAttentionSideTuning(
                width: Self.D, depth: Self.L, classes: Self.C, rank: 4, heads: 2, gap: 2, modulesPerGroup: 2,
                compute: $0)
        }
    }
}

import Cache
import Essentials
import Numerics
import SideNets
import XCTest
import _TestSupport

/// Every network's parameter gradients against central finite differences of its loss, at random
/// parameters (so no path is zero), and the parameter counts against their closed forms.
final class SideNetGradientTests: XCTestCase {
    static let (B, N, D, L, C) = (2, 4, 6, 4, 3)

    func randomBatch(seed: UInt64) -> TapBatch {
        var taps: [Tap: Tensor] = [:]
        for i in 0...Self.L {
            taps[.block(i)] = Tensor(
                shape: [Self.B, Self.N, Self.D], storage: randomArray(Self.B * Self.N * Self.D, seed: seed + UInt64(i)))
        }
        return TapBatch(taps: taps, labels: [1, 2])
    }

    func checkGradients(_ network: SideNetwork, eps: Float = 1e-2, rtol: Float = 2e-2, line: UInt = #line) {
        let batch = randomBatch(seed: 100)
        var p = randomArray(network.layout.count, seed: 7, scale: 0.5)
        // LST gates are σ(α / 0.1): keep α small so neither path is shut and every gradient is measurable.
        for entry in network.layout.entries where entry.name.hasPrefix("gates.") { p[entry.offset] *= 0.1 }
        var g = [Float](repeating: 0, count: p.count)
        network.lossAndGradients(p, gradients: &g, batch)
        let numeric = finiteDifferenceGradient(p, eps: eps) { Double(network.loss($0, batch)) }
        // Gates enter as σ(α / 0.1): ten times steeper, so they get a ten times smaller step.
        let gateNumeric = finiteDifferenceGradient(p, eps: eps / 10) { Double(network.loss($0, batch)) }
        for entry in network.layout.entries {
            let reference = entry.name.hasPrefix("gates.") ? gateNumeric : numeric
            assertClose(
                Array(g[entry.range]), Array(reference[entry.range]), rtol: rtol, "\(network.name) d\(entry.name)",
                line: line)
        }
    }

    func testLinearProbeGradients() { checkGradients(LinearProbe(width: Self.D, depth: Self.L, classes: Self.C)) }
    func testAdapterGradients() {
        checkGradients(SideAdapters(width: Self.D, depth: Self.L, classes: Self.C, bottleneck: 2))
    }
    func testLASTGradients() {
        checkGradients(
            LowRankAttentionSideTuning(width: Self.D, depth: Self.L, classes: Self.C, rank: 4, heads: 2, gap: 1))
        checkGradients(
            LowRankAttentionSideTuning(
                width: Self.D, depth: Self.L, classes: Self.C, rank: 2, heads: 1, gap: 2,
                modulesPerGroup: 2, includeFinalTap: false))
    }

    func testLSTGradients() {
        // Three side blocks deep the smallest gradients are ~1e-5 while the Float loss carries ~1e-7 of
        // rounding, so a larger step and a looser tolerance (5%) than the other networks; the exact
        // check is the float64 autograd fixture (1e-4).
        checkGradients(
            LadderSideTuning(width: Self.D, depth: Self.L, heads: 1, classes: Self.C, reduction: 2, layers: [1, 3, 4]),
            eps: 3e-2, rtol: 5e-2)
    }

    func testParameterCountsMatchClosedForms() {
        let (D, L, C) = (768, 12, 100)
        XCTAssertEqual(LinearProbe(width: D, depth: L, classes: C).trainableParameterCount, C * D + C)
        for m in [8, 32] {
            XCTAssertEqual(
                SideAdapters(width: D, depth: L, classes: C, bottleneck: m).trainableParameterCount,
                L * (2 * m * D + D + m) + C * D + C, "adapter: 2mD + D + m per block")
        }
        for r in [4, 8, 16] {
            let d = D / r
            let block = 12 * d * d + 13 * d  // qkv, proj, fc1, fc2 and their biases; two LayerNorms
            XCTAssertEqual(
                LadderSideTuning(width: D, depth: L, heads: 12, classes: C, reduction: r).trainableParameterCount,
                (L + 1) * (D * d + d) + L * (1 + block) + 2 * d + (D * d + D) + C * D + C, "lst, r = \(r)")
        }
        for (R, g, T) in [(32, 1, 1), (8, 3, 2)] {
            XCTAssertEqual(
                LowRankAttentionSideTuning(
                    width: D, depth: L, classes: C, rank: R, heads: 4, gap: g, modulesPerGroup: T
                ).trainableParameterCount,
                (L / g) * T * 4 * D * R + C * D + C, "last: 4DR per LSA module")
        }
    }

    func testLASTStartsAsTheIdentity() {
        // A_O = 0 at initialisation: s = 0, so the logits are the head on LN(z_L)[cls], as a linear probe.
        let last = LowRankAttentionSideTuning(width: Self.D, depth: Self.L, classes: Self.C, rank: 4, heads: 2)
        let probe = LinearProbe(width: Self.D, depth: Self.L, classes: Self.C)
        var rng = SeededRNG(seed: 3)
        var p = [Float](repeating: 0, count: last.layout.count)
        last.initialize(&p, rng: &rng)
        let head = last.layout.entry("head.weight")!.offset
        let probeParameters = Array(p[head...])
        let batch = randomBatch(seed: 5)
        assertClose(last.forward(p, batch), probe.forward(probeParameters, batch), rtol: 1e-6, "identity at init")
        XCTAssertEqual(last.requiredTaps, (0...Self.L).map { .block($0) })
    }
}

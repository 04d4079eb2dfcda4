import Cache
import Essentials
import Numerics
import SideNets
import XCTest
import _TestSupport

/// Each network's `workingMemoryBytes` (what the pool admits trials by) against the bytes its buffers
/// really hold after a training step, found by walking the network's stored properties: the estimate
/// is written by hand beside the buffers, so only this keeps the two in step.
final class WorkingMemoryTests: XCTestCase {
    static let (B, N, D, L, C) = (8, 10, 32, 4, 5)

    /// Bytes of the arrays `value` holds (at their capacity), each class instance counted once.
    func heldBytes(_ value: Any, _ seen: inout Set<ObjectIdentifier>) -> Int {
        switch value {
        case let a as [Float]: return 4 * a.capacity
        case let a as [Int32]: return 4 * a.capacity
        case let a as [UInt16]: return 2 * a.capacity
        case let a as [Double]: return 8 * a.capacity
        default: break
        }
        let mirror = Mirror(reflecting: value)
        if mirror.displayStyle == .class {
            guard seen.insert(ObjectIdentifier(value as AnyObject)).inserted else { return 0 }
        }
        var total = 0
        var level: Mirror? = mirror
        while let current = level {
            for child in current.children { total += heldBytes(child.value, &seen) }
            level = current.superclassMirror
        }
        return total
    }

    func check(_ network: SideNetwork, file: StaticString = #filePath, line: UInt = #line) {
        var taps: [Tap: Tensor] = [:]
        for i in 0...Self.L {
            taps[.block(i)] = Tensor(
                shape: [Self.B, Self.N, Self.D], storage: randomArray(Self.B * Self.N * Self.D, seed: UInt64(i)))
        }
        let batch = TapBatch(taps: taps, labels: (0..<Self.B).map { Int32($0 % Self.C) })
        network.expectTokens(Self.N)
        let p = randomArray(network.layout.count, seed: 7, scale: 0.1)
        var g = [Float](repeating: 0, count: p.count)
        var seen = Set<ObjectIdentifier>()
        let before = heldBytes(network, &seen)
        network.lossAndGradients(p, gradients: &g, batch)
        network.lossAndGradients(p, gradients: &g, batch)  // (a second step allocates nothing new)
        seen = []
        // The trainer's parameters, gradients, two AdamW moments and weight-decay mask, and the network's own.
        let held = heldBytes(network, &seen) - before + 4 * 5 * network.layout.count
        let estimate = network.workingMemoryBytes(batch: Self.B)
        // Never less than what it holds; more only by the head's buffers that live within a step
        // (logits, probabilities and their gradient; two rows of D), which no walk after it sees.
        let transient = 4 * Self.B * (3 * Self.C + 2 * Self.D)
        XCTAssertGreaterThanOrEqual(
            estimate, held, "\(network.name): estimate \(estimate) B, held \(held) B", file: file, line: line)
        XCTAssertLessThanOrEqual(
            estimate, held + held / 40 + transient, "\(network.name): estimate \(estimate) B, held \(held) B",
            file: file,
            line: line)
        network.releaseBuffers()
        seen = []
        XCTAssertEqual(
            heldBytes(network, &seen), before, "\(network.name): releaseBuffers frees what a step allocated",
            file: file, line: line)
    }

    /// Every registered method, so a new one is checked without a line here (small sizes where it has them).
    func testEveryNetworksEstimateMatchesWhatItHolds() {
        let small: [String: MethodValue] = ["rank": 8, "heads": 2, "bottleneck": 8, "reduction": 4]
        for compute in [ComputePrecision.fp32, .bf16] {
            for method in SideTuningMethods.all {
                var values = method.defaults
                for parameter in method.hyperparameters {
                    if let v = small[parameter.name] { values[parameter.name] = v }
                }
                let backbone = BackboneShape(width: Self.D, depth: Self.L, heads: 2)
                XCTAssertNil(method.problem(values, backbone: backbone), method.methodName)
                check(
                    method.makeNetwork(
                        values, backbone: backbone, classes: Self.C,
                        shared: SharedOptions(rule: .timm, normAffine: true, compute: compute)))
            }
        }
    }
}

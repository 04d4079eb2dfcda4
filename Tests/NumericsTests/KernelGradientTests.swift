import Numerics
import XCTest
import _TestSupport

/// Every kernel's backward against central finite differences of its forward (STYLE.md habit 3).
/// Loss = Σ out ⊙ dout with a fixed random dout; shapes are small and odd on purpose.
final class KernelGradientTests: XCTestCase {

    func testLinearBackward() {
        let (M, I, O) = (5, 7, 3)
        let inp = randomArray(M * I, seed: 1), weight = randomArray(O * I, seed: 2), bias = randomArray(O, seed: 3)
        let dout = randomArray(M * O, seed: 4)
        func forward(_ inp: [Float], _ weight: [Float], _ bias: [Float]) -> [Float] {
            var out = [Float](repeating: 0, count: M * O)
            linearForward(out: &out, inp: inp, weight: weight, bias: bias, rows: M, inFeatures: I, outFeatures: O)
            return out
        }
        var dinp = [Float](repeating: 0, count: M * I), dweight = [Float](repeating: 0, count: O * I),
            dbias = [Float](repeating: 0, count: O)
        linearBackward(
            dinp: &dinp, dweight: &dweight, dbias: &dbias, dout: dout, inp: inp, weight: weight,
            rows: M, inFeatures: I, outFeatures: O)
        assertClose(
            dinp, finiteDifferenceGradient(inp, eps: 1e-2) { projectedLoss(forward($0, weight, bias), dout) },
            rtol: 1e-3, "dinp")
        assertClose(
            dweight, finiteDifferenceGradient(weight, eps: 1e-2) { projectedLoss(forward(inp, $0, bias), dout) },
            rtol: 1e-3, "dweight")
        assertClose(
            dbias, finiteDifferenceGradient(bias, eps: 1e-2) { projectedLoss(forward(inp, weight, $0), dout) },
            rtol: 1e-3, "dbias")
    }

    func testLinearAccumulateAddsToOutput() {
        let (M, I, O) = (3, 4, 2)
        let inp = randomArray(M * I, seed: 5), weight = randomArray(O * I, seed: 6), bias = randomArray(O, seed: 7)
        var plain = [Float](repeating: 0, count: M * O)
        linearForward(out: &plain, inp: inp, weight: weight, bias: bias, rows: M, inFeatures: I, outFeatures: O)
        let residual = randomArray(M * O, seed: 8)
        var accumulated = residual
        linearForward(
            out: &accumulated, inp: inp, weight: weight, bias: bias, rows: M, inFeatures: I, outFeatures: O,
            accumulate: true)
        assertClose(accumulated, zip(plain, residual).map(+), rtol: 1e-6, "residual add")
    }

    func testLayerNormBackward() {
        let (M, C) = (4, 11)
        let inp = randomArray(M * C, seed: 11, scale: 2).map { $0 + 1 }
        let weight = randomArray(C, seed: 12), bias = randomArray(C, seed: 13), dout = randomArray(M * C, seed: 14)
        func forward(_ inp: [Float], _ weight: [Float], _ bias: [Float]) -> [Float] {
            var out = [Float](repeating: 0, count: M * C)
            layerNormForward(
                out: &out, mean: nil, rstd: nil, inp: inp, weight: weight, bias: bias, rows: M, cols: C, eps: 1e-6)
            return out
        }
        var out = [Float](repeating: 0, count: M * C), mean = [Float](repeating: 0, count: M),
            rstd = [Float](repeating: 0, count: M)
        layerNormForward(
            out: &out, mean: &mean, rstd: &rstd, inp: inp, weight: weight, bias: bias, rows: M, cols: C, eps: 1e-6)
        var dinp = [Float](repeating: 0, count: M * C), dweight = [Float](repeating: 0, count: C),
            dbias = [Float](repeating: 0, count: C)
        layerNormBackward(
            dinp: &dinp, dweight: &dweight, dbias: &dbias, dout: dout, inp: inp, weight: weight,
            mean: mean, rstd: rstd, rows: M, cols: C)
        assertClose(
            dinp, finiteDifferenceGradient(inp, eps: 1e-2) { projectedLoss(forward($0, weight, bias), dout) },
            rtol: 2e-3, "dinp")
        assertClose(
            dweight, finiteDifferenceGradient(weight, eps: 1e-2) { projectedLoss(forward(inp, $0, bias), dout) },
            rtol: 1e-3, "dweight")
        assertClose(
            dbias, finiteDifferenceGradient(bias, eps: 1e-2) { projectedLoss(forward(inp, weight, $0), dout) },
            rtol: 1e-3, "dbias")
    }

    func testLayerNormBackwardFromOutputEqualsFromInput() {
        let (M, C) = (3, 13)
        let inp = randomArray(M * C, seed: 15, scale: 2), dout = randomArray(M * C, seed: 16)
        var out = [Float](repeating: 0, count: M * C), mean = [Float](repeating: 0, count: M),
            rstd = [Float](repeating: 0, count: M)
        layerNormForward(
            out: &out, mean: &mean, rstd: &rstd, inp: inp, weight: nil, bias: nil, rows: M, cols: C, eps: 1e-6)
        var fromInput = [Float](repeating: 0, count: M * C), fromOutput = [Float](repeating: 0, count: M * C)
        layerNormBackward(
            dinp: &fromInput, dweight: nil, dbias: nil, dout: dout, inp: inp, weight: nil, mean: mean, rstd: rstd,
            rows: M, cols: C)
        layerNormBackwardFromOutput(dinp: &fromOutput, dout: dout, normalized: out, rstd: rstd, rows: M, cols: C)
        assertClose(fromOutput, fromInput, rtol: 1e-5, "same gradient from x̂ as from x")
        func forward(_ inp: [Float]) -> [Float] {
            var out = [Float](repeating: 0, count: M * C)
            layerNormForward(
                out: &out, mean: nil, rstd: nil, inp: inp, weight: nil, bias: nil, rows: M, cols: C, eps: 1e-6)
            return out
        }
        assertClose(
            fromOutput, finiteDifferenceGradient(inp, eps: 1e-2) { projectedLoss(forward($0), dout) }, rtol: 2e-3,
            "finite differences")
    }

    func testGELUBackward() {
        let inp = randomArray(41, seed: 21, scale: 3) + [0, -0.0, 8, -8, 1e-4]
        let dout = randomArray(inp.count, seed: 22)
        func forward(_ inp: [Float]) -> [Float] {
            var out = [Float](repeating: 0, count: inp.count)
            geluForward(out: &out, inp: inp, count: inp.count)
            return out
        }
        var dinp = [Float](repeating: 0, count: inp.count)
        geluBackward(dinp: &dinp, inp: inp, dout: dout, count: inp.count)
        assertClose(
            dinp, finiteDifferenceGradient(inp, eps: 1e-2) { projectedLoss(forward($0), dout) }, rtol: 1e-3, "dinp")
        var inPlace = dout
        geluBackwardInPlace(grad: &inPlace, inp: inp, count: inp.count)
        XCTAssertEqual(inPlace, dinp, "in-place variant")
    }

    func testAddThenLayerNormEqualsAddingFirst() {
        let (M, C) = (4, 37)
        let x = randomArray(M * C, seed: 31, scale: 2), z = randomArray(M * C, seed: 32)
        let added = zip(x, z).map { $0 + $1 }
        var expected = [Float](repeating: 0, count: M * C), expectedRstd = [Float](repeating: 0, count: M)
        layerNormForward(
            out: &expected, mean: nil, rstd: &expectedRstd, inp: added, weight: nil, bias: nil, rows: M, cols: C,
            eps: 1e-6)
        var residual = x, out = [Float](repeating: 0, count: M * C), rstd = [Float](repeating: 0, count: M)
        addThenLayerNormForward(out: &out, rstd: &rstd, residual: &residual, add: z, rows: M, cols: C, eps: 1e-6)
        XCTAssertEqual(residual, added, "the residual holds the sum")
        XCTAssertEqual(out, expected)
        XCTAssertEqual(rstd, expectedRstd)
    }

    func testSoftmaxBackward() {
        let (M, C) = (3, 9)
        let scale: Float = 0.7
        let inp = randomArray(M * C, seed: 31, scale: 2), dout = randomArray(M * C, seed: 32)
        func forward(_ inp: [Float]) -> [Float] {
            var out = [Float](repeating: 0, count: M * C)
            softmaxForward(out: &out, inp: inp, rows: M, cols: C, scale: scale)
            return out
        }
        let probs = forward(inp)
        var dinp = [Float](repeating: 0, count: M * C)
        softmaxBackward(dinp: &dinp, dout: dout, probs: probs, rows: M, cols: C, scale: scale)
        let expected = finiteDifferenceGradient(inp, eps: 1e-2) { projectedLoss(forward($0), dout) }
        assertClose(dinp, expected, rtol: 1e-3, "dinp")
        var inPlace = dout
        softmaxBackwardInPlace(grad: &inPlace, probs: probs, rows: M, cols: C, scale: scale)
        assertClose(inPlace, dinp, rtol: 1e-6, "in-place variant")
    }

    func testAttentionBackward() {
        let (B, N, H, Dh) = (2, 5, 2, 3)
        let W = H * Dh
        let scale = 1 / Float(Dh).squareRoot()
        let qkv = randomArray(B * N * 3 * W, seed: 41), dout = randomArray(B * N * W, seed: 42)
        func forward(_ qkv: [Float]) -> ([Float], [Float]) {
            var out = [Float](repeating: 0, count: B * N * W), probs = [Float](repeating: 0, count: B * H * N * N)
            attentionForward(
                out: &out, probs: &probs, qkv: qkv, batch: B, tokens: N, heads: H, headDim: Dh, scale: scale)
            return (out, probs)
        }
        let (_, probs) = forward(qkv)
        var dqkv = [Float](repeating: 0, count: qkv.count), scratch = [Float](repeating: 0, count: N * N)
        attentionBackward(
            dqkv: &dqkv, scratch: &scratch, dout: dout, qkv: qkv, probs: probs,
            batch: B, tokens: N, heads: H, headDim: Dh, scale: scale)
        assertClose(
            dqkv, finiteDifferenceGradient(qkv, eps: 1e-2) { projectedLoss(forward($0).0, dout) }, rtol: 2e-3, "dqkv")
    }

    func testCrossEntropyBackward() {
        let (B, C) = (4, 6)
        let logits = randomArray(B * C, seed: 51, scale: 3)
        let labels: [Int32] = [0, 5, 2, 2]
        for smoothing: Float in [0, 0.1] {
            func loss(_ logits: [Float]) -> Double {
                var losses = [Float](repeating: 0, count: B), probs = [Float](repeating: 0, count: B * C)
                return Double(
                    crossEntropyForward(
                        losses: &losses, probs: &probs, logits: logits, labels: labels,
                        rows: B, classes: C, labelSmoothing: smoothing))
            }
            var losses = [Float](repeating: 0, count: B), probs = [Float](repeating: 0, count: B * C)
            crossEntropyForward(
                losses: &losses, probs: &probs, logits: logits, labels: labels, rows: B, classes: C,
                labelSmoothing: smoothing)
            var dlogits = [Float](repeating: 0, count: B * C)
            crossEntropyBackward(
                dlogits: &dlogits, probs: probs, labels: labels, rows: B, classes: C, labelSmoothing: smoothing)
            assertClose(
                dlogits, finiteDifferenceGradient(logits, eps: 1e-2, loss: loss), rtol: 1e-3,
                "dlogits, smoothing \(smoothing)")
        }
    }
}

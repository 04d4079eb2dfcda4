import Backbone
import Numerics
import XCTest
import _TestSupport

/// Forward outputs and gradients of every kernel against PyTorch autograd in float64
/// (Tests/Fixtures/kernels.safetensors, made by scripts/make_fixtures.py).
final class KernelAutogradTests: XCTestCase {
    var fixture: SafeTensorsFile!

    override func setUpWithError() throws {
        fixture = try SafeTensorsFile(path: fixturePath("kernels.safetensors"))
    }

    private func array(_ name: String) throws -> [Float] { try fixture.tensor(name).storage }

    func testLinear() throws {
        let inp = try array("linear.inp"), weight = try array("linear.weight"), bias = try array("linear.bias"),
            dout = try array("linear.dout")
        let (M, I, O) = (5, 7, 3)
        var out = [Float](repeating: 0, count: M * O)
        linearForward(out: &out, inp: inp, weight: weight, bias: bias, rows: M, inFeatures: I, outFeatures: O)
        assertClose(out, try array("linear.out"), rtol: 1e-5, "out")
        var dinp = [Float](repeating: 0, count: M * I), dweight = [Float](repeating: 0, count: O * I),
            dbias = [Float](repeating: 0, count: O)
        linearBackward(
            dinp: &dinp, dweight: &dweight, dbias: &dbias, dout: dout, inp: inp, weight: weight, rows: M, inFeatures: I,
            outFeatures: O)
        assertClose(dinp, try array("linear.dinp"), rtol: 1e-5, "dinp")
        assertClose(dweight, try array("linear.dweight"), rtol: 1e-5, "dweight")
        assertClose(dbias, try array("linear.dbias"), rtol: 1e-5, "dbias")
    }

    func testLayerNorm() throws {
        let inp = try array("layernorm.inp"), weight = try array("layernorm.weight"), bias = try array("layernorm.bias")
        let dout = try array("layernorm.dout")
        let (M, C) = (4, 11)
        var out = [Float](repeating: 0, count: M * C), mean = [Float](repeating: 0, count: M),
            rstd = [Float](repeating: 0, count: M)
        layerNormForward(
            out: &out, mean: &mean, rstd: &rstd, inp: inp, weight: weight, bias: bias, rows: M, cols: C, eps: 1e-6)
        assertClose(out, try array("layernorm.out"), rtol: 1e-5, "out")
        var dinp = [Float](repeating: 0, count: M * C), dweight = [Float](repeating: 0, count: C),
            dbias = [Float](repeating: 0, count: C)
        layerNormBackward(
            dinp: &dinp, dweight: &dweight, dbias: &dbias, dout: dout, inp: inp, weight: weight, mean: mean, rstd: rstd,
            rows: M, cols: C)
        assertClose(dinp, try array("layernorm.dinp"), rtol: 1e-5, "dinp")
        assertClose(dweight, try array("layernorm.dweight"), rtol: 1e-5, "dweight")
        assertClose(dbias, try array("layernorm.dbias"), rtol: 1e-5, "dbias")
    }

    func testGELU() throws {
        let inp = try array("gelu.inp"), dout = try array("gelu.dout")
        var out = [Float](repeating: 0, count: inp.count), dinp = [Float](repeating: 0, count: inp.count)
        geluForward(out: &out, inp: inp, count: inp.count)
        geluBackward(dinp: &dinp, inp: inp, dout: dout, count: inp.count)
        assertClose(out, try array("gelu.out"), rtol: 1e-6, "out")
        assertClose(dinp, try array("gelu.dinp"), rtol: 1e-6, "dinp")
    }

    func testSoftmax() throws {
        let inp = try array("softmax.inp"), dout = try array("softmax.dout")
        var out = [Float](repeating: 0, count: inp.count), dinp = [Float](repeating: 0, count: inp.count)
        softmaxForward(out: &out, inp: inp, rows: 3, cols: 9, scale: 0.7)
        softmaxBackward(dinp: &dinp, dout: dout, probs: out, rows: 3, cols: 9, scale: 0.7)
        assertClose(out, try array("softmax.out"), rtol: 1e-6, "out")
        assertClose(dinp, try array("softmax.dinp"), rtol: 1e-5, "dinp")
    }

    func testAttention() throws {
        let qkv = try array("attention.qkv"), dout = try array("attention.dout")
        let (B, N, H, Dh) = (2, 5, 2, 3)
        var out = [Float](repeating: 0, count: B * N * H * Dh), probs = [Float](repeating: 0, count: B * H * N * N)
        attentionForward(
            out: &out, probs: &probs, qkv: qkv, batch: B, tokens: N, heads: H, headDim: Dh,
            scale: 1 / Float(Dh).squareRoot())
        assertClose(out, try array("attention.out"), rtol: 1e-5, "out")
        var dqkv = [Float](repeating: 0, count: qkv.count), scratch = [Float](repeating: 0, count: N * N)
        attentionBackward(
            dqkv: &dqkv, scratch: &scratch, dout: dout, qkv: qkv, probs: probs, batch: B, tokens: N, heads: H,
            headDim: Dh, scale: 1 / Float(Dh).squareRoot())
        assertClose(dqkv, try array("attention.dqkv"), rtol: 1e-5, "dqkv")
        // The training pair that keeps each query's log-sum-exp instead of the probabilities.
        var recomputedOut = [Float](repeating: 0, count: out.count), logSumExp = [Float](repeating: 0, count: B * H * N)
        attentionForward(
            out: &recomputedOut, logSumExp: &logSumExp, qkv: qkv, batch: B, tokens: N, heads: H, headDim: Dh,
            scale: 1 / Float(Dh).squareRoot())
        assertClose(recomputedOut, try array("attention.out"), rtol: 1e-5, "out (log-sum-exp)")
        var recomputedGradient = [Float](repeating: .nan, count: qkv.count)
        attentionBackward(
            dqkv: &recomputedGradient, dout: dout, out: recomputedOut, qkv: qkv, logSumExp: logSumExp, batch: B,
            tokens: N,
            heads: H, headDim: Dh, scale: 1 / Float(Dh).squareRoot())
        assertClose(recomputedGradient, try array("attention.dqkv"), rtol: 1e-5, "dqkv (log-sum-exp)")
    }

    func testCrossEntropyWithLabelSmoothing() throws {
        let logits = try array("xent.logits")
        let labels = try array("xent.labels").map { Int32($0) }
        var losses = [Float](repeating: 0, count: 4), probs = [Float](repeating: 0, count: 24)
        let loss = crossEntropyForward(
            losses: &losses, probs: &probs, logits: logits, labels: labels, rows: 4, classes: 6, labelSmoothing: 0.1)
        XCTAssertEqual(loss, try array("xent.loss")[0], accuracy: 1e-5)
        var dlogits = [Float](repeating: 0, count: 24)
        crossEntropyBackward(dlogits: &dlogits, probs: probs, labels: labels, rows: 4, classes: 6, labelSmoothing: 0.1)
        assertClose(dlogits, try array("xent.dlogits"), rtol: 1e-5, "dlogits")
    }
}

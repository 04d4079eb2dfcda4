// Over 300 lines because the backbone's forward pass, block by block, with the tap hooks and its workspace reuse,
// reads best as one listing (weights are ViTParameters.swift).

import Foundation
import Numerics

/// The frozen ViT backbone: a forward pass that returns the activations ("taps") side networks read.
///
/// Follows timm's `VisionTransformer` (see shared/METHODS.md): patch embedding as one GEMM over
/// unfolded patches, class token (and registers), position embedding, optional `norm_pre`, pre-norm
/// blocks `x = x + γ₁ ⊙ proj(attn(LN1(x)))`, `x = x + γ₂ ⊙ fc2(act(fc1(LN2(x))))` (γ = 1 without layer
/// scale; act GELU or QuickGELU), final LayerNorm.
/// Taps: z₀ = the blocks' input (tokens after the position embedding and `norm_pre`), zᵢ = output of
/// block i (1…L), and optionally LN(z_L) (the final `norm`).
///
/// Legend: B batch, C channels, S image side, P patch side, G = S/P, N = 1 + R + G² tokens (R registers), D width,
/// H heads, Dh = D/H, Hd MLP width, F = C·P·P.
public final class ViT: @unchecked Sendable {
    public let config: ViTConfig
    public let parameters: ViTParameters
    /// The precision of the patch embedding's and the blocks' GEMMs (attention, LayerNorm, GELU and
    /// the residual stream are fp32 either way).
    public let compute: ComputePrecision
    /// The GEMM weights packed for the bf16 kernel, when `compute` is bf16.
    private let packed: PackedWeights?

    public init(config: ViTConfig, parameters: ViTParameters, compute: ComputePrecision = .fp32) {
        if let problem = config.inconsistency { preconditionFailure("ViT: \(problem)") }
        if let (name, expected, found) = parameters.shapeMismatch(for: config) {
            preconditionFailure("ViT: parameter \(name) has shape \(found), expected \(expected)")
        }
        self.config = config
        self.parameters = parameters
        self.compute = compute
        packed = compute == .bf16 ? PackedWeights(parameters) : nil
    }

    public convenience init(_ loaded: LoadedViT, compute: ComputePrecision = .fp32) {
        self.init(config: loaded.config, parameters: loaded.parameters, compute: compute)
    }

    /// Activations of one forward pass, each (B, N, D).
    public struct Output {
        /// z_i for each requested i in 0…depth.
        public var taps: [Int: Tensor]
        /// LN(z_L) with the final norm, if requested.
        public var normalizedFinal: Tensor?

        public init(taps: [Int: Tensor] = [:], normalizedFinal: Tensor? = nil) {
            self.taps = taps
            self.normalizedFinal = normalizedFinal
        }
    }

    /// Runs the backbone on `images` (B, C, S, S), already resized and normalized.
    ///
    /// The batch is split into up to `threads` chunks of whole images that run concurrently, each
    /// with single-threaded BLAS: every kernel (GEMMs and elementwise alike) then runs on all cores
    /// without synchronisation. A batch smaller than `threads` uses multi-threaded BLAS instead.
    public func forward(
        images: Tensor, taps requested: [Int], normalizedFinal: Bool = false,
        threads: Int = availableCores
    ) -> Output {
        var output = Output(taps: [:], normalizedFinal: nil)
        forward(images: images, taps: requested, normalizedFinal: normalizedFinal, threads: threads, into: &output)
        return output
    }

    /// As `forward(images:taps:normalizedFinal:threads:)`, writing into `output` and reusing its arrays
    /// when their sizes fit (a loop over batches then allocates its outputs once).
    public func forward(
        images: Tensor, taps requested: [Int], normalizedFinal: Bool = false,
        threads: Int = availableCores, into output: inout Output
    ) {
        let c = config
        precondition(
            images.shape.count == 4 && images.shape[1] == c.channels
                && images.shape[2] == c.imageSize && images.shape[3] == c.imageSize,
            "ViT.forward: images have shape \(images.shape), expected (B, \(c.channels), \(c.imageSize), \(c.imageSize))"
        )
        precondition(
            requested.allSatisfy { (0...c.depth).contains($0) }, "ViT.forward: taps \(requested) not in 0…\(c.depth)")
        let batch = images.shape[0]
        let tapIndices = Set(requested).sorted()
        let elements = batch * c.tokens * c.width
        // Each worker writes the rows of its own images into every output array. Arrays of a previous
        // call are taken over (moved out of `output`, so they are uniquely referenced) when they fit.
        func take(_ tensor: inout Tensor?) -> [Float] {
            guard tensor != nil, tensor!.count >= elements else { return [Float](repeating: 0, count: elements) }
            var storage = tensor!.storage
            tensor = nil  // now `storage` is the only reference: no copy on write
            storage.removeLast(storage.count - elements)
            return storage
        }
        var arrays = [[Float]](repeating: [], count: tapIndices.count + 1)
        for (i, index) in tapIndices.enumerated() {
            var previous = output.taps.removeValue(forKey: index)
            arrays[i] = take(&previous)
        }
        if normalizedFinal { arrays[tapIndices.count] = take(&output.normalizedFinal) }
        output = Output(taps: [:], normalizedFinal: nil)

        let workers = max(1, min(threads, batch))
        let chunks = (0..<workers).map { w in (w * batch / workers)..<((w + 1) * batch / workers) }
        if batch > 0 {
            images.withUnsafePointer { imagePointer in
                withMutablePointers(&arrays) { pointers in
                    let tapPointers = Dictionary(uniqueKeysWithValues: zip(tapIndices, pointers))
                    let finalPointer = normalizedFinal ? pointers.last! : nil
                    BLAS.withThreadCount(workers > 1 ? 1 : threads) {
                        parallelFor(workers) { w in
                            self.forwardChunk(
                                images: imagePointer, range: chunks[w], taps: tapPointers, normalizedFinal: finalPointer
                            )
                        }
                    }
                }
            }
        }
        for (i, index) in tapIndices.enumerated() {
            output.taps[index] = Tensor(shape: [batch, c.tokens, c.width], storage: arrays[i])
        }
        if normalizedFinal {
            output.normalizedFinal = Tensor(shape: [batch, c.tokens, c.width], storage: arrays.last!)
        }
    }

    /// The whole network on images `range` of the batch, writing their rows of each tap.
    private func forwardChunk(
        images: UnsafePointer<Float>, range: Range<Int>,
        taps: [Int: UnsafeMutablePointer<Float>], normalizedFinal: UnsafeMutablePointer<Float>?
    ) {
        let c = config, p = parameters
        let b = range.count, N = c.tokens, D = c.width, Hd = c.hiddenWidth, F = c.patchFeatures
        let patches = c.gridSize * c.gridSize
        let M = b * N
        let imageSize = c.channels * c.imageSize * c.imageSize
        var work = takeWorkspace(
            rows: M, width: D, hidden: Hd, patchRows: b * patches, patchFeatures: F,
            heads: c.heads, tokens: N, bf16: compute == .bf16)
        defer { returnWorkspace(work) }
        work.withPointers { x, ln, qkv, attn, hidden, unfolded, probs, rounded in
            // Patch embedding: unfold (b·G², F), one GEMM into ln as scratch (b·G², D).
            unfoldPatches(out: unfolded, images: images + range.lowerBound * imageSize, count: b)
            if let packed {
                product(out: ln, inp: unfolded, weight: packed.patch, rows: b * patches, beta: 0, rounded: rounded)
            } else {
                p.patchWeight.withUnsafePointer { w in
                    BLAS.sgemm(
                        transB: true, m: b * patches, n: D, k: F, a: unfolded, lda: F, b: w, ldb: F, c: ln, ldc: D)
                }
            }
            // Tokens in timm's order [cls ; registers ; patches + bias], plus the position embedding on
            // every row (or, without a prefix slot, on the patches only).
            let prefix = c.prefixTokens, positioned = c.positionPrefix
            let registers = p.registerTokens ?? Tensor(shape: [0])
            p.classToken.withUnsafePointer { cls in
                registers.withUnsafePointer { reg in
                    p.patchBias.withUnsafePointer { bias in
                        p.positionEmbedding.withUnsafePointer { pos in
                            for image in 0..<b {
                                let tokens = x + image * N * D
                                for t in 0..<N {
                                    let row = tokens + t * D
                                    let source: UnsafePointer<Float>
                                    if t == 0 {
                                        source = cls
                                    } else if t < prefix {
                                        source = reg + (t - 1) * D
                                    } else {
                                        source = UnsafePointer(ln + (image * patches + t - prefix) * D)
                                    }
                                    if t < prefix {
                                        for d in 0..<D { row[d] = source[d] }
                                    } else {
                                        for d in 0..<D { row[d] = source[d] + bias[d] }
                                    }
                                    // Prefix token t takes row t when it has one; patch j takes row positionPrefix + j.
                                    let r = t < prefix ? (t < positioned ? t : -1) : positioned + t - prefix
                                    if r >= 0 { let e = pos + r * D; for d in 0..<D { row[d] += e[d] } }
                                }
                            }
                        }
                    }
                }
            }
            if let weight = p.preNormWeight, let bias = p.preNormBias {
                layerNorm(out: ln, inp: x, weight: weight, bias: bias, rows: M)
                x.update(from: ln, count: M * D)
            }
            emitTap(0, from: x, range: range, taps: taps)

            for (index, block) in p.blocks.enumerated() {
                let packedBlock = packed?.blocks[index]
                // x = x + proj(attn(LN1(x)))
                layerNorm(out: ln, inp: x, weight: block.norm1Weight, bias: block.norm1Bias, rows: M)
                linear(
                    out: qkv, inp: ln, weight: block.qkvWeight, packed: packedBlock?.qkv, bias: block.qkvBias, rows: M,
                    accumulate: false, rounded: rounded)
                let scale = 1 / Float(c.headDim).squareRoot()
                for image in 0..<b {
                    attentionForward(
                        out: attn + image * N * D, probs: probs, qkv: qkv + image * N * 3 * D,
                        batch: 1, tokens: N, heads: c.heads, headDim: c.headDim, scale: scale)
                }
                residual(x, scale: block.ls1, scratch: ln, rows: M) { out, accumulate in
                    linear(
                        out: out, inp: attn, weight: block.projWeight, packed: packedBlock?.proj, bias: block.projBias,
                        rows: M,
                        accumulate: accumulate, rounded: rounded)
                }
                // x = x + fc2(GELU(fc1(LN2(x))))
                layerNorm(out: ln, inp: x, weight: block.norm2Weight, bias: block.norm2Bias, rows: M)
                if let fc1 = packedBlock?.fc1 {
                    product(out: hidden, inp: ln, weight: fc1, rows: M, beta: 0, rounded: rounded)
                } else {
                    block.fc1Weight.withUnsafePointer { w in
                        BLAS.sgemm(transB: true, m: M, n: Hd, k: D, a: ln, lda: D, b: w, ldb: D, c: hidden, ldc: Hd)
                    }
                }
                block.fc1Bias.withUnsafePointer { bias in
                    switch c.activation {
                    case .gelu: biasGELUForward(out: hidden, preActivation: nil, bias: bias, rows: M, cols: Hd)
                    case .quickGELU: biasQuickGELUForward(out: hidden, bias: bias, rows: M, cols: Hd)
                    }
                }
                residual(x, scale: block.ls2, scratch: ln, rows: M) { out, accumulate in
                    linear(
                        out: out, inp: hidden, weight: block.fc2Weight, packed: packedBlock?.fc2, bias: block.fc2Bias,
                        rows: M,
                        accumulate: accumulate, rounded: rounded)
                }
                emitTap(index + 1, from: x, range: range, taps: taps)
            }
            if let normalizedFinal {
                layerNorm(
                    out: normalizedFinal + range.lowerBound * N * D, inp: x,
                    weight: p.normWeight, bias: p.normBias, rows: M)
            }
        }
    }

    // Workspaces are kept between calls: allocating ~100 MB of scratch per chunk per call costs
    // page faults on every batch. One is kept per concurrent worker.
    private let workspaceLock = NSLock()
    private var idleWorkspaces: [Workspace] = []

    private func takeWorkspace(
        rows: Int, width: Int, hidden: Int, patchRows: Int, patchFeatures: Int,
        heads: Int, tokens: Int, bf16: Bool
    ) -> Workspace {
        let sizes = Workspace.Sizes(
            rows: rows, width: width, hidden: hidden, patchRows: patchRows,
            patchFeatures: patchFeatures, heads: heads, tokens: tokens, bf16: bf16)
        workspaceLock.lock()
        defer { workspaceLock.unlock() }
        if let index = idleWorkspaces.firstIndex(where: { $0.sizes == sizes }) {
            return idleWorkspaces.remove(at: index)
        }
        return Workspace(sizes)
    }

    private func returnWorkspace(_ workspace: Workspace) {
        workspaceLock.lock()
        defer { workspaceLock.unlock() }
        idleWorkspaces.append(workspace)
        if idleWorkspaces.count > availableCores { idleWorkspaces.removeFirst() }
    }

    private func emitTap(
        _ index: Int, from x: UnsafePointer<Float>, range: Range<Int>, taps: [Int: UnsafeMutablePointer<Float>]
    ) {
        guard let destination = taps[index] else { return }
        let rowsPerImage = config.tokens * config.width
        (destination + range.lowerBound * rowsPerImage).update(from: x, count: range.count * rowsPerImage)
    }

    /// x += branch, or with layer scale x += γ ⊙ branch: `branch(out, accumulate)` writes the
    /// branch's output (straight onto x when unscaled, else into `scratch`).
    private func residual(
        _ x: UnsafeMutablePointer<Float>, scale: Tensor?, scratch: UnsafeMutablePointer<Float>, rows: Int,
        _ branch: (UnsafeMutablePointer<Float>, Bool) -> Void
    ) {
        guard let scale else { branch(x, true); return }
        branch(scratch, false)
        let D = config.width
        scale.withUnsafePointer { g in
            for r in 0..<rows {
                let row = x + r * D, b = scratch + r * D
                for d in 0..<D { row[d] += g[d] * b[d] }
            }
        }
    }

    private func layerNorm(
        out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, weight: Tensor, bias: Tensor, rows: Int
    ) {
        weight.withUnsafePointer { w in
            bias.withUnsafePointer { b in
                layerNormForward(
                    out: out, mean: nil, rstd: nil, inp: inp, weight: w, bias: b,
                    rows: rows, cols: config.width, eps: config.layerNormEps)
            }
        }
    }

    /// out (rows, O) = inp (rows, I) · weightᵀ + bias (+ out with `accumulate`): with `packed`, the
    /// bf16 kernel on the packed weight; else OpenBLAS sgemm on `weight`.
    private func linear(
        out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, weight: Tensor,
        packed: BFloat16GEMM.PackedB?, bias: Tensor, rows: Int, accumulate: Bool,
        rounded: UnsafeMutablePointer<UInt16>
    ) {
        guard let packed else {
            weight.withUnsafePointer { w in
                bias.withUnsafePointer { b in
                    linearForward(
                        out: out, inp: inp, weight: w, bias: b, rows: rows,
                        inFeatures: weight.shape[1], outFeatures: weight.shape[0], accumulate: accumulate)
                }
            }
            return
        }
        bias.withUnsafePointer {
            broadcastBias(out: out, bias: $0, rows: rows, outFeatures: packed.n, accumulate: accumulate)
        }
        product(out: out, inp: inp, weight: packed, rows: rows, beta: 1, rounded: rounded)
    }

    /// out (rows, O) = bf16(inp) (rows, I) · packed weight + beta · out, rounding `inp` into `rounded`.
    private func product(
        out: UnsafeMutablePointer<Float>, inp: UnsafePointer<Float>, weight: BFloat16GEMM.PackedB,
        rows: Int, beta: Float, rounded: UnsafeMutablePointer<UInt16>
    ) {
        BFloat16GEMM.round(rows: rows, columns: weight.k, a: inp, lda: weight.k, into: rounded)
        // BLAS's thread count is the forward's choice for this chunk (1 when chunks run side by side).
        BFloat16GEMM.gemm(rows: rows, a: rounded, weight, beta: beta, c: out, ldc: weight.n, threads: BLAS.threadCount)
    }

    /// out (count·G², F) ← images (count, C, S, S): each patch's pixels in (c, i, j) order, the
    /// flattening of the conv kernel (D, C, P, P), so the patch conv is one GEMM.
    private func unfoldPatches(out: UnsafeMutablePointer<Float>, images: UnsafePointer<Float>, count: Int) {
        let c = config, P = c.patchSize, S = c.imageSize, G = c.gridSize
        var o = out
        for image in 0..<count {
            let base = images + image * c.channels * S * S
            for gy in 0..<G {
                for gx in 0..<G {
                    for channel in 0..<c.channels {
                        for i in 0..<P {
                            let source = base + (channel * S + gy * P + i) * S + gx * P
                            o.update(from: source, count: P)
                            o += P
                        }
                    }
                }
            }
        }
    }
}

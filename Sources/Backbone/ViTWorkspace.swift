import Numerics

// What one ViT forward worker computes with: its scratch buffers, and the weights packed for bf16.

/// The weights of the GEMMs packed once for the bf16 kernel (`x · Wᵀ`: W (O, I) read transposed).
struct PackedWeights {
    struct Block { let qkv, proj, fc1, fc2: BFloat16GEMM.PackedB }
    let patch: BFloat16GEMM.PackedB
    let blocks: [Block]

    init(_ p: ViTParameters) {
        func pack(_ weight: Tensor) -> BFloat16GEMM.PackedB {
            weight.withUnsafePointer { w in
                BFloat16GEMM.pack(k: weight.shape[1], n: weight.shape[0], b: w, ldb: weight.shape[1], transB: true)
            }
        }
        patch = pack(p.patchWeight)
        blocks = p.blocks.map {
            Block(qkv: pack($0.qkvWeight), proj: pack($0.projWeight), fc1: pack($0.fc1Weight), fc2: pack($0.fc2Weight))
        }
    }
}

/// Scratch buffers of one worker's chunk, allocated once per forward call.
struct Workspace {
    struct Sizes: Equatable { let rows, width, hidden, patchRows, patchFeatures, heads, tokens: Int; let bf16: Bool }
    let sizes: Sizes
    var x, ln, qkv, attn, hidden, unfolded, probs: [Float]
    /// A GEMM's input rounded to bf16 (one unused element in fp32).
    var rounded: [UInt16]

    init(_ sizes: Sizes) {
        self.sizes = sizes
        let (M, D, Hd, patchRows, F, H, N) = (
            sizes.rows, sizes.width, sizes.hidden, sizes.patchRows,
            sizes.patchFeatures, sizes.heads, sizes.tokens
        )
        x = [Float](repeating: 0, count: M * D)
        ln = [Float](repeating: 0, count: max(M, patchRows) * D)
        qkv = [Float](repeating: 0, count: M * 3 * D)
        attn = [Float](repeating: 0, count: M * D)
        hidden = [Float](repeating: 0, count: M * Hd)
        unfolded = [Float](repeating: 0, count: patchRows * F)
        probs = [Float](repeating: 0, count: H * N * N)
        let widest = BFloat16GEMM.stride(columns: max(D, Hd, F))
        rounded = [UInt16](repeating: 0, count: sizes.bf16 ? max(M, patchRows) * widest : 1)
    }

    mutating func withPointers(
        _ body: (
            UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>,
            UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>,
            UnsafeMutablePointer<Float>, UnsafeMutablePointer<UInt16>
        ) -> Void
    ) {
        x.withUnsafeMutableBufferPointer { x in
            ln.withUnsafeMutableBufferPointer { ln in
                qkv.withUnsafeMutableBufferPointer { qkv in
                    attn.withUnsafeMutableBufferPointer { attn in
                        hidden.withUnsafeMutableBufferPointer { hidden in
                            unfolded.withUnsafeMutableBufferPointer { unfolded in
                                probs.withUnsafeMutableBufferPointer { probs in
                                    rounded.withUnsafeMutableBufferPointer { rounded in
                                        body(
                                            x.baseAddress!, ln.baseAddress!, qkv.baseAddress!, attn.baseAddress!,
                                            hidden.baseAddress!,
                                            unfolded.baseAddress!, probs.baseAddress!, rounded.baseAddress!)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

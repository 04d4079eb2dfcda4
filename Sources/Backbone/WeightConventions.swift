// Over 300 lines because one table per checkpoint convention (timm, DINOv2, CLIP, HF ViT, …); each maps names onto
// timm's, and they are compared with each other when one is added.

import Essentials
import Numerics

/// Naming conventions of ViT checkpoints that hpsweep maps onto timm's parameters.
public enum WeightConvention: String, Sendable {
    /// timm's `vision_transformer.py` names (`blocks.{i}.attn.qkv.weight`, …), safetensors.
    case timm
    /// HuggingFace `ViTModel` names (`encoder.layer.{i}.attention.attention.query.weight`, …).
    case huggingface
    /// The original Google `ViT-B_16.npz` names (`Transformer/encoderblock_{i}/…`), a zip of .npy.
    case googleNPZ = "google-npz"
    /// HuggingFace `Dinov2Model` / `Dinov2WithRegistersModel` names (`encoder.layer.{i}.norm1`, `layer_scale1.lambda1`).
    case huggingfaceDINOv2 = "huggingface-dinov2"
    /// HuggingFace `CLIPVisionModel` names (`[vision_model.]encoder.layers.{i}.self_attn.q_proj`, `pre_layrnorm`).
    case huggingfaceCLIP = "huggingface-clip"

    /// Identifies the convention (and the key prefix, e.g. "vit." or "module.") from the tensor names.
    static func detect(_ names: [String]) -> (WeightConvention, prefix: String)? {
        for name in names where name.hasSuffix("patch_embed.proj.weight") {
            let prefix = String(name.dropLast("patch_embed.proj.weight".count))
            if names.contains(prefix + "cls_token") { return (.timm, prefix) }
        }
        for name in names where name.hasSuffix("embeddings.patch_embeddings.projection.weight") {
            let prefix = String(name.dropLast("embeddings.patch_embeddings.projection.weight".count))
            guard names.contains(prefix + "embeddings.cls_token") else { continue }
            return (names.contains(prefix + "encoder.layer.0.norm1.weight") ? .huggingfaceDINOv2 : .huggingface, prefix)
        }
        for name in names where name.hasSuffix("embeddings.patch_embedding.weight") {
            let prefix = String(name.dropLast("embeddings.patch_embedding.weight".count))
            if names.contains(prefix + "embeddings.class_embedding") { return (.huggingfaceCLIP, prefix) }
        }
        if names.contains("embedding/kernel") && names.contains("Transformer/posembed_input/pos_embedding") {
            return (.googleNPZ, "")
        }
        return nil
    }
}

/// A backbone read from a checkpoint: its configuration (inferred from the tensor shapes), its
/// weights in timm's layout, and the convention that was found.
public struct LoadedViT {
    public let path: String
    public let convention: WeightConvention
    public let config: ViTConfig
    public let parameters: ViTParameters
    /// Storage type of the patch embedding (representative of the file).
    public let scalarType: ScalarType
    /// The image side the checkpoint's position embedding was made for.
    public let nativeImageSize: Int

    /// Opens a `.safetensors` or `.npz` checkpoint in any supported convention.
    /// - Parameters:
    ///   - heads: attention heads, needed for timm/HuggingFace files (their tensors do not record it);
    ///     defaults to the usual count for the width (ViT-Ti 3, S 6, B 12, L 16).
    ///   - layerNormEps: overrides the convention's default (1e-6 timm/Google, 1e-12 HuggingFace).
    ///   - imageSize: the image side to run at, when not the checkpoint's own: the position embedding
    ///     is resampled (`resamplePositionEmbedding`); a multiple of the patch size.
    ///   - activation: the MLP's activation when the file cannot say (QuickGELU for OpenAI's CLIP).
    public init(
        path: String, heads: Int? = nil, layerNormEps: Float? = nil, imageSize: Int? = nil,
        activation: ViTConfig.Activation? = nil
    ) throws {
        let archive = try Self.openArchive(path)
        guard let (convention, prefix) = WeightConvention.detect(archive.names) else {
            throw WeightsError.unknownConvention(path: path, sampleKeys: archive.names)
        }
        self.path = path
        self.convention = convention
        var mapper = ConventionMapper(archive: archive, prefix: prefix)
        var config: ViTConfig
        let parameters: ViTParameters
        switch convention {
        case .timm: (config, parameters) = try mapper.timm(heads: heads)
        case .huggingface: (config, parameters) = try mapper.huggingface(heads: heads)
        case .googleNPZ: (config, parameters) = try mapper.google(heads: heads)
        case .huggingfaceDINOv2: (config, parameters) = try mapper.huggingfaceDINOv2(heads: heads)
        case .huggingfaceCLIP: (config, parameters) = try mapper.huggingfaceCLIP(heads: heads)
        }

        nativeImageSize = config.imageSize
        if let layerNormEps { config.layerNormEps = layerNormEps }
        if let activation { config.activation = activation }
        var resampled = parameters
        if let imageSize, imageSize != config.imageSize {
            guard imageSize > 0, imageSize % config.patchSize == 0, imageSize / config.patchSize <= 1024 else {
                throw WeightsError.badImageSize(path: path, imageSize: imageSize, patchSize: config.patchSize)
            }
            // Rows without a prefix slot resample alone; with one, the prefix rows are kept apart.
            let kept = config.positionPrefix
            resampled.positionEmbedding = resamplePositionEmbedding(
                parameters.positionEmbedding, prefix: kept,
                from: config.gridSize, to: imageSize / config.patchSize)
            config.imageSize = imageSize
        }
        self.parameters = resampled
        self.config = config
        scalarType = archive.scalarType(of: mapper.patchKey) ?? .float32
    }

    static func openArchive(_ path: String) throws -> TensorArchive {
        if path.hasSuffix(".npz") { return try NPZFile(path: path) }
        if path.hasSuffix(".bin") || path.hasSuffix(".pth") || path.hasSuffix(".pt") || path.hasSuffix(".ckpt") {
            throw WeightsError.badHeader(
                path: path,
                detail:
                    "PyTorch pickle checkpoints are not read (unsafe to unpickle); save the state dict with safetensors.torch.save_file"
            )
        }
        // Sniff: a zip starts with "PK"; anything else is tried as safetensors.
        if let file = try? MappedFile(path: path), file.count >= 2,
            file.bytes.load(as: UInt8.self) == 0x50, file.bytes.load(fromByteOffset: 1, as: UInt8.self) == 0x4B
        {
            return try NPZFile(path: path)
        }
        return try SafeTensorsFile(path: path)
    }
}

/// Maps one archive's tensors onto `ViTParameters`, checking every shape against the inferred config.
struct ConventionMapper {
    let archive: TensorArchive
    let prefix: String
    var patchKey = ""

    init(archive: TensorArchive, prefix: String) { self.archive = archive; self.prefix = prefix }

    func shape(_ name: String) throws -> [Int] {
        guard let s = archive.shape(of: name) else {
            throw WeightsError.missingTensor(path: archive.path, tensor: name)
        }
        return s
    }

    func fail(_ detail: String) -> WeightsError { .inconsistentModel(path: archive.path, detail: detail) }

    /// Depth = number of consecutive blocks whose `probe(i)` tensor exists.
    func countBlocks(_ probe: (Int) -> String) -> Int {
        var depth = 0
        while archive.contains(probe(depth)) { depth += 1 }
        return depth
    }

    /// The patch grid of a position embedding of `tokens` rows for `prefix` class and register tokens,
    /// and whether it has rows for them (nil: neither reading gives a square grid).
    static func grid(positionTokens tokens: Int, prefix: Int) -> (grid: Int, embedsPrefix: Bool)? {
        func side(_ n: Int) -> Int? {
            let g = Int(Double(max(n, 0)).squareRoot().rounded()); return n > 0 && g * g == n ? g : nil
        }
        // With registers timm's checkpoints (DINOv2-reg) give them no position: try that reading first.
        let readings =
            prefix > 1 ? [(tokens, false), (tokens - prefix, true)] : [(tokens - prefix, true), (tokens, false)]
        for (patches, embedsPrefix) in readings { if let g = side(patches) { return (g, embedsPrefix) } }
        return nil
    }

    func makeConfig(
        width: Int, channels: Int, patch: Int, tokens: Int, depth: Int, hidden: Int,
        heads: Int?, eps: Float, registers: Int = 0
    ) throws -> ViTConfig {
        guard let (grid, embedsPrefix) = Self.grid(positionTokens: tokens, prefix: 1 + registers) else {
            let prefix = registers > 0 ? "a class token and \(registers) registers" : "a class token"
            throw fail(
                "position embedding has \(tokens) tokens; expected a square grid of patches, with or without \(prefix)")
        }
        guard depth > 0 else { throw fail("no transformer blocks found") }
        guard hidden % width == 0 else { throw fail("MLP width \(hidden) is not a multiple of width \(width)") }
        guard let heads = heads ?? ViTConfig.conventionalHeads(forWidth: width) else {
            throw fail("cannot infer the head count for width \(width); give it explicitly (--heads / backbone.heads)")
        }
        var config = ViTConfig(
            imageSize: grid * patch, patchSize: patch, width: width, depth: depth, heads: heads,
            mlpRatio: hidden / width, channels: channels, layerNormEps: eps)
        config.registers = registers
        config.embedsPrefix = embedsPrefix
        if let problem = config.inconsistency { throw fail(problem) }
        return config
    }

    func vector(_ name: String, _ n: Int) throws -> Tensor { try archive.tensor(name, shape: [n]) }

    /// q, k, v Linears (`<name>.weight`, `<name>.bias`) stacked into timm's qkv rows q | k | v.
    func stackedQKV(_ names: [String], width d: Int) throws -> (weight: Tensor, bias: Tensor) {
        let weight = try names.flatMap { try archive.tensor($0 + ".weight", shape: [d, d]).storage }
        let bias = try names.flatMap { try vector($0 + ".bias", d).storage }
        return (Tensor(shape: [3 * d, d], storage: weight), Tensor(shape: [3 * d], storage: bias))
    }

    /// A block stored in PyTorch's layout (LayerNorm and Linear modules, `<name>.weight` and
    /// `<name>.bias` each, Linear weights [out, in]) from its modules' names, which each convention
    /// spells its own way; `qkv` already stacked.
    func pytorchBlock(
        norm1: String, qkv: (weight: Tensor, bias: Tensor), proj: String, norm2: String, fc1: String, fc2: String,
        width d: Int, hidden h: Int
    ) throws -> ViTParameters.Block {
        ViTParameters.Block(
            norm1Weight: try vector(norm1 + ".weight", d), norm1Bias: try vector(norm1 + ".bias", d),
            qkvWeight: qkv.weight, qkvBias: qkv.bias,
            projWeight: try archive.tensor(proj + ".weight", shape: [d, d]), projBias: try vector(proj + ".bias", d),
            norm2Weight: try vector(norm2 + ".weight", d), norm2Bias: try vector(norm2 + ".bias", d),
            fc1Weight: try archive.tensor(fc1 + ".weight", shape: [h, d]), fc1Bias: try vector(fc1 + ".bias", h),
            fc2Weight: try archive.tensor(fc2 + ".weight", shape: [d, h]), fc2Bias: try vector(fc2 + ".bias", d))
    }

    /// The tensor `name` with shape `stored`, reshaped to `shape` (same elements, same order).
    func tensor(_ name: String, stored: [Int], as shape: [Int]) throws -> Tensor {
        try archive.tensor(name, shape: stored).reshaped(shape)
    }

    /// Shapes of a PyTorch-layout patch conv (D, C, P, P) and position embedding (1, N, D), checked.
    func embeddingShapes(patch patchKey: String, position posKey: String) throws -> (patch: [Int], position: [Int]) {
        let patchShape = try shape(patchKey)
        guard patchShape.count == 4, patchShape[2] == patchShape[3] else {
            throw WeightsError.shapeMismatch(
                path: archive.path, tensor: patchKey, expected: [-1, 3, -1, -1], found: patchShape)
        }
        let pos = try shape(posKey)
        guard pos.count == 3, pos[0] == 1, pos[2] == patchShape[0] else {
            throw WeightsError.shapeMismatch(
                path: archive.path, tensor: posKey, expected: [1, -1, patchShape[0]], found: pos)
        }
        return (patchShape, pos)
    }

    // MARK: - timm

    /// Tensors of ViT variants hpsweep cannot run, and what they show.
    static let unsupported: [(fragment: String, architecture: String)] = [
        ("rope", "rotary position embeddings"), ("freqs", "rotary position embeddings"),
        ("relative_position", "relative position bias"), ("rel_pos", "relative position bias"),
        ("fc1_g", "a SwiGLU MLP"), ("fc1_x", "a SwiGLU MLP"), ("mlp.w12", "a SwiGLU MLP"), ("mlp.w1.", "a SwiGLU MLP"),
        ("q_norm", "query/key normalisation"), ("k_norm", "query/key normalisation"),
        ("attn.norm.", "a normalised attention output"), ("mlp.norm.", "a normalised MLP (scale_mlp_norm)"),
        ("attn.q_bias", "separate q/v biases (BEiT/EVA)"), ("gamma_1", "BEiT-style layer scale"),
    ]

    mutating func timm(heads: Int?) throws -> (ViTConfig, ViTParameters) {
        let p = prefix
        for name in archive.names
        where name.hasPrefix(p + "blocks.") || name.hasPrefix(p + "rope") || name.hasPrefix(p + "pos_embed") {
            if let match = Self.unsupported.first(where: { name.contains($0.fragment) }) {
                throw fail(
                    "\(match.architecture) (tensor '\(name)'): an architecture hpsweep cannot run; it runs the plain ViT family (timm's VisionTransformer: DINOv2, CLIP, DeiT III)"
                )
            }
        }
        patchKey = p + "patch_embed.proj.weight"
        let (patchShape, pos) = try embeddingShapes(patch: patchKey, position: p + "pos_embed")
        let d = patchShape[0]
        let depth = countBlocks { "\(p)blocks.\($0).norm1.weight" }
        let hidden = try shape("\(p)blocks.0.mlp.fc1.weight").first ?? 0
        var registers = 0
        if archive.contains(p + "reg_token") {
            let shape = try shape(p + "reg_token")
            guard shape.count == 3, shape[0] == 1, shape[2] == d, shape[1] >= 1 else {
                throw WeightsError.shapeMismatch(
                    path: archive.path, tensor: p + "reg_token", expected: [1, -1, d], found: shape)
            }
            registers = shape[1]
        }
        var config = try makeConfig(
            width: d, channels: patchShape[1], patch: patchShape[2], tokens: pos[1], depth: depth,
            hidden: hidden, heads: heads, eps: 1e-6, registers: registers)
        config.preNorm = archive.contains(p + "norm_pre.weight")
        // CLIP's image towers (the timm family with norm_pre) use PyTorch's LayerNorm eps, 1e-5.
        if config.preNorm { config.layerNormEps = 1e-5 }
        config.layerScale = archive.contains(p + "blocks.0.ls1.gamma")
        let h = config.hiddenWidth
        let blocks = try (0..<depth).map { i -> ViTParameters.Block in
            let b = "\(p)blocks.\(i)."
            let qkv = (
                try archive.tensor(b + "attn.qkv.weight", shape: [3 * d, d]), try vector(b + "attn.qkv.bias", 3 * d)
            )
            var block = try pytorchBlock(
                norm1: b + "norm1", qkv: qkv, proj: b + "attn.proj", norm2: b + "norm2",
                fc1: b + "mlp.fc1", fc2: b + "mlp.fc2", width: d, hidden: h)
            if config.layerScale {
                block.ls1 = try vector(b + "ls1.gamma", d)
                block.ls2 = try vector(b + "ls2.gamma", d)
            }
            return block
        }
        // CLIP's image towers have no patch bias.
        let patchBias =
            archive.contains(p + "patch_embed.proj.bias")
            ? try vector(p + "patch_embed.proj.bias", d) : Tensor(shape: [d])
        var parameters = ViTParameters(
            patchWeight: try tensor(patchKey, stored: patchShape, as: [d, config.patchFeatures]),
            patchBias: patchBias,
            classToken: try tensor(p + "cls_token", stored: [1, 1, d], as: [d]),
            positionEmbedding: try tensor(p + "pos_embed", stored: pos, as: [config.positionTokens, d]),
            blocks: blocks,
            normWeight: try vector(p + "norm.weight", d), normBias: try vector(p + "norm.bias", d))
        if registers > 0 {
            parameters.registerTokens = try tensor(p + "reg_token", stored: [1, registers, d], as: [registers, d])
        }
        if config.preNorm {
            parameters.preNormWeight = try vector(p + "norm_pre.weight", d)
            parameters.preNormBias = try vector(p + "norm_pre.bias", d)
        }
        return (config, parameters)
    }

    // MARK: - HuggingFace ViTModel

    mutating func huggingface(heads: Int?) throws -> (ViTConfig, ViTParameters) {
        let p = prefix
        patchKey = p + "embeddings.patch_embeddings.projection.weight"
        let posKey = p + "embeddings.position_embeddings"
        let (patchShape, pos) = try embeddingShapes(patch: patchKey, position: posKey)
        let d = patchShape[0]
        let depth = countBlocks { "\(p)encoder.layer.\($0).layernorm_before.weight" }
        let hidden = try shape("\(p)encoder.layer.0.intermediate.dense.weight").first ?? 0
        let config = try makeConfig(
            width: d, channels: patchShape[1], patch: patchShape[2], tokens: pos[1], depth: depth,
            hidden: hidden, heads: heads, eps: 1e-12)
        let h = config.hiddenWidth
        let blocks = try (0..<depth).map { i -> ViTParameters.Block in
            let b = "\(p)encoder.layer.\(i)."
            let qkv = try stackedQKV(["query", "key", "value"].map { b + "attention.attention." + $0 }, width: d)
            return try pytorchBlock(
                norm1: b + "layernorm_before", qkv: qkv, proj: b + "attention.output.dense",
                norm2: b + "layernorm_after",
                fc1: b + "intermediate.dense", fc2: b + "output.dense", width: d, hidden: h)
        }
        let parameters = ViTParameters(
            patchWeight: try tensor(patchKey, stored: patchShape, as: [d, config.patchFeatures]),
            patchBias: try vector(p + "embeddings.patch_embeddings.projection.bias", d),
            classToken: try tensor(p + "embeddings.cls_token", stored: [1, 1, d], as: [d]),
            positionEmbedding: try tensor(posKey, stored: pos, as: [config.positionTokens, d]),
            blocks: blocks,
            normWeight: try vector(p + "layernorm.weight", d), normBias: try vector(p + "layernorm.bias", d))
        return (config, parameters)
    }

    // MARK: - Google ViT .npz (Flax names, kernels stored (in, out))

    mutating func google(heads: Int?) throws -> (ViTConfig, ViTParameters) {
        patchKey = "embedding/kernel"
        let kernel = try shape(patchKey)  // (P, P, C, D)
        guard kernel.count == 4, kernel[0] == kernel[1] else {
            throw WeightsError.shapeMismatch(
                path: archive.path, tensor: patchKey, expected: [-1, -1, 3, -1], found: kernel)
        }
        let (patch, channels, d) = (kernel[0], kernel[2], kernel[3])
        let posKey = "Transformer/posembed_input/pos_embedding"
        let pos = try shape(posKey)
        guard pos.count == 3, pos[0] == 1, pos[2] == d else {
            throw WeightsError.shapeMismatch(path: archive.path, tensor: posKey, expected: [1, -1, d], found: pos)
        }
        let block0 = "Transformer/encoderblock_0/"
        let depth = countBlocks { "Transformer/encoderblock_\($0)/LayerNorm_0/scale" }
        let hidden = try shape(block0 + "MlpBlock_3/Dense_0/kernel").last ?? 0
        let query = try shape(block0 + "MultiHeadDotProductAttention_1/query/kernel")  // (D, H, Dh)
        guard query.count == 3, query[0] == d, query[1] * query[2] == d else {
            throw WeightsError.shapeMismatch(
                path: archive.path, tensor: block0 + "MultiHeadDotProductAttention_1/query/kernel",
                expected: [d, -1, -1], found: query)
        }
        if let heads, heads != query[1] {
            throw fail("the checkpoint has \(query[1]) heads but \(heads) were requested")
        }
        let config = try makeConfig(
            width: d, channels: channels, patch: patch, tokens: pos[1], depth: depth,
            hidden: hidden, heads: query[1], eps: 1e-6)
        let h = config.hiddenWidth, nh = config.heads, dh = config.headDim
        // (P, P, C, D) → (D, C, P, P), flattened to (D, C·P·P).
        let k = try archive.tensor(patchKey, shape: kernel)
        var patchWeight = Tensor(shape: [d, config.patchFeatures])
        for i in 0..<patch {
            for j in 0..<patch {
                for c in 0..<channels {
                    for o in 0..<d {
                        patchWeight.storage[o * config.patchFeatures + (c * patch + i) * patch + j] =
                            k.storage[((i * patch + j) * channels + c) * d + o]
                    }
                }
            }
        }
        let blocks = try (0..<depth).map { i -> ViTParameters.Block in
            let b = "Transformer/encoderblock_\(i)/"
            let a = b + "MultiHeadDotProductAttention_1/"
            let qkvWeight = try ["query", "key", "value"].flatMap {
                try transposed(archive.tensor(a + $0 + "/kernel", shape: [d, nh, dh]).storage, rows: d, cols: d)
            }
            let qkvBias = try ["query", "key", "value"].flatMap {
                try archive.tensor(a + $0 + "/bias", shape: [nh, dh]).storage
            }
            return ViTParameters.Block(
                norm1Weight: try vector(b + "LayerNorm_0/scale", d), norm1Bias: try vector(b + "LayerNorm_0/bias", d),
                qkvWeight: Tensor(shape: [3 * d, d], storage: qkvWeight),
                qkvBias: Tensor(shape: [3 * d], storage: qkvBias),
                projWeight: Tensor(
                    shape: [d, d],
                    storage: transposed(
                        try archive.tensor(a + "out/kernel", shape: [nh, dh, d]).storage, rows: d, cols: d)),
                projBias: try vector(a + "out/bias", d),
                norm2Weight: try vector(b + "LayerNorm_2/scale", d), norm2Bias: try vector(b + "LayerNorm_2/bias", d),
                fc1Weight: Tensor(
                    shape: [h, d],
                    storage: transposed(
                        try archive.tensor(b + "MlpBlock_3/Dense_0/kernel", shape: [d, h]).storage, rows: d, cols: h)),
                fc1Bias: try vector(b + "MlpBlock_3/Dense_0/bias", h),
                fc2Weight: Tensor(
                    shape: [d, h],
                    storage: transposed(
                        try archive.tensor(b + "MlpBlock_3/Dense_1/kernel", shape: [h, d]).storage, rows: h, cols: d)),
                fc2Bias: try vector(b + "MlpBlock_3/Dense_1/bias", d))
        }
        let parameters = ViTParameters(
            patchWeight: patchWeight, patchBias: try vector("embedding/bias", d),
            classToken: try tensor("cls", stored: [1, 1, d], as: [d]),
            positionEmbedding: try tensor(posKey, stored: pos, as: [config.positionTokens, d]),
            blocks: blocks,
            normWeight: try vector("Transformer/encoder_norm/scale", d),
            normBias: try vector("Transformer/encoder_norm/bias", d))
        return (config, parameters)
    }
}

/// The (cols, rows) transpose of a row-major (rows, cols) matrix.
func transposed(_ values: [Float], rows: Int, cols: Int) -> [Float] {
    precondition(values.count == rows * cols, "transposed: \(values.count) values for \(rows)×\(cols)")
    var result = [Float](repeating: 0, count: values.count)
    for r in 0..<rows { for c in 0..<cols { result[c * rows + r] = values[r * cols + c] } }
    return result
}

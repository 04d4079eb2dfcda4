/// The shape of a ViT (Dosovitskiy et al. 2021, arXiv 2010.11929) as timm builds it:
/// `depth` pre-norm blocks of `width` features and `heads` heads over (image/patch)² patches plus a
/// class token.
public struct ViTConfig: Equatable, Sendable, CustomStringConvertible {
    public var imageSize: Int
    public var patchSize: Int
    public var width: Int
    public var depth: Int
    public var heads: Int
    public var mlpRatio: Int = 4
    public var channels: Int = 3
    /// LayerNorm epsilon: 1e-6 in timm and Google's checkpoints, 1e-12 in HuggingFace's ViT.
    public var layerNormEps: Float = 1e-6
    /// Register tokens (DINOv2-reg: 4), carried through the blocks after the class token.
    public var registers = 0
    /// Whether the position embedding has rows for the class (and register) tokens too; false is
    /// timm's `no_embed_class` (DeiT III, DINOv2-reg): only the patches get one.
    public var embedsPrefix = true
    /// With `embedsPrefix`: whether the registers have rows too (timm) or only the class token
    /// (HuggingFace's Dinov2WithRegisters, which inserts the registers after the position embedding).
    public var embedsRegisters = true
    /// A LayerNorm before the blocks (timm's `norm_pre`, CLIP's `ln_pre`).
    public var preNorm = false
    /// Per-channel scales on each branch's output (timm's `ls1`/`ls2` gammas: DINOv2, DeiT III).
    public var layerScale = false
    /// The MLP's activation: exact GELU, or CLIP's QuickGELU x·σ(1.702x).
    public var activation: Activation = .gelu

    public enum Activation: String, Sendable, CaseIterable {
        case gelu
        case quickGELU = "quick_gelu"
    }

    public init(
        imageSize: Int, patchSize: Int, width: Int, depth: Int, heads: Int,
        mlpRatio: Int = 4, channels: Int = 3, layerNormEps: Float = 1e-6
    ) {
        self.imageSize = imageSize; self.patchSize = patchSize; self.width = width
        self.depth = depth; self.heads = heads; self.mlpRatio = mlpRatio
        self.channels = channels; self.layerNormEps = layerNormEps
    }

    /// Patches per side.
    public var gridSize: Int { imageSize / patchSize }
    /// Tokens per image, in timm's order: the class token, the registers, one per patch (197 for
    /// ViT-B/16 at 224).
    public var tokens: Int { prefixTokens + gridSize * gridSize }
    /// The class token and the registers.
    public var prefixTokens: Int { 1 + registers }
    /// Rows of the position embedding.
    public var positionTokens: Int { positionPrefix + gridSize * gridSize }
    /// Rows of the position embedding before the patches': prefix token t < positionPrefix gets row t.
    public var positionPrefix: Int { embedsPrefix ? (embedsRegisters ? prefixTokens : 1) : 0 }
    public var headDim: Int { width / heads }
    public var hiddenWidth: Int { width * mlpRatio }
    /// Features of one unfolded patch (channels × P × P).
    public var patchFeatures: Int { channels * patchSize * patchSize }

    /// Problems with the configuration, or nil if it is consistent.
    public var inconsistency: String? {
        if imageSize <= 0 || patchSize <= 0 || width <= 0 || depth <= 0 || heads <= 0 || mlpRatio <= 0 || channels <= 0
        {
            return "all ViT sizes must be positive (\(self))"
        }
        if imageSize % patchSize != 0 { return "image size \(imageSize) is not a multiple of patch size \(patchSize)" }
        if width % heads != 0 { return "width \(width) is not divisible by \(heads) heads" }
        return nil
    }

    /// Multiply–add FLOPs (2 per MAC) of one image's forward pass: every GEMM, including attention's
    /// Q·Kᵀ and P·V. Elementwise work (LayerNorm, GELU, softmax) is not counted, as is customary.
    public var forwardFLOPsPerImage: Double {
        let n = Double(tokens), d = Double(width), h = Double(hiddenWidth)
        let patches = Double(gridSize * gridSize)
        let embed = 2 * patches * Double(patchFeatures) * d
        let perBlock = 2 * n * d * (3 * d) + 2 * 2 * n * n * d + 2 * n * d * d + 2 * 2 * n * d * h
        return embed + Double(depth) * perBlock
    }

    /// Parameters of the backbone (no classification head).
    public var parameterCount: Int {
        let d = width, h = hiddenWidth
        let embed = d * patchFeatures + d + prefixTokens * d + positionTokens * d + (preNorm ? 2 * d : 0)
        let block = 2 * 2 * d + (3 * d * d + 3 * d) + (d * d + d) + (h * d + h) + (d * h + d) + (layerScale ? 2 * d : 0)
        return embed + depth * block + 2 * d
    }

    public var description: String {
        var extras: [String] = []
        if registers > 0 { extras.append("\(registers) registers") }
        if !embedsPrefix { extras.append("no class position") }
        if embedsPrefix && !embedsRegisters && registers > 0 { extras.append("no register position") }
        if preNorm { extras.append("pre-norm") }
        if layerScale { extras.append("layer scale") }
        if activation != .gelu { extras.append(activation.rawValue) }
        let more = extras.map { ", " + $0 }.joined()
        return
            "ViT(image \(imageSize), patch \(patchSize), width \(width), depth \(depth), heads \(heads), mlp ×\(mlpRatio), eps \(layerNormEps)\(more))"
    }

    /// Named configurations (timm's names without the `vit_` prefix and resolution suffix).
    public static let presets: [(name: String, config: ViTConfig)] = [
        ("vit-ti16", ViTConfig(imageSize: 224, patchSize: 16, width: 192, depth: 12, heads: 3)),
        ("vit-s16", ViTConfig(imageSize: 224, patchSize: 16, width: 384, depth: 12, heads: 6)),
        ("vit-b16", ViTConfig(imageSize: 224, patchSize: 16, width: 768, depth: 12, heads: 12)),
        ("vit-b32", ViTConfig(imageSize: 224, patchSize: 32, width: 768, depth: 12, heads: 12)),
        ("vit-l16", ViTConfig(imageSize: 224, patchSize: 16, width: 1024, depth: 24, heads: 16)),
        ("vit-tiny-test", ViTConfig(imageSize: 32, patchSize: 8, width: 96, depth: 4, heads: 3)),
    ]

    public static func preset(named name: String) -> ViTConfig? {
        presets.first { $0.name == name.lowercased() }?.config
    }

    /// The usual head count for a width (timm's ViT family), used when a checkpoint cannot say.
    public static func conventionalHeads(forWidth width: Int) -> Int? {
        [192: 3, 384: 6, 768: 12, 1024: 16, 1280: 16][width]
    }
}

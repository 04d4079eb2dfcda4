import Backbone
import Foundation

/// `hpsweep inspect weights FILE`: which checkpoint convention was found and the model it describes.
enum InspectWeightsCommand: Command {
    static let heads = Option<Int>.positiveInteger(
        "heads", "N", help: "Attention heads, when the file cannot say (timm, HuggingFace).")
    static let path = ["inspect", "weights"]
    static let summary =
        "Identify a ViT checkpoint (timm, HuggingFace ViTModel, Google .npz) and print its configuration."
    static let usage = "FILE [--heads N]"
    static let options = [
        heads.spec
    ]

    static func run(_ arguments: ParsedArguments) throws {
        guard arguments.positionals.count == 1 else {
            throw UsageError("'\(displayName)' needs one weights file; usage: \(displayName) \(usage)")
        }
        let heads = try arguments.value(InspectWeightsCommand.heads)
        let loaded = try LoadedViT(path: arguments.positionals[0], heads: heads)
        let c = loaded.config
        print("\(loaded.path): \(loaded.convention.rawValue) convention, \(loaded.scalarType.rawValue) weights")
        print("  \(c)")
        print("  family: \(family(c))")
        let registers = c.registers > 0 ? " + \(c.registers) registers" : ""
        print(
            "  \(c.tokens) tokens (class\(registers) + \(c.gridSize)×\(c.gridSize) patches), \(c.parameterCount) parameters, \(String(format: "%.2f", c.forwardFLOPsPerImage / 1e9)) GFLOP per image"
        )
        let position =
            c.embedsPrefix
            ? "covers the class token\(c.registers > 0 ? " and registers" : "") and the patches"
            : "covers the patches only (no_embed_class)"
        print(
            "  native image size \(c.imageSize) (position embedding \(c.positionTokens) rows: \(position)); another \"image_size\" in the backbone section resamples it (bicubic, as timm)"
        )
        if c.preNorm {
            print(
                "  CLIP-style: if these are OpenAI CLIP weights, set \"activation\": \"quick_gelu\" (the file cannot say) and CLIP's mean/std"
            )
        }
    }

    /// The family the checkpoint's tensors show (timm's names for them).
    static func family(_ c: ViTConfig) -> String {
        var traits: [String] = []
        if c.layerScale { traits.append("layer scale") }
        if c.registers > 0 { traits.append("\(c.registers) register tokens") }
        if !c.embedsPrefix { traits.append("no class-token position") }
        if c.preNorm { traits.append("norm_pre, LayerNorm eps \(c.layerNormEps)") }
        let name: String
        switch (c.preNorm, c.layerScale, c.registers > 0, c.embedsPrefix) {
        case (true, _, _, _): name = "CLIP image tower"
        case (false, true, true, _): name = "DINOv2 with registers"
        case (false, true, false, true): name = "DINOv2-style (layer scale, class position)"
        case (false, true, false, false): name = "DeiT III-style (layer scale, no class position)"
        default: name = "plain ViT"
        }
        return traits.isEmpty ? name : "\(name): \(traits.joined(separator: ", "))"
    }
}

import Backbone
import Foundation

/// `hpsweep inspect weights FILE`: which checkpoint convention was found and the model it describes.
enum InspectWeightsCommand: Command {
    static let heads = Option<Int>.positiveInteger("heads", "N", help: "Attention heads, when the file cannot say (timm, HuggingFace).")
    static let path = ["inspect", "weights"]
    static let summary = "Identify a ViT checkpoint (timm, HuggingFace ViTModel, Google .npz) and print its configuration."
    static let usage = "FILE [--heads N]"
    static let options = [
        heads.spec,
    ]

    static func run(_ arguments: ParsedArguments) throws {
        guard arguments.positionals.count == 1 else { throw UsageError("'\(displayName)' needs one weights file; usage: \(displayName) \(usage)") }
        let heads = try arguments.value(InspectWeightsCommand.heads)
        let loaded = try LoadedViT(path: arguments.positionals[0], heads: heads)
        let c = loaded.config
        print("\(loaded.path): \(loaded.convention.rawValue) convention, \(loaded.scalarType.rawValue) weights")
        print("  \(c)")
        print("  \(c.tokens) tokens, \(c.parameterCount) parameters, \(String(format: "%.2f", c.forwardFLOPsPerImage / 1e9)) GFLOP per image")
    }
}

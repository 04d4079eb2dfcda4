import Essentials
import Foundation
import Sweep
import Training

// Model files: the trained networks a sweep keeps (results/<sweep>/models/, docs/formats.md).
extension SideTuningObjective {
    /// Writes the network `trainer` trained as `relativePath` under the sweep's directory, atomically,
    /// with what it takes to use it without the sweep file; returns `relativePath`. A failure to write
    /// is the machine's (disk full, read-only results), like a checkpoint's: it stops the sweep.
    func keepModel(
        _ trainer: TrialTrainer, id: String, relativePath: String, metrics: [String: String], runner: SweepRunner
    ) throws -> String {
        guard let parameters = trainer.trainedParameters else {
            throw TrialError("\(id): no trained parameters to keep")
        }
        var extra = metrics
        extra["trial"] = id
        extra["sweep"] = spec.name
        extra["hpsweep_version"] = runner.hpsweepVersion
        extra["cache_key"] = cache.key
        extra["cache"] = plan.ingredients.canonicalText
        extra["taps"] = JSONValue.array(trainer.network.requiredTaps.map { .string($0.description) }).canonicalText
        extra["token_policy"] = cache.header.tokenPolicy.rawValue
        extra["tokens"] = String(cache.header.tokens)
        if case .weights(let path, _, _, _, _) = spec.backbone { extra["backbone_path"] = absolute(path) }
        if let names = spec.data.classNames {
            extra["class_names"] = JSONValue.array(names.map(JSONValue.string)).canonicalText
        }
        let model = SideNetworkModel(
            settings: trainer.settings, classes: spec.data.classes, backboneWidth: cache.header.width,
            backboneDepth: depth, backboneHeads: heads, parameters: parameters, extra: extra)
        let path = (runner.directory as NSString).appendingPathComponent(relativePath)
        do {
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try model.write(to: path)
        } catch {
            throw ModelFileError(
                path: path,
                message:
                    "cannot write the model file: \(error); nothing written before is lost, rerun once there is room")
        }
        return relativePath
    }
}

import Cache
import Essentials
import Foundation
import Sweep
import Training

/// `hpsweep predict MODEL --cache DIR --split NAME`: a kept side network (results/<sweep>/models/)
/// run on cached taps: one CSV row per example, and accuracy, per-class accuracy and the confusion
/// matrix against the split's labels.
enum PredictCommand: Command {
    static let cache = Option<String>.text("cache", "DIR", help: "An activation cache directory (one of .hpsweep-cache/<key>) holding the taps the model reads.")
    static let split = Option<String>.text("split", "NAME", help: "The cached split to predict (e.g. test).")
    static let out = Option<String>.text("out", "FILE", help: "Where to write the predictions CSV (default predictions.csv).")
    static let top = Option<Int>.positiveInteger("top", "K", help: "Classes listed per example, most probable first (default 5).")
    static let confusion = Option<String>.text("confusion", "FILE", help: "Also write the confusion matrix as CSV (rows: true class, columns: predicted).")
    static let allowOtherBackbone = Flag("allow-other-backbone", help: "Use a cache whose backbone or preprocessing differs from the model's.")
    static let path = ["predict"]
    static let summary = "Predict with a kept model file (results/<sweep>/models/<trial>.safetensors) on a cached split."
    static let usage = "MODEL.safetensors --cache DIR --split NAME [--out FILE] [--top K] [--confusion FILE] [--allow-other-backbone]"
    static let options = [cache.spec, split.spec, out.spec, top.spec, confusion.spec, allowOtherBackbone.spec]

    static func run(_ arguments: ParsedArguments) throws {
        guard arguments.positionals.count == 1 else { throw UsageError("'\(displayName)' needs one model file; usage: \(displayName) \(usage)") }
        guard let cacheDirectory = arguments[PredictCommand.cache], let split = arguments[PredictCommand.split] else {
            throw UsageError("'\(displayName)' predicts from a cache: give --cache DIR and --split NAME (predicting from image files is not built yet)")
        }
        let output = arguments[PredictCommand.out] ?? "predictions.csv"
        let top = try arguments.value(PredictCommand.top, default: 5)
        let confusionFile = arguments[PredictCommand.confusion]
        for file in [output] + (confusionFile.map { [$0] } ?? []) { try ProtectedPaths.checkWritable(file, option: "predict") }

        let modelPath = arguments.positionals[0]
        let model = try SideNetworkModel(path: modelPath)
        let activations = try ActivationCache(directory: cacheDirectory)
        if let problem = model.incompatibility(with: activations, allowOtherBackbone: arguments.isSet(PredictCommand.allowOtherBackbone)) {
            throw ModelFileError(path: modelPath, message: "cannot run on \(cacheDirectory): \(problem)")
        }
        let classes = model.classes
        print("hpsweep predict: \(modelPath): \(model.settings.method.rawValue), \(classes) classes, trial \(model.extra["trial"] ?? "?") of sweep \(model.extra["sweep"] ?? "?")")
        let logits = try model.logits(cache: activations, split: split)
        let labels = try activations.labels(split)
        let count = labels.count

        var csv = "example,label,predicted,probability" + (1..<min(top, classes)).map { ",top\($0 + 1),probability\($0 + 1)" }.joined() + "\n"
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: classes), count: classes)
        var correct = 0
        for example in 0..<count {
            let row = Array(logits[(example * classes)..<((example + 1) * classes)])
            let probabilities = softmax(row)
            let ranked = probabilities.indices.sorted { (probabilities[$0], $1) > (probabilities[$1], $0) }
            let predicted = ranked[0], label = labels[example]
            if label >= 0 && label < classes { confusion[label][predicted] += 1 }
            if predicted == label { correct += 1 }
            csv += "\(example),\(label)," + ranked.prefix(top).map { "\($0),\(String(format: "%.6g", probabilities[$0]))" }.joined(separator: ",") + "\n"
        }
        do { try replaceAtomically(output, with: csv) } catch { throw UsageError("cannot write \(output): \(error)") }
        print("  \(split): \(count) examples from \(cacheDirectory); predictions: \(output)")
        print(String(format: "  accuracy %.4f (%d/%d)", Double(correct) / Double(max(count, 1)), correct, count)
              + (model.extra["test_acc"].map { "; the sweep's final phase recorded test_acc \($0)" } ?? ""))
        print("  per class (true class: accuracy, examples): " + (0..<classes).map { c -> String in
            let n = confusion[c].reduce(0, +)
            return n == 0 ? "\(c): -" : String(format: "%d: %.3f (%d)", c, Double(confusion[c][c]) / Double(n), n)
        }.joined(separator: ", "))
        if classes <= 20 {
            print("  confusion (rows: true class, columns: predicted):")
            print("        " + (0..<classes).map { String(format: "%5d", $0) }.joined())
            for c in 0..<classes { print(String(format: "  %5d ", c) + confusion[c].map { String(format: "%5d", $0) }.joined()) }
        }
        if let confusionFile {
            var text = "true\\predicted," + (0..<classes).map { String($0) }.joined(separator: ",") + "\n"
            for c in 0..<classes { text += "\(c)," + confusion[c].map { String($0) }.joined(separator: ",") + "\n" }
            do { try replaceAtomically(confusionFile, with: text) } catch { throw UsageError("cannot write \(confusionFile): \(error)") }
            print("  confusion matrix: \(confusionFile)")
        }
    }

    /// Probabilities of one row of logits (max subtracted, in Double).
    static func softmax(_ logits: [Float]) -> [Double] {
        let top = Double(logits.max() ?? 0)
        let exponentials = logits.map { exp(Double($0) - top) }
        let sum = exponentials.reduce(0, +)
        return exponentials.map { $0 / sum }
    }
}

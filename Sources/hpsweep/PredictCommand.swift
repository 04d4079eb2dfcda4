import Cache
import Datasets
import Essentials
import Foundation
import Numerics
import SideTuning
import Sweep
import Training

/// `hpsweep predict MODEL INPUT…` / `hpsweep predict MODEL --cache DIR --split NAME`: a kept side
/// network (results/<sweep>/models/) run on images through the backbone it records (streamed: no cache
/// written) or on cached taps: one CSV row per example, and, where labels are known, accuracy,
/// per-class accuracy and the confusion matrix.
enum PredictCommand: Command {
    static let cache = Option<String>.text(
        "cache", "DIR",
        help: "An activation cache directory (one of .hpsweep-cache/<key>) holding the taps the model reads.")
    static let split = Option<String>.text("split", "NAME", help: "The cached split to predict (e.g. test).")
    static let out = Option<String>.text(
        "out", "FILE", help: "Where to write the predictions CSV (default predictions.csv).")
    static let top = Option<Int>.positiveInteger(
        "top", "K", help: "Classes listed per example, most probable first (default 5).")
    static let confusion = Option<String>.text(
        "confusion", "FILE", help: "Also write the confusion matrix as CSV (rows: true class, columns: predicted).")
    static let weights = Option<String>.text(
        "weights", "FILE",
        help: "The backbone's weights when the model does not record their file (or another copy; its hash is checked)."
    )
    static let labels = Option<String>.text(
        "labels", "FILE", help: "Labels (.npy) of a .npy images input: accuracy and the confusion matrix are printed.")
    static let allowOtherBackbone = Flag(
        "allow-other-backbone", help: "Use a cache whose backbone or preprocessing differs from the model's.")
    static let path = ["predict"]
    static let summary =
        "Predict with a kept model file (results/<sweep>/models/<trial>.safetensors): images through its backbone, or a cached split."
    static let usage =
        "MODEL.safetensors (IMAGE|DIR|LIST.txt|IMAGES.npy [--labels LABELS.npy] … [--weights FILE] | --cache DIR --split NAME) [--out FILE] [--top K] [--confusion FILE] [--allow-other-backbone]"
    static let options = [
        cache.spec, split.spec, weights.spec, labels.spec, out.spec, top.spec, confusion.spec, allowOtherBackbone.spec,
    ]

    static func run(_ arguments: ParsedArguments) throws {
        guard let given = arguments.positionals.first else {
            throw UsageError("'\(displayName)' needs a model file; usage: \(displayName) \(usage)")
        }
        let modelPath = try bestModel(given) ?? given
        let inputs = Array(arguments.positionals.dropFirst())
        let output = arguments[PredictCommand.out] ?? "predictions.csv"
        let top = try arguments.value(PredictCommand.top, default: 5)
        let confusionFile = arguments[PredictCommand.confusion]
        // Never onto what it reads (the model, images, lists, labels, weights), nor one output onto the other.
        let read =
            [modelPath] + inputs
            + [PredictCommand.labels, PredictCommand.weights].compactMap { arguments[$0] }
        let outputs = [("--out", output)] + (confusionFile.map { [("--confusion", $0)] } ?? [])
        for (option, file) in outputs {
            try ProtectedPaths.checkWritable(file, option: option, inputs: read, outputs: outputs)
        }
        let allowOther = arguments.isSet(PredictCommand.allowOtherBackbone)
        // Usage first, before any file is read.
        if arguments[PredictCommand.cache] != nil {
            guard inputs.isEmpty else {
                throw UsageError("give either --cache DIR --split NAME or input images, not both")
            }
            guard arguments[PredictCommand.split] != nil else {
                throw UsageError("--cache needs --split NAME (the cached split to predict)")
            }
        } else {
            guard !inputs.isEmpty else {
                throw UsageError(
                    "'\(displayName)' needs input images (files, directories or a .npy array) or --cache DIR --split NAME"
                )
            }
            if arguments[PredictCommand.split] != nil { throw UsageError("--split goes with --cache DIR") }
        }

        let model = try SideNetworkModel(path: modelPath)
        let classes = model.classes
        print(
            "hpsweep predict: \(modelPath): \(model.settings.method), \(classes) classes, trial \(model.extra["trial"] ?? "?") of sweep \(model.extra["sweep"] ?? "?")"
        )
        let logits: [Float], labels: [Int], names: [String], source: String
        if let cacheDirectory = arguments[PredictCommand.cache] {
            let split = arguments[PredictCommand.split]!
            let activations = try ActivationCache(directory: cacheDirectory)
            if let problem = model.incompatibility(with: activations, allowOtherBackbone: allowOther) {
                throw ModelFileError(path: modelPath, message: "cannot run on \(cacheDirectory): \(problem)")
            }
            labels = try activations.labels(split, classes: model.classes)
            logits = try model.logits(cache: activations, split: split)
            names = labels.indices.map(String.init)
            source = "\(split) of \(cacheDirectory)"
        } else {
            let split = try inputSplit(
                inputs, labels: arguments[PredictCommand.labels], classes: classes, names: model.classNames)
            let request = try model.cacheRequest(for: split, weights: arguments[PredictCommand.weights])
            let plan: CachePlan
            do { plan = try CachePlan(request) } catch CacheError.tapBeyondDepth(let tap, let depth) {
                // Only another backbone than the model's can lack a tap the model trained on.
                throw ModelFileError(
                    path: modelPath,
                    message:
                        "the backbone \(arguments[PredictCommand.weights].map { "of --weights \($0) " } ?? "")differs from the one the model was trained on: it has \(depth) blocks, and the model reads tap \(tap)"
                )
            }
            if !allowOther, let problem = model.mismatch(with: plan.ingredients) {
                throw ModelFileError(path: modelPath, message: "the backbone pass's \(problem)")
            }
            print("  backbone: \(plan.vit.config) over \(split.count) images, batch \(model.settings.batchSize)")
            let trained = TrainedModel(
                network: model.network(), parameters: model.parameters, evaluationBatch: model.settings.batchSize)
            let printer = ProgressPrinter()
            let start = Date()
            logits = try StreamingEvaluation.logits(
                trained, stream: BackboneStream(plan: plan, split: split, batchSize: model.settings.batchSize)
            ) { done in
                let rate = Double(done) / max(Date().timeIntervalSince(start), 1e-9)
                printer.report(
                    CacheProgress(
                        split: split.name, done: done, total: split.count, imagesDone: done, imagesTotal: split.count,
                        imagesPerSecond: rate))
            }
            labels = split.labels
            names =
                (split as? FileImageSplit)?.files ?? (split as? VTABSplit)?.imagePaths ?? (split as? FolderSplit)?
                .imagePaths
                ?? labels.indices.map(String.init)
            source = inputs.count == 1 ? inputs[0] : "\(inputs.count) inputs"
        }
        let count = labels.count
        let labelled = labels.allSatisfy { $0 >= 0 }

        var probabilities = [Float](repeating: 0, count: logits.count)
        softmaxForward(out: &probabilities, inp: logits, rows: count, cols: classes)
        // Classes by name where the model's data named them (class folders), else by number; the CSV
        // keeps the numbers and adds the names in its last two columns.
        let classNames = model.classNames
        func className(_ c: Int) -> String { classNames?[c] ?? String(c) }
        var csv =
            "example,label,predicted,probability"
            + (1..<min(top, classes)).map { ",top\($0 + 1),probability\($0 + 1)" }.joined()
            + (classNames == nil ? "" : ",label_name,predicted_name") + "\n"
        for example in 0..<count {
            let row = probabilities[(example * classes)..<((example + 1) * classes)]
            let ranked = row.indices.sorted { (row[$0], $1) > (row[$1], $0) }.map { $0 - example * classes }
            let label = labels[example]
            csv +=
                "\(csvField(names[example])),\(label >= 0 ? String(label) : ""),"
                + ranked.prefix(top).map {
                    "\($0),\(String(format: "%.6g", row[example * classes + $0]))"
                }.joined(separator: ",")
                + (classNames == nil
                    ? "" : ",\(label >= 0 ? csvField(className(label)) : ""),\(csvField(className(ranked[0])))")
                + "\n"
        }
        do { try replaceAtomically(output, with: csv) } catch { throw FileProblem("cannot write \(output): \(error)") }
        print("  \(count) examples from \(source); predictions: \(output)")
        guard labelled else { return }
        // Scored as the sweep scores (Training's evaluation): the same accuracy and confusion matrix.
        let score = EvaluationScore(logits: logits, labels: labels, classes: classes), confusion = score.confusion
        let correct = (0..<classes).map { confusion[$0][$0] }.reduce(0, +)
        print(
            String(format: "  accuracy %.4f (%d/%d)", score.accuracy, correct, count)
                + (model.extra["test_acc"].map { "; the sweep's final phase recorded test_acc \($0)" } ?? ""))
        print(
            "  per class (true class: accuracy, examples): "
                + (0..<classes).map { c -> String in
                    let n = confusion[c].reduce(0, +)
                    return n == 0
                        ? "\(className(c)): -"
                        : "\(className(c)): " + String(format: "%.3f (%d)", Double(confusion[c][c]) / Double(n), n)
                }.joined(separator: ", "))
        if classes <= 20 {
            print("  confusion (rows: true class, columns: predicted):")
            let width = max(5, (0..<classes).map { className($0).count + 1 }.max() ?? 5)
            func cell(_ text: String) -> String { String(repeating: " ", count: max(0, width - text.count)) + text }
            print("  " + cell("") + " " + (0..<classes).map { cell(className($0)) }.joined())
            for c in 0..<classes {
                print("  " + cell(className(c)) + " " + confusion[c].map { cell(String($0)) }.joined())
            }
        }
        if let confusionFile {
            var text = "true\\predicted," + (0..<classes).map { csvField(className($0)) }.joined(separator: ",") + "\n"
            for c in 0..<classes {
                text += "\(csvField(className(c)))," + confusion[c].map { String($0) }.joined(separator: ",") + "\n"
            }
            do { try replaceAtomically(confusionFile, with: text) } catch {
                throw FileProblem("cannot write \(confusionFile): \(error)")
            }
            print("  confusion matrix: \(confusionFile)")
        }
    }

    /// The images to predict: one NumPy images array (with `--labels`), one VTAB-1k list file (with its
    /// labels), or image files and directories of them (labels unknown).
    static func inputSplit(_ inputs: [String], labels: String?, classes: Int, names: [String]?) throws -> any ImageSplit
    {
        if inputs.count == 1, inputs[0].hasSuffix(".npy") {
            guard let labels else {
                throw UsageError("a .npy images input needs --labels LABELS.npy (its classes, for accuracy)")
            }
            return try NumpySplit(name: "images", images: inputs[0], labels: labels, classes: classes)
        }
        if labels != nil { throw UsageError("--labels goes with a .npy images input") }
        if inputs.count == 1, inputs[0].hasSuffix(".txt") {
            // A VTAB-1k list file, <root>/<task>/<split>.txt: its images and labels.
            let list = URL(fileURLWithPath: inputs[0])
            let task = list.deletingLastPathComponent()
            return try VTABSplit(
                root: task.deletingLastPathComponent().path, task: task.lastPathComponent,
                split: list.deletingPathExtension().lastPathComponent, classes: classes)
        }
        if inputs.count == 1, let folder = try classFolderSplit(inputs[0], classes: classes, names: names) {
            return folder
        }
        let split = try FileImageSplit(paths: inputs)
        guard split.count > 0 else { throw FileProblem("no JPEG or PNG files in \(inputs.joined(separator: ", "))") }
        return split
    }

    /// A directory of class folders and no images of its own (`test/<class>/<image>`), labelled by the
    /// folder names: the model's class names, or (a model whose data named no classes) the folders'
    /// sorted order. nil for any other input.
    static func classFolderSplit(_ path: String, classes: Int, names: [String]?) throws -> FolderSplit? {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue,
            let entries = try? FileManager.default.contentsOfDirectory(atPath: url.path),
            !entries.contains(where: { FileImageSplit.extensions.contains(($0 as NSString).pathExtension.lowercased()) }
            ),
            let folders = try? FolderSplit.classNames(
                root: url.deletingLastPathComponent().path, split: url.lastPathComponent),
            !folders.isEmpty
        else { return nil }
        if names == nil, folders.count > classes {
            throw FileProblem("\(path): \(folders.count) class folders, but the model has \(classes) classes")
        }
        return try FolderSplit(
            root: url.deletingLastPathComponent().path, split: url.lastPathComponent,
            classNames: names ?? folders, classesFrom: "the model's classes", someClasses: true)
    }

    /// A results directory's best final model (the first leaderboard row with a kept model file and a
    /// test score, else with a kept model file), said aloud; nil when `path` is no directory.
    static func bestModel(_ path: String) throws -> String? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            return nil
        }
        let board = (path as NSString).appendingPathComponent("leaderboard.csv")
        guard FileManager.default.fileExists(atPath: board) else {
            throw FileProblem(
                "\(path) is a directory without a leaderboard.csv: give a model file, or a sweep's results directory")
        }
        let file = try LeaderboardFile(path: board, catalogue: SideTuningCatalogue.catalogue)
        let kept = file.rows.filter { !$0.value("model_file").isEmpty }
        guard let best = kept.first(where: { !$0.value("test_acc").isEmpty }) ?? kept.first else {
            throw FileProblem("\(board): no trial kept a model file (keep_models \"none\"?)")
        }
        let model = (path as NSString).appendingPathComponent(best.value("model_file"))
        let primary = file.objectives?.first?.name ?? "val_acc"
        print(
            "hpsweep predict: \(path): using \(best.value("model_file")), trial \(best.value("trial")) (\(best.value("method"))), the best by \(primary)\(best.value("test_acc").isEmpty ? "" : " of the final models (test_acc \(best.value("test_acc")))")"
        )
        return model
    }
}

import Cache
import Essentials
import Foundation
import SideNets
import XCTest
import _TestSupport

@testable import Training

/// Whole training runs against PyTorch: each method trained 4 epochs by `TrialTrainer` and by
/// torch.optim.AdamW (scripts/make_training_fixtures.py) from the same initial parameters, in the same
/// batch order, must give the same epoch losses, accuracies and final logits. Gradient tests check a
/// step; this checks the optimiser, the schedule, the weight-decay masks, short last batches and
/// evaluation — everything between the steps.
///
/// Regenerate (after changing an initialisation, a case or the trainer on purpose):
///   swift build -c release --build-tests -Xswiftc -enable-testing && python3 scripts/make_training_fixtures.py
/// which runs this test with HPSWEEP_WRITE_TRAINING_FIXTURE=1 to write the initial parameters first.
final class TrainingOutcomeTests: XCTestCase {
    static let directory = fixturePath("training")
    static let (width, depth, heads, classes) = (12, 2, 2, 3)

    /// One trial per method, with its `init` and `norm_affine` varied across cases.
    static var cases: [(name: String, settings: TrialSettings)] {
        func make(
            _ method: String, lr: Float, rule: InitRule, affine: Bool?,
            _ sizes: (inout TrialSettings) -> Void = { _ in }
        ) -> TrialSettings {
            var s = TrialSettings(method: method)
            s.learningRate = lr; s.weightDecay = 0.05; s.batchSize = 16; s.epochs = 4; s.warmupFraction = 0.25
            s.initRule = rule; s.normAffine = affine; s.seed = 2222
            sizes(&s)
            return s
        }
        return [
            ("linear", make("linear", lr: 0.05, rule: .fanIn, affine: true)),
            ("linear-timm-plain", make("linear", lr: 0.05, rule: .timm, affine: false)),
            ("adapter", make("adapter", lr: 0.01, rule: .xavier, affine: true) { $0.values["bottleneck"] = 4 }),
            (
                "last",
                make("last", lr: 0.02, rule: .fanIn, affine: true) {
                    $0.values["rank"] = 4; $0.values["heads"] = 2
                }
            ),
            ("lst", make("lst", lr: 0.01, rule: .fanIn, affine: nil) { $0.values["reduction"] = 2 }),
        ]
    }

    func trainer(_ settings: TrialSettings) throws -> TrialTrainer {
        let cache = try ActivationCache(directory: (Self.directory as NSString).appendingPathComponent("cache"))
        return try TrialTrainer(
            settings: settings,
            data: TrialData(cache: cache, trainSplit: "train", evalSplit: "val", classes: Self.classes),
            backboneWidth: Self.width, backboneDepth: Self.depth, backboneHeads: Self.heads)
    }

    func initialPath(_ name: String) -> String { "\(Self.directory)/initial/\(name).safetensors" }

    /// With HPSWEEP_WRITE_TRAINING_FIXTURE=1: hpsweep's initial parameters and batch order per case,
    /// for the PyTorch script to start from.
    func writeInitialParameters() throws {
        try FileManager.default.createDirectory(atPath: "\(Self.directory)/initial", withIntermediateDirectories: true)
        for (name, settings) in Self.cases {
            let trainer = try trainer(settings)
            let run = try trainer.begin(untilEpoch: nil)
            let order = (0..<settings.epochs).map {
                TrialTrainer.batches(
                    examples: run.trainLabels.count, batchSize: settings.batchSize,
                    dataOrderSeed: settings.dataOrderSeed, epoch: $0)
            }
            let orderText = JSONValue.array(order.map { .array($0.map { .array($0.map { .int($0) }) }) }).canonicalText
            try SideNetworkModel(
                settings: settings, classes: Self.classes, backboneWidth: Self.width, backboneDepth: Self.depth,
                backboneHeads: Self.heads, parameters: run.state.parameters, extra: ["batch_order": orderText]
            )
            .write(to: initialPath(name))
        }
    }

    struct Expected: Decodable {
        struct Epoch: Decodable { let train_loss: Double; let val_loss: Double; let val_acc: Double }
        let epochs: [Epoch]
        let val_logits: [Double]
    }

    func testEveryMethodTrainsAsPyTorchDoesFromTheSameStart() throws {
        if ProcessInfo.processInfo.environment["HPSWEEP_WRITE_TRAINING_FIXTURE"] == "1" {
            return try writeInitialParameters()
        }
        let expected = try JSONDecoder().decode(
            [String: Expected].self,
            from: Data(contentsOf: URL(fileURLWithPath: "\(Self.directory)/expected.json")))
        XCTAssertEqual(Set(expected.keys), Set(Self.cases.map(\.name)))
        for (name, settings) in Self.cases {
            guard let want = expected[name] else { continue }
            let trainer = try trainer(settings)
            // The fixture started where this trainer starts; else it is stale, not a training difference.
            let start = try SideNetworkModel(path: initialPath(name))
            XCTAssertEqual(
                start.parameters, try trainer.begin(untilEpoch: nil).state.parameters,
                "\(name): hpsweep's initialisation changed: regenerate with scripts/make_training_fixtures.py")
            XCTAssertEqual(start.settings, settings, name)
            let result = try trainer.run()
            XCTAssertEqual(result.status, .finished, name)
            XCTAssertEqual(result.history.count, want.epochs.count, name)
            for (got, want) in zip(result.history, want.epochs) {
                XCTAssertEqual(
                    Double(got.trainLoss), want.train_loss, accuracy: 2e-4 * max(1, want.train_loss),
                    "\(name) epoch \(got.epoch) train loss")
                XCTAssertEqual(
                    Double(got.valLoss ?? .nan), want.val_loss, accuracy: 2e-4 * max(1, want.val_loss),
                    "\(name) epoch \(got.epoch) val loss")
                XCTAssertEqual(
                    Double(got.valAccuracy ?? -1), want.val_acc, accuracy: 1e-6,
                    "\(name) epoch \(got.epoch) val accuracy")
            }
            let labels = try trainer.data.cache.labels("val")
            let logits = trainer.network.forward(
                trainer.trainedParameters!, try trainer.batch("val", Array(labels.indices), labels: labels))
            XCTAssertEqual(logits.count, want.val_logits.count, name)
            let worst = zip(logits, want.val_logits).map { abs(Double($0) - $1) / max(1, abs($1)) }.max() ?? .infinity
            XCTAssertLessThan(worst, 1e-3, "\(name): final validation logits differ from PyTorch's by \(worst)")
            // The losses moved: a run that learnt nothing would match a fixture that learnt nothing.
            XCTAssertLessThan(want.epochs.last!.train_loss, want.epochs.first!.train_loss, name)
        }
    }
}

import Backbone
import Cache
import Foundation
import Numerics
import SideNets
import Training
import XCTest
import _TestSupport

/// Model files on their own: every method round-trips, and a file that cannot be used is refused in
/// one line naming it.
final class ModelFileTests: XCTestCase {
    func model(_ method: String) -> SideNetworkModel {
        var settings = TrialSettings(method: method)
        settings.setDeclared(["rank": 4, "heads": 2, "bottleneck": 8, "reduction": 4])
        settings.learningRate = 0.0055
        var model = SideNetworkModel(
            settings: settings, classes: 5, backboneWidth: 24, backboneDepth: 2, backboneHeads: 2, parameters: [])
        model.parameters = randomArray(model.network().layout.count, seed: 3)
        model.extra = ["trial": "t0123456789", "test_acc": "0.5"]
        return model
    }

    func testEveryMethodRoundTrips() throws {
        let dir = temporaryDirectory(self)
        for method in SideTuningMethods.names {
            let original = model(method), path = dir.path + "/\(method).safetensors"
            try original.write(to: path)
            let read = try SideNetworkModel(path: path)
            XCTAssertEqual(read.settings, original.settings, method)
            XCTAssertEqual(read.parameters, original.parameters, "\(method): every parameter, bit for bit")
            XCTAssertEqual([read.classes, read.backboneWidth, read.backboneDepth, read.backboneHeads], [5, 24, 2, 2])
            XCTAssertEqual(read.extra, original.extra)
            // The tensors carry the layout's names and shapes (what a PyTorch reader loads).
            let file = try SafeTensorsFile(path: path)
            XCTAssertEqual(file.names, original.network().layout.entries.map(\.name).sorted())
            XCTAssertEqual(file.metadata["format"], "hpsweep-side-network")
            XCTAssertEqual(file.metadata["method"], method)
        }
    }

    /// Model files written by Python from docs/formats.md (scripts/make_model_fixtures.py), read by
    /// hpsweep: its logits on the fixture's taps match those scripts/sidenet_torch.py computed.
    func testModelFilesWrittenElsewhereGiveSidenetTorchsLogits() throws {
        let fixture = try SafeTensorsFile(path: fixturePath("model_logits.safetensors"))
        var taps: [Tap: Tensor] = [:]
        for i in 0...4 { taps[.block(i)] = try fixture.tensor("taps.z\(i)") }
        let batch = TapBatch(taps: taps, labels: [0, 0, 0])
        for method in SideTuningMethods.names {
            let model = try SideNetworkModel(path: fixturePath("models/\(method).safetensors"))
            XCTAssertEqual(model.settings.method, method)
            let logits = model.network().forward(model.parameters, batch)
            assertClose(
                logits, try fixture.tensor("\(method).logits").storage, rtol: 1e-4, "\(method) logits"
            )
        }
    }

    /// Numbers in a model file that would size the network (an edited or forged file) are bounded
    /// before anything is allocated, each named with its bound.
    func testHugeNumbersInAModelFileAreRefusedBeforeAllocating() throws {
        let dir = temporaryDirectory(self)
        let good = dir.path + "/good.safetensors"
        try model("last").write(to: good)
        let file = try SafeTensorsFile(path: good)
        let tensors = try file.names.map { (name: $0, tensor: try file.tensor($0)) }
        let settings = file.metadata["settings"]!
        for (key, value, expected) in [
            ("classes", "\(1 << 62)", "metadata 'classes' must be an integer from 1 to 1048576"),
            ("backbone_width", "\(1 << 40)", "metadata 'backbone_width' must be an integer from 1 to 65536"),
            ("backbone_depth", "1000000", "metadata 'backbone_depth' must be an integer from 1 to 1024"),
            ("settings", settings.replacingOccurrences(of: "\"rank\":4", with: "\"rank\":1000000000"), "settings"),
            (
                "settings",
                settings.replacingOccurrences(of: "\"batchSize\":64", with: "\"batchSize\":4611686018427387904"),
                "at most 1048576"
            ),
            ("classes", "1000", "tensor 'head.weight' has shape [5, 24], the network needs [1000, 24]"),
        ] {
            var metadata = file.metadata
            metadata[key] = value
            let path = dir.path + "/bad.safetensors"
            try SafeTensorsWriter.write(tensors, metadata: metadata, to: path)
            XCTAssertThrowsError(try SideNetworkModel(path: path), "\(key) \(value)") { error in
                XCTAssertTrue("\(error)".contains(expected), "\(error)")
            }
        }
    }

    /// A NaN or infinite parameter would answer class 0 with probability "nan": the file is refused.
    func testNonFiniteParametersAreRefused() throws {
        let dir = temporaryDirectory(self)
        for bad in [Float.nan, .infinity] {
            var m = model("last")
            m.parameters[7] = bad
            let path = dir.path + "/bad.safetensors"
            try m.write(to: path)
            XCTAssertThrowsError(try SideNetworkModel(path: path)) { error in
                XCTAssertTrue("\(error)".contains(path) && "\(error)".contains("must be finite"), "\(error)")
            }
        }
    }

    func testUnusableFilesAreRefusedNamingThem() throws {
        let dir = temporaryDirectory(self)
        let good = model("linear"), path = dir.path + "/m.safetensors"
        try good.write(to: path)
        let file = try SafeTensorsFile(path: path)
        func rewrite(
            metadata change: (inout [String: String]) -> Void = { _ in },
            tensors: [(name: String, tensor: Tensor)]? = nil
        ) throws -> String {
            var metadata = file.metadata
            change(&metadata)
            let out = dir.path + "/bad-\(UUID().uuidString).safetensors"
            try SafeTensorsWriter.write(
                try tensors ?? file.names.map { (name: $0, tensor: try file.tensor($0)) }, metadata: metadata, to: out)
            return out
        }
        func refused(_ path: String, _ text: String, line: UInt = #line) {
            XCTAssertThrowsError(try SideNetworkModel(path: path), line: line) { error in
                let message = "\(error)"
                XCTAssertTrue(
                    message.hasPrefix(path) && message.contains(text) && !message.contains("\n"), message, line: line)
            }
        }
        refused(try rewrite { $0["format"] = nil }, "not an hpsweep model file")
        refused(try rewrite { $0["format_version"] = "2" }, "model format version 2 is not supported")
        refused(try rewrite { $0["settings"] = "{}" }, "metadata 'settings'")
        refused(try rewrite { $0["classes"] = "0" }, "'classes' must be an integer from 1 to 1048576, got 0")
        refused(
            try rewrite(tensors: [(name: "head.weight", tensor: try file.tensor("head.weight"))]),
            "missing tensor 'head.bias'")
        refused(
            try rewrite(tensors: [
                (name: "head.weight", tensor: Tensor(shape: [5, 23])),
                (name: "head.bias", tensor: try file.tensor("head.bias")),
            ]),
            "tensor 'head.weight' has shape [5, 23], the network needs [5, 24]")
        refused(
            try rewrite(
                tensors: file.names.map { (name: $0, tensor: try file.tensor($0)) } + [
                    (name: "extra", tensor: Tensor(shape: [1]))
                ]),
            "tensor 'extra' is not a parameter")
    }
}

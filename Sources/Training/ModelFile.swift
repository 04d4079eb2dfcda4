import Backbone
import Essentials
import Foundation
import Numerics
import SideNets

/// A trained side network as a file (docs/formats.md): a safetensors file with one F32 tensor per
/// entry of the network's parameter layout, under the layout's names, and in `__metadata__` what it
/// takes to use it without the sweep file: the format and its version, the method and every setting,
/// the class count, the backbone's shape, and whatever the writer adds (`extra`: the cache key and its
/// ingredients — backbone identity, preprocessing, taps, token policy — metrics, trial, sweep, version).
public struct SideNetworkModel {
    public static let format = "hpsweep-side-network"
    public static let formatVersion = 1

    public var settings: TrialSettings
    public var classes: Int
    public var backboneWidth: Int, backboneDepth: Int, backboneHeads: Int
    /// In the layout's order (`network().layout`).
    public var parameters: [Float]
    /// Everything else the file records, as written (strings; JSON text where structured).
    public var extra: [String: String]

    /// The class names in label order, when the sweep's data named its classes (class folders):
    /// the metadata's `class_names`, a JSON list of as many strings as classes.
    public var classNames: [String]? {
        guard let text = extra["class_names"], let items = (try? JSONValue.parse(Data(text.utf8)))?.array,
            items.count == classes
        else { return nil }
        let names = items.compactMap(\.string)
        return names.count == classes ? names : nil
    }

    public init(
        settings: TrialSettings, classes: Int, backboneWidth: Int, backboneDepth: Int, backboneHeads: Int,
        parameters: [Float], extra: [String: String] = [:]
    ) {
        self.settings = settings; self.classes = classes
        self.backboneWidth = backboneWidth; self.backboneDepth = backboneDepth; self.backboneHeads = backboneHeads
        self.parameters = parameters; self.extra = extra
    }

    /// The network these settings build (its parameters are `parameters`).
    public func network() -> SideNetwork {
        settings.makeNetwork(width: backboneWidth, depth: backboneDepth, backboneHeads: backboneHeads, classes: classes)
    }

    /// Writes the model atomically (temporary, fsync, rename): a reader or a crash sees the old file or
    /// the new one.
    public func write(to path: String) throws {
        let layout = network().layout
        precondition(
            layout.count == parameters.count,
            "SideNetworkModel.write: \(parameters.count) parameters for a layout of \(layout.count)")
        let tensors = layout.entries.map { entry in
            (name: entry.name, tensor: Tensor(shape: entry.shape, storage: Array(parameters[entry.range])))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var metadata = extra
        metadata["format"] = Self.format
        metadata["format_version"] = String(Self.formatVersion)
        metadata["method"] = settings.method
        metadata["settings"] = String(decoding: try encoder.encode(settings), as: UTF8.self)
        metadata["classes"] = String(classes)
        metadata["backbone_width"] = String(backboneWidth)
        metadata["backbone_depth"] = String(backboneDepth)
        metadata["backbone_heads"] = String(backboneHeads)
        try SafeTensorsWriter.write(tensors, metadata: metadata, to: path)
    }

    /// Reads a model file, refusing (one line naming the file) another format or version, settings that
    /// do not build a network, and tensors that do not match its layout.
    public init(path: String) throws {
        let file = try SafeTensorsFile(path: path)
        let m = file.metadata
        func fail(_ message: String) -> ModelFileError { ModelFileError(path: path, message: message) }
        guard m["format"] == Self.format else {
            throw fail("not an hpsweep model file (its metadata has no \"format\": \"\(Self.format)\")")
        }
        guard let version = m["format_version"].flatMap(Int.init), version == Self.formatVersion else {
            throw fail(
                "model format version \(m["format_version"] ?? "missing") is not supported (this hpsweep reads version \(Self.formatVersion))"
            )
        }
        // Each bounded before any network is sized from it (a file may have been edited or forged).
        func integer(_ key: String, maximum: Int) throws -> Int {
            guard let value = m[key].flatMap(Int.init), (1...maximum).contains(value) else {
                throw fail("metadata '\(key)' must be an integer from 1 to \(maximum), got \(m[key] ?? "nothing")")
            }
            return value
        }
        let settings: TrialSettings
        do { settings = try JSONDecoder().decode(TrialSettings.self, from: Data((m["settings"] ?? "").utf8)) } catch {
            throw fail("metadata 'settings' is not the settings of a side network")
        }
        let (classes, width, depth, heads) = (
            try integer("classes", maximum: 1 << 20), try integer("backbone_width", maximum: 1 << 16),
            try integer("backbone_depth", maximum: 1024), try integer("backbone_heads", maximum: 4096)
        )
        if let problem = settings.problem(width: width, depth: depth, backboneHeads: heads) {
            throw fail("settings cannot build a network: \(problem)")
        }
        self.init(
            settings: settings, classes: classes, backboneWidth: width, backboneDepth: depth, backboneHeads: heads,
            parameters: [])
        let layout = network().layout
        // Every tensor the settings describe is checked against the file before anything is allocated:
        // settings edited to describe a huge network find no tensors of its size.
        for entry in layout.entries {
            guard let shape = file.shape(of: entry.name) else {
                throw fail("missing tensor '\(entry.name)' of the \(settings.method) network")
            }
            guard shape == entry.shape else {
                throw fail("tensor '\(entry.name)' has shape \(shape), the network needs \(entry.shape)")
            }
        }
        var parameters = [Float](repeating: 0, count: layout.count)
        for entry in layout.entries {
            let tensor = try file.tensor(entry.name)
            // A NaN or infinity would make every prediction "nan" (class 0): refuse it, as backbones are.
            if let bad = tensor.storage.firstIndex(where: { !$0.isFinite }) {
                throw fail(
                    "tensor '\(entry.name)' holds \(tensor.storage[bad]) at element \(bad); a model's parameters must be finite"
                )
            }
            parameters.replaceSubrange(entry.range, with: tensor.storage)
        }
        let unknown = Set(file.names).subtracting(layout.entries.map(\.name))
        if let name = unknown.sorted().first {
            throw fail("tensor '\(name)' is not a parameter of the \(settings.method) network")
        }
        self.parameters = parameters
        let own: Set<String> = [
            "format", "format_version", "method", "settings", "classes", "backbone_width", "backbone_depth",
            "backbone_heads",
        ]
        extra = m.filter { !own.contains($0.key) }
    }
}

/// A model file that cannot be used, with its path.
public struct ModelFileError: Error, CustomStringConvertible {
    public let path: String, message: String
    public init(path: String, message: String) { self.path = path; self.message = message }
    public var description: String { "\(path): \(message)" }
}

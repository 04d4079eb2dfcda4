import Backbone
import Foundation
import Numerics
import XCTest
import _TestSupport

/// Malformed checkpoints give a typed error naming the file (and tensor), never a crash.
final class MalformedWeightsTests: XCTestCase {
    var dir: URL!
    override func setUp() { dir = temporaryDirectory(self) }

    private func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// A safetensors file with a literal JSON header and `dataBytes` zero bytes of data.
    private func writeRaw(_ name: String, header: String, dataBytes: Int = 0, declaredLength: UInt64? = nil) throws
        -> String
    {
        var data = Data()
        let headerData = Data(header.utf8)
        withUnsafeBytes(of: (declaredLength ?? UInt64(headerData.count)).littleEndian) { data.append(contentsOf: $0) }
        data.append(headerData)
        data.append(Data(count: dataBytes))
        try data.write(to: URL(fileURLWithPath: path(name)))
        return path(name)
    }

    private func expect(_ expected: (WeightsError) -> Bool, _ body: () throws -> Void, line: UInt = #line) {
        XCTAssertThrowsError(try body(), line: line) { error in
            guard let weightsError = error as? WeightsError else {
                return XCTFail("not a WeightsError: \(error)", line: line)
            }
            XCTAssertTrue(expected(weightsError), "unexpected \(weightsError)", line: line)
            XCTAssertFalse(weightsError.description.contains("\n"), "one line", line: line)
        }
    }

    func testTruncatedFileNamesFileAndTensor() throws {
        let original = try Data(contentsOf: URL(fileURLWithPath: fixturePath("vit_micro_timm.safetensors")))
        try original.prefix(original.count / 2).write(to: URL(fileURLWithPath: path("cut.safetensors")))
        expect({
            if case .truncated(let p, let detail) = $0 {
                return p == self.path("cut.safetensors") && detail.contains("tensor '")
            }; return false
        }) {
            _ = try SafeTensorsFile(path: path("cut.safetensors"))
        }
        try original.prefix(5).write(to: URL(fileURLWithPath: path("tiny.safetensors")))
        expect({
            if case .truncated = $0 { return true }; return false
        }) { _ = try SafeTensorsFile(path: path("tiny.safetensors")) }
        try Data().write(to: URL(fileURLWithPath: path("empty.safetensors")))
        expect({
            if case .truncated = $0 { return true }; return false
        }) { _ = try LoadedViT(path: path("empty.safetensors")) }
    }

    func testBadHeaders() throws {
        let badJSON = try writeRaw("json.safetensors", header: "{\"a\": {\"dtype\": ")
        expect({
            if case .badHeader(let p, let d) = $0 { return p == badJSON && d.contains("JSON") }; return false
        }) {
            _ = try SafeTensorsFile(path: badJSON)
        }
        let notObject = try writeRaw("array.safetensors", header: "[1, 2]")
        expect({
            if case .badHeader = $0 { return true }; return false
        }) { _ = try SafeTensorsFile(path: notObject) }
        let huge = try writeRaw("huge.safetensors", header: "{}", declaredLength: 1 << 40)
        expect({
            if case .badHeader(_, let d) = $0 { return d.contains("exceeds") }; return false
        }) { _ = try SafeTensorsFile(path: huge) }
        let past = try writeRaw("past.safetensors", header: "{}", declaredLength: 1000)
        expect({
            if case .truncated = $0 { return true }; return false
        }) { _ = try SafeTensorsFile(path: past) }
        let negative = try writeRaw(
            "neg.safetensors", header: #"{"w": {"dtype": "F32", "shape": [2], "data_offsets": [-8, 0]}}"#, dataBytes: 8)
        expect({
            if case .badHeader(_, let d) = $0 { return d.contains("'w'") }; return false
        }) { _ = try SafeTensorsFile(path: negative) }
    }

    func testUnsupportedDTypeNamesTensor() throws {
        let file = try writeRaw(
            "i64.safetensors",
            header: #"{"blocks.0.norm1.weight": {"dtype": "I64", "shape": [2], "data_offsets": [0, 16]}}"#,
            dataBytes: 16)
        expect({
            if case .unsupportedDType(_, let t, let d) = $0 { return t == "blocks.0.norm1.weight" && d == "I64" };
            return false
        }) {
            _ = try SafeTensorsFile(path: file)
        }
    }

    func testExtentsMustMatchOffsets() throws {
        let mismatch = try writeRaw(
            "ext.safetensors", header: #"{"w": {"dtype": "F16", "shape": [3, 2], "data_offsets": [0, 8]}}"#,
            dataBytes: 8)
        expect({
            if case .badTensorExtent(_, let t, _) = $0 { return t == "w" }; return false
        }) { _ = try SafeTensorsFile(path: mismatch) }
        let overflow = try writeRaw(
            "ovf.safetensors",
            header: #"{"w": {"dtype": "F32", "shape": [1099511627776, 1099511627776], "data_offsets": [0, 8]}}"#,
            dataBytes: 8)
        expect({
            if case .badTensorExtent(_, let t, let d) = $0 { return t == "w" && d.contains("overflow") }; return false
        }) {
            _ = try SafeTensorsFile(path: overflow)
        }
        let beyond = try writeRaw(
            "beyond.safetensors", header: #"{"w": {"dtype": "F32", "shape": [1000000], "data_offsets": [0, 4000000]}}"#,
            dataBytes: 8)
        expect({
            if case .truncated(_, let d) = $0 { return d.contains("'w'") }; return false
        }) { _ = try SafeTensorsFile(path: beyond) }
    }

    /// The micro ViT's tensors with one replaced (or removed when `replacement` is nil).
    private func microWith(_ name: String, _ replacement: Tensor?) throws -> String {
        let source = try SafeTensorsFile(path: fixturePath("vit_micro_timm.safetensors"))
        var tensors: [(name: String, tensor: Tensor)] = []
        for key in source.names {
            if key == name {
                if let replacement { tensors.append((key, replacement)) }
            } else {
                tensors.append((key, try source.tensor(key)))
            }
        }
        let out = path("edited.safetensors")
        try SafeTensorsWriter.write(tensors, to: out)
        return out
    }

    func testShapeMismatchNamesTensor() throws {
        let file = try microWith("blocks.1.attn.proj.weight", Tensor(shape: [48, 47]))
        expect({
            if case .shapeMismatch(let p, let t, let e, let f) = $0 {
                return p == file && t == "blocks.1.attn.proj.weight" && e == [48, 48] && f == [48, 47]
            }
            return false
        }) { _ = try LoadedViT(path: file, heads: 4) }
    }

    func testNonFiniteWeightsAreRefusedWhenLoaded() throws {
        for value in [Float.nan, .infinity, -.infinity] {
            var poisoned = Tensor(shape: [48])
            poisoned.storage[7] = value
            let file = try microWith("blocks.0.norm1.bias", poisoned)
            expect({
                if case .nonFinite(let p, let t, 7, _) = $0 { return p == file && t == "blocks.0.norm1.bias" };
                return false
            }) {
                _ = try LoadedViT(path: file, heads: 4)
            }
        }
    }

    func testMissingTensorNamesTensor() throws {
        let file = try microWith("norm.bias", nil)
        expect({
            if case .missingTensor(let p, let t) = $0 { return p == file && t == "norm.bias" }; return false
        }) {
            _ = try LoadedViT(path: file, heads: 4)
        }
    }

    func testMissingFileAndPickle() throws {
        expect({
            if case .unableToOpen(let p, _) = $0 { return p == "/nonexistent/w.safetensors" }; return false
        }) {
            _ = try LoadedViT(path: "/nonexistent/w.safetensors")
        }
        expect({
            if case .badHeader(_, let d) = $0 { return d.contains("pickle") }; return false
        }) { _ = try LoadedViT(path: "model.bin") }
    }

    func testTruncatedAndCorruptNPZ() throws {
        let original = try Data(contentsOf: URL(fileURLWithPath: fixturePath("vit_micro_google.npz")))
        try original.prefix(original.count - 100).write(to: URL(fileURLWithPath: path("cut.npz")))
        expect({
            if case .badHeader(let p, _) = $0 { return p == self.path("cut.npz") }; return false
        }) { _ = try LoadedViT(path: path("cut.npz")) }
        // Flip one byte inside the first member's data: its CRC-32 no longer matches.
        var corrupt = original
        corrupt[200] ^= 0xFF
        try corrupt.write(to: URL(fileURLWithPath: path("corrupt.npz")))
        expect({
            if case .badHeader(_, let d) = $0 { return d.contains("CRC") || d.contains(".npy") }; return false
        }) {
            _ = try LoadedViT(path: path("corrupt.npz"))
        }
    }

    func testSafeTensorsWriterRoundTripAllDTypes() throws {
        let t = Tensor(shape: [2, 3], storage: [0, 1, -2, 0.5, 1024, -0.25])
        for dtype in ScalarType.allCases {
            let out = path("rt-\(dtype.rawValue).safetensors")
            try SafeTensorsWriter.write([("t", t)], dtype: dtype, metadata: ["format": "pt"], to: out)
            let file = try SafeTensorsFile(path: out)
            XCTAssertEqual(try file.tensor("t"), t)
            XCTAssertEqual(file.scalarType(of: "t"), dtype)
            XCTAssertEqual(file.metadata["format"], "pt")
        }
    }
}

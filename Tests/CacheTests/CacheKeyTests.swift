import Backbone
import Cache
import Datasets
import Essentials
import Foundation
import Numerics
import XCTest
import _TestSupport

/// The cache key changes exactly when an ingredient of the activations changes.
final class CacheKeyTests: XCTestCase {
    func testKeyChangesExactlyWithIngredients() throws {
        let dir = temporaryDirectory(self)
        let split = try writeRandomSplit("train800", count: 4, seed: 1, in: dir)
        func key(_ change: (inout CacheRequest) -> Void = { _ in }) throws -> String {
            var request = CacheRequest(backbone: .random(config: tinyConfig, seed: 0), splits: [split])
            change(&request)
            return try CachePlan(request).key
        }
        let base = try key()
        XCTAssertEqual(try key(), base, "deterministic")
        let variants: [(String, (inout CacheRequest) -> Void)] = [
            ("dtype", { $0.dtype = .bfloat16 }),
            ("compute", { $0.compute = .bf16 }),
            ("token policy", { $0.tokenPolicy = .cls }),
            ("taps", { $0.taps = [.block(2)] }),
            ("taps + norm", { $0.taps = [.block(0), .block(1), .block(2), .normalized] }),
            ("mean", { $0.mean = [0.5, 0.5, 0.5] }),
            ("std", { $0.std = [0.5, 0.5, 0.5] }),
            ("backbone seed", { $0.backbone = .random(config: tinyConfig, seed: 1) }),
            (
                "backbone config",
                {
                    var c = tinyConfig; c.layerNormEps = 1e-5; $0.backbone = .random(config: c, seed: 0)
                }
            ),
        ]
        var seen: Set<String> = [base]
        for (name, change) in variants {
            let k = try key(change)
            XCTAssertFalse(seen.contains(k), "changing \(name) must change the key")
            seen.insert(k)
        }
        // fp32 compute adds no ingredient: caches built before bf16 existed keep their keys.
        var request = CacheRequest(backbone: .random(config: tinyConfig, seed: 0), splits: [split])
        guard case .object(let fields) = try CachePlan(request).ingredients else {
            return XCTFail("ingredients are an object")
        }
        XCTAssertNil(fields["compute"])
        request.compute = .bf16
        guard case .object(let bf16Fields) = try CachePlan(request).ingredients else {
            return XCTFail("ingredients are an object")
        }
        XCTAssertEqual(bf16Fields["compute"], .string("bf16"))
        // Taps listed in another order or twice are the same request.
        XCTAssertEqual(try key { $0.taps = [.block(2), .block(0), .block(1), .block(0)] }, base)
    }

    func testKeyFollowsFileContentsNotNames() throws {
        let a = temporaryDirectory(self), b = temporaryDirectory(self)
        let original = try writeRandomSplit("train800", count: 4, seed: 1, in: a)
        let copy = try writeRandomSplit("train800", count: 4, seed: 1, in: b)  // same bytes elsewhere
        let changed = try writeRandomSplit("train800", count: 4, seed: 2, in: temporaryDirectory(self))
        func key(_ split: NumpySplit) throws -> String {
            try CachePlan(CacheRequest(backbone: .random(config: tinyConfig, seed: 0), splits: [split])).key
        }
        XCTAssertEqual(try key(original), try key(copy), "moving the dataset keeps the key")
        XCTAssertNotEqual(try key(original), try key(changed), "other image bytes, other key")
        // One label changed: another key.
        var labels = try Data(contentsOf: URL(fileURLWithPath: original.labelsPath))
        labels[labels.count - 8] ^= 1
        try labels.write(to: URL(fileURLWithPath: copy.labelsPath))
        let relabelled = try NumpySplit(name: "train800", images: copy.imagesPath, labels: copy.labelsPath)
        XCTAssertNotEqual(try key(original), try key(relabelled))
    }

    func testWeightsFileContentsAreHashed() throws {
        let dir = temporaryDirectory(self)
        let split = try writeRandomSplit("train800", count: 2, seed: 1, in: dir)
        let weights = dir.appendingPathComponent("w.safetensors").path
        try FileManager.default.copyItem(atPath: fixturePath("vit_micro_timm.safetensors"), toPath: weights)
        func key() throws -> String {
            try CachePlan(CacheRequest(backbone: .weights(path: weights, heads: 4, layerNormEps: nil), splits: [split]))
                .key
        }
        let before = try key()
        // Rewrite one weight value (same size, same names): the key must change.
        let file = try SafeTensorsFile(path: weights)
        var tensors = try file.names.map { ($0, try file.tensor($0)) }
        let index = tensors.firstIndex { $0.0 == "norm.bias" }!
        tensors[index].1.storage[0] += 1
        try SafeTensorsWriter.write(tensors.map { (name: $0.0, tensor: $0.1) }, to: weights)
        XCTAssertNotEqual(try key(), before)
    }

    func testJSONValueMatchesPython() {
        // json.dumps({"b": [1, "x"], "a": {"é": "q\"\n"}}, sort_keys=True, separators=(",", ":"))
        let value: JSONValue = .object(["b": .array([.int(1), .string("x")]), "a": .object(["é": .string("q\"\n")])])
        XCTAssertEqual(value.canonicalText, #"{"a":{"\u00e9":"q\"\n"},"b":[1,"x"]}"#)
        XCTAssertEqual(JSONValue.float32(1e-6).canonicalText, "\"1e-06\"", "str(numpy.float32(1e-6))")
        XCTAssertEqual(JSONValue.float32(0.485).canonicalText, "\"0.485\"")
    }

    func testSHA256KnownAnswers() {
        XCTAssertEqual(SHA256.hash(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(
            SHA256.hash("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        var streamed = SHA256()
        for _ in 0..<1000 { streamed.update(String(repeating: "a", count: 1000)) }
        XCTAssertEqual(
            streamed.finalize(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0", "one million 'a'")
    }
}

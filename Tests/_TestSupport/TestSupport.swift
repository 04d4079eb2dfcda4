import Essentials
import Foundation
import Numerics
import XCTest

/// Path of a committed fixture under Tests/Fixtures (made by scripts/make_fixtures.py).
public func fixturePath(_ name: String) -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures").appendingPathComponent(name).path
}

/// A fresh temporary directory, removed when the test case finishes.
public func temporaryDirectory(_ testCase: XCTestCase) -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("hpsweep-tests-\(UUID().uuidString)")
    try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    testCase.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
}

/// Asserts `max|actual − expected| / max|expected| <= rtol` (the parity measure of this project),
/// printing the worst element when it fails.
public func assertClose(
    _ actual: Tensor, _ expected: Tensor, rtol: Float, _ message: String = "",
    file: StaticString = #filePath, line: UInt = #line
) {
    guard actual.shape == expected.shape else {
        XCTFail("\(message): shape \(actual.shape) vs expected \(expected.shape)", file: file, line: line)
        return
    }
    let error = actual.relativeError(to: expected)
    if !(error <= rtol) {
        var worst = 0
        for i in 0..<actual.count
        where abs(actual.storage[i] - expected.storage[i]) > abs(actual.storage[worst] - expected.storage[worst]) {
            worst = i
        }
        XCTFail(
            "\(message): relative error \(error) > \(rtol); worst at flat index \(worst): \(actual.storage[worst]) vs \(expected.storage[worst])",
            file: file, line: line)
    }
}

/// Asserts arrays are close in the same measure as `assertClose`.
public func assertClose(
    _ actual: [Float], _ expected: [Float], rtol: Float, _ message: String = "",
    file: StaticString = #filePath, line: UInt = #line
) {
    assertClose(
        Tensor(shape: [actual.count], storage: actual), Tensor(shape: [expected.count], storage: expected),
        rtol: rtol, message, file: file, line: line)
}

/// Random normal values from a fixed seed.
public func randomArray(_ count: Int, seed: UInt64, scale: Float = 1) -> [Float] {
    var rng = SeededRNG(seed: seed)
    return (0..<count).map { _ in rng.nextNormal() * scale }
}

/// Central finite differences of a scalar function of `values`, each coordinate perturbed by ±eps.
/// The loss is accumulated in Double; the forward itself runs in Float, so eps is chosen per op
/// (ggml's test-backend-ops does the same) and the tolerance reflects eps² truncation plus Float
/// rounding divided by 2·eps.
public func finiteDifferenceGradient(_ values: [Float], eps: Float, loss: ([Float]) -> Double) -> [Float] {
    var perturbed = values
    var gradient = [Float](repeating: 0, count: values.count)
    for i in 0..<values.count {
        perturbed[i] = values[i] + eps
        let plus = loss(perturbed)
        perturbed[i] = values[i] - eps
        let minus = loss(perturbed)
        perturbed[i] = values[i]
        gradient[i] = Float((plus - minus) / (2 * Double(eps)))
    }
    return gradient
}

/// Σ out ⊙ weights in Double: the scalar whose gradient w.r.t. out is `weights` (a random "dout").
public func projectedLoss(_ out: [Float], _ weights: [Float]) -> Double {
    precondition(out.count == weights.count, "projectedLoss: \(out.count) vs \(weights.count)")
    var sum = 0.0
    for i in 0..<out.count { sum += Double(out[i]) * Double(weights[i]) }
    return sum
}

/// A version-1 .npy file of `shape` holding `data` (already in `descr`'s layout).
public func npyFile(descr: String, shape: [Int], data: Data) -> Data {
    let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
    var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shapeText), }"
    while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
    header += "\n"
    var out = Data([
        0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8),
    ])
    out.append(Data(header.utf8))
    out.append(data)
    return out
}

import Foundation
import SideTuning
import Sweep
import XCTest
import _TestSupport

final class SamplerTests: XCTestCase {
    /// Points 0…255 of the 16-dimensional sequence equal scipy's (fixture from scripts/make_sobol_fixture.py).
    func testSobolMatchesScipy() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: fixturePath("sobol16.json")))
        let json = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        let points = json["points"] as! [[Double]]
        let sobol = SobolSequence(dimensions: 16)
        for (i, expected) in points.enumerated() { XCTAssertEqual(sobol.point(i), expected, "point \(i)") }
        XCTAssertEqual(
            SobolSequence(dimensions: 3).point(77), Array(points[77].prefix(3)), "fewer dimensions: a prefix")
    }

    func search(_ sampler: String, trials: Int = 12) throws -> SearchSpec {
        try XCTUnwrap(
            try SweepSpec.load(
                try writeDigitsSweep(
                    in: temporaryDirectory(self),
                    search: """
                        "methods": {"last": {"rank": {"choice": [4, 8, 16]}, "lr": {"loguniform": [1e-4, 1e-1]}}, "linear": {"lr": {"loguniform": [1e-4, 1e-1]}}},
                        "sampler": \(sampler), "trials": \(trials), "space": {"label_smoothing": {"uniform": [0, 0.2]}, "batch_size": {"int": [16, 128], "log": true}}
                        """)
            ).search)
    }

    func testProposalsAreReproducibleAndInsideTheirDomains() throws {
        for kind in ["\"random\"", "\"sobol\"", "{\"type\": \"tpe\", \"startup\": 4, \"generation_size\": 4}"] {
            let s = try search(kind)
            let a = (0..<s.generationCount).flatMap { Sampler(s).propose(generation: $0, history: []) }
            let b = (0..<s.generationCount).flatMap { Sampler(s).propose(generation: $0, history: []) }
            XCTAssertEqual(a, b, kind)
            XCTAssertEqual(a.count, 12)
            XCTAssertEqual(a.map(\.method), (0..<12).map { $0 % 2 == 0 ? "last" : "linear" }, "methods alternate")
            for p in a {
                let lr = p.values["lr"]!.number!, bs = p.values["batch_size"]!.number!,
                    ls = p.values["label_smoothing"]!.number!
                XCTAssertTrue((1e-4...1e-1).contains(lr), "\(kind): lr \(lr)")
                XCTAssertTrue((16...128).contains(bs) && bs == bs.rounded(), "\(kind): batch \(bs)")
                XCTAssertTrue((0...0.2).contains(ls), "\(kind): smoothing \(ls)")
                if p.method == "last" {
                    XCTAssertTrue([4, 8, 16].contains(p.values["rank"]!.number!))
                } else {
                    XCTAssertNil(p.values["rank"])
                }
            }
            // Sobol (and TPE's startup) give each method the same points over shared dimensions: a paired design.
            XCTAssertEqual(
                Set(a.filter { $0.method == "last" }.map { $0.values["lr"]! }).count, 6, "\(kind): proposals differ")
        }
    }

    /// With observations where high learning rates and rank 16 won, TPE proposes mostly those
    /// (a random proposal lands there with probability about 0.16).
    func testTPEFollowsTheGoodObservations() throws {
        let s = try search("{\"type\": \"tpe\", \"startup\": 2, \"generation_size\": 20}", trials: 42)
        var history: [Observation] = []
        for i in 0..<40 {
            let lr = pow(10, -4 + 3 * Double(i * 7 % 40) / 39), rank = [4.0, 8, 16][(i / 2) % 3]
            let accuracy = lr > 0.003 && rank == 16 ? 0.9 : 0.2 + Double(i * 37 % 11) / 100
            history.append(
                Observation(
                    method: i % 2 == 0 ? "last" : "linear",
                    values: [
                        "lr": .number(lr), "rank": .number(rank),
                        "batch_size": .number(64), "label_smoothing": .number(0.1),
                    ],
                    objectives: [-accuracy], completed: true))
        }
        let proposals = Sampler(s).propose(generation: 1, history: history).filter { $0.method == "last" }
        XCTAssertEqual(proposals.count, 10)
        let good = proposals.filter { $0.values["lr"]!.number! > 0.003 && $0.values["rank"]! == .number(16) }
        XCTAssertGreaterThanOrEqual(
            good.count, 6,
            "TPE concentrates on the good region: \(proposals.map { "\($0.values["lr"]!) \($0.values["rank"]!)" })")
    }

    /// Observations no domain can place (a learning rate of −1 or 0 on a log scale, NaN, a missing
    /// value: an edited journal's) still give proposals inside the domains, never NaN (which a journal
    /// could not hold, and a resumed sweep would propose again and again).
    func testTPEProposesInsideTheDomainWhateverTheObservations() throws {
        let s = try search("{\"type\": \"tpe\", \"startup\": 2, \"generation_size\": 20}", trials: 42)
        let odd: [ParameterValue?] = [.number(-1), .number(0), .number(.nan), .number(-.infinity), .text("x"), nil]
        var history: [Observation] = []
        for i in 0..<12 {
            var values: [String: ParameterValue] = [
                "lr": .number(0.01), "rank": .number(8), "batch_size": .number(64), "label_smoothing": .number(0.1),
            ]
            values["lr"] = i < odd.count ? odd[i] : .number(0.001 * Double(i))
            values["batch_size"] = i < odd.count ? odd[odd.count - 1 - i] : .number(32)
            history.append(
                Observation(method: "last", values: values, objectives: [-Double(i) / 12], completed: true))
        }
        let proposals = Sampler(s).propose(generation: 1, history: history).filter { $0.method == "last" }
        XCTAssertEqual(proposals.count, 10)
        for p in proposals {
            let lr = try XCTUnwrap(p.values["lr"]?.number), batch = try XCTUnwrap(p.values["batch_size"]?.number)
            XCTAssertTrue((1e-4...1e-1).contains(lr), "lr \(lr)")
            XCTAssertTrue((16...128).contains(batch), "batch \(batch)")
        }
    }

    func testParetoRanks() {
        let points: [[Double]] = [[1, 3], [2, 2], [3, 1], [2, 3], [3, 3], [1, 3]]
        XCTAssertEqual(paretoRanks(points), [1, 1, 1, 2, 3, 1], "equal points share a front")
        XCTAssertTrue(dominates([1, 1], [1, 2]))
        XCTAssertFalse(dominates([1, 2], [1, 2]))
    }

    /// Exact hypervolume against counting the unit cells of an integer lattice dominated by some point.
    func testHypervolumeAgainstLatticeCounting() {
        XCTAssertEqual(hypervolume([[1, 3], [2, 2], [3, 1]], reference: [4, 4]), 6)
        var generator = SeededGenerator(seed: 5)
        for d in 2...4 {
            for _ in 0..<5 {
                let points = (0..<6).map { _ in (0..<d).map { _ in Double(Int.random(in: 0...5, using: &generator)) } }
                let reference = [Double](repeating: 6, count: d)
                var count = 0
                var cell = [Int](repeating: 0, count: d)
                func visit(_ k: Int) {
                    if k == d {
                        if points.contains(where: { p in zip(p, cell).allSatisfy { Int($0) <= $1 } }) { count += 1 }
                        return
                    }
                    for v in 0..<6 { cell[k] = v; visit(k + 1) }
                }
                visit(0)
                XCTAssertEqual(hypervolume(points, reference: reference), Double(count), "d \(d): \(points)")
            }
        }
    }
}

struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

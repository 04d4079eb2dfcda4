import SideNets
import Training
import XCTest

/// The method registry: every method builds its own network, and its impossible settings are named
/// before any network is built.
final class SideTuningMethodTests: XCTestCase {
    func testEveryMethodBuildsTheNetworkOfItsName() {
        XCTAssertEqual(SideTuningMethod.names, ["adapter", "last", "linear", "lst"])
        for method in SideTuningMethod.allCases {
            var settings = TrialSettings(method: method)
            settings.rank = 4; settings.heads = 2; settings.bottleneck = 4; settings.reduction = 4
            XCTAssertNil(settings.problem(width: 32, depth: 4, backboneHeads: 2), "\(method)")
            let network = settings.makeNetwork(width: 32, depth: 4, backboneHeads: 2, classes: 3)
            XCTAssertEqual(network.name, method.rawValue)
            XCTAssertEqual(network.classes, 3)
        }
    }

    func testImpossibleSettingsAreNamed() {
        var last = TrialSettings(method: .last)
        last.rank = 6; last.heads = 4
        XCTAssertEqual(
            last.problem(width: 32, depth: 4, backboneHeads: 2), "last: rank 6 must be a positive multiple of heads 4")
        last.rank = 8; last.gap = 3
        XCTAssertEqual(
            last.problem(width: 32, depth: 4, backboneHeads: 2), "last: gap 3 must divide the backbone depth 4")
        var lst = TrialSettings(method: .lst)
        lst.reduction = 5
        XCTAssertEqual(
            lst.problem(width: 32, depth: 4, backboneHeads: 2), "lst: reduction 5 must divide the backbone width 32")
        lst.reduction = 8
        XCTAssertNotNil(lst.problem(width: 32, depth: 4, backboneHeads: 3), "side width 4 is not divisible by 3 heads")
        lst.reduction = 4; lst.lstLayers = [3, 2]
        XCTAssertEqual(
            lst.problem(width: 32, depth: 4, backboneHeads: 2), "lst: layers [3, 2] must be increasing, within 1...4")
        var adapter = TrialSettings(method: .adapter)
        adapter.bottleneck = 0
        XCTAssertEqual(adapter.problem(width: 32, depth: 4, backboneHeads: 2), "adapter: bottleneck must be positive")
        var linear = TrialSettings(method: .linear)
        linear.learningRate = 0
        XCTAssertNotNil(linear.problem(width: 32, depth: 4, backboneHeads: 2), "the recipe's checks come first")
    }

    func testMethodNamesRoundTripThroughJSON() throws {
        let settings = TrialSettings(method: .lst)
        let text = String(decoding: try JSONEncoder().encode(settings), as: UTF8.self)
        XCTAssertTrue(text.contains("\"method\":\"lst\""), text)
        XCTAssertEqual(try JSONDecoder().decode(TrialSettings.self, from: Data(text.utf8)), settings)
        let unknown = text.replacingOccurrences(of: "\"lst\"", with: "\"lora\"")
        XCTAssertThrowsError(try JSONDecoder().decode(TrialSettings.self, from: Data(unknown.utf8)))
    }
}

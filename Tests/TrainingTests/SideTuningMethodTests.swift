import Foundation
import SideNets
import Training
import XCTest

/// The method registry: every method builds its own network, its impossible settings are named before
/// any network is built, and settings files of before the registry still read.
final class SideTuningMethodTests: XCTestCase {
    func testEveryMethodBuildsTheNetworkOfItsName() {
        let names = SideTuningMethods.names
        XCTAssertEqual(Set(names).count, names.count, "one method per name")
        XCTAssertTrue(Set(["adapter", "last", "linear", "lst"]).isSubset(of: names), "\(names)")
        for method in SideTuningMethods.names {
            var settings = TrialSettings(method: method)
            settings.setDeclared(["rank": 4, "heads": 2, "bottleneck": 4, "reduction": 4])
            XCTAssertNil(settings.problem(width: 32, depth: 4, backboneHeads: 2), "\(method)")
            let network = settings.makeNetwork(width: 32, depth: 4, backboneHeads: 2, classes: 3)
            XCTAssertEqual(network.name, method)
            XCTAssertEqual(network.classes, 3)
        }
    }

    func testEveryMethodsDefaultsAreValuesOfItsOwnKinds() {
        for method in SideTuningMethods.all {
            let names = method.hyperparameters.map(\.name)
            XCTAssertEqual(Set(names).count, names.count, "\(method.methodName): a hyperparameter declared twice")
            for parameter in method.hyperparameters {
                if let value = parameter.defaultValue {
                    XCTAssertTrue(parameter.accepts(value), "\(method.methodName).\(parameter.name): default \(value)")
                }
            }
        }
    }

    func testImpossibleSettingsAreNamed() {
        var last = TrialSettings(method: "last")
        last.values["rank"] = 6; last.values["heads"] = 4
        XCTAssertEqual(
            last.problem(width: 32, depth: 4, backboneHeads: 2), "last: rank 6 must be a positive multiple of heads 4")
        last.values["rank"] = 8; last.values["gap"] = 3
        XCTAssertEqual(
            last.problem(width: 32, depth: 4, backboneHeads: 2), "last: gap 3 must divide the backbone depth 4")
        var lst = TrialSettings(method: "lst")
        lst.values["reduction"] = 5
        XCTAssertEqual(
            lst.problem(width: 32, depth: 4, backboneHeads: 2), "lst: reduction 5 must divide the backbone width 32")
        lst.values["reduction"] = 8
        XCTAssertNotNil(lst.problem(width: 32, depth: 4, backboneHeads: 3), "side width 4 is not divisible by 3 heads")
        lst.values["reduction"] = 4; lst.values["layers"] = [3, 2]
        XCTAssertEqual(
            lst.problem(width: 32, depth: 4, backboneHeads: 2), "lst: layers [3, 2] must be increasing, within 1...4")
        var adapter = TrialSettings(method: "adapter")
        adapter.values["bottleneck"] = 0
        XCTAssertEqual(adapter.problem(width: 32, depth: 4, backboneHeads: 2), "adapter: bottleneck must be positive")
        var linear = TrialSettings(method: "linear")
        linear.learningRate = 0
        XCTAssertNotNil(linear.problem(width: 32, depth: 4, backboneHeads: 2), "the recipe's checks come first")
    }

    func testSettingsRoundTripThroughJSONUnderTheirSettingsKeys() throws {
        var settings = TrialSettings(method: "lst")
        settings.values["layers"] = [1, 3]
        settings.values["lst_init"] = "pruned"
        let text = String(decoding: try JSONEncoder().encode(settings), as: UTF8.self)
        for part in ["\"method\":\"lst\"", "\"reduction\":8", "\"lstLayers\":[1,3]", "\"lstInit\":\"pruned\""] {
            XCTAssertTrue(text.contains(part), "\(part) in \(text)")
        }
        XCTAssertFalse(text.contains("rank"), "only the method's own values: \(text)")
        XCTAssertEqual(try JSONDecoder().decode(TrialSettings.self, from: Data(text.utf8)), settings)
        let unknown = text.replacingOccurrences(of: "\"lst\"", with: "\"lora\"")
        XCTAssertThrowsError(try JSONDecoder().decode(TrialSettings.self, from: Data(unknown.utf8)))
        let wrongKind = text.replacingOccurrences(of: "\"pruned\"", with: "\"magic\"")
        XCTAssertThrowsError(try JSONDecoder().decode(TrialSettings.self, from: Data(wrongKind.utf8)))
    }

    /// Settings as 0.1.0 wrote them (every method's sizes, in checkpoints and model files): each method
    /// reads its own and equals the settings a sweep makes today, so those checkpoints resume.
    func testSettingsOfBeforeTheRegistryRead() throws {
        let old = """
            {"method":"last","rank":16,"heads":2,"gap":1,"modulesPerGroup":1,"bottleneck":32,"reduction":8,\
            "lstInit":"random","initRule":"xavier","normAffine":true,"learningRate":0.003,"weightDecay":0.0001,\
            "batchSize":64,"epochs":10,"warmupFraction":0.1,"decay":"cosine","lrFloor":0,"labelSmoothing":0,\
            "evalEvery":1,"seed":7}
            """
        let read = try JSONDecoder().decode(TrialSettings.self, from: Data(old.utf8))
        var today = TrialSettings(method: "last")
        today.values["rank"] = 16; today.values["heads"] = 2
        today.initRule = .xavier; today.normAffine = true; today.learningRate = 0.003; today.seed = 7
        XCTAssertEqual(read, today)
    }
}

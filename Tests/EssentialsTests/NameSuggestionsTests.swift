import Essentials
import XCTest

final class NameSuggestionsTests: XCTestCase {
    func testEditDistance() {
        XCTAssertEqual(editDistance("", "abc"), 3)
        XCTAssertEqual(editDistance("kitten", "sitting"), 3)
        XCTAssertEqual(editDistance("lats", "last"), 2)
        XCTAssertEqual(editDistance("same", "same"), 0)
    }

    func testSuggestsTyposAndSpellings() {
        XCTAssertEqual(nearestName(to: "bach", among: ["batch", "workers", "epochs"]), "batch")
        XCTAssertEqual(nearestName(to: "lats", among: ["linear", "last", "lst", "adapter"]), "last")
        XCTAssertEqual(nearestName(to: "epoch", among: ["epochs", "seeds"]), "epochs")
        // A longer spelling of a name is a likely meaning even when many edits away.
        XCTAssertEqual(nearestName(to: "val_accuracy", among: ["val_acc", "test_acc", "params"]), "val_acc")
        XCTAssertEqual(didYouMean("sampler_", among: ["sampler", "space"]), "; did you mean 'sampler'?")
        XCTAssertEqual(didYouMean("bach", among: ["batch"], prefix: "--"), "; did you mean '--batch'?")
    }

    func testFarNamesAreNotSuggested() {
        XCTAssertNil(nearestName(to: "zzzzzz", among: ["linear", "last", "lst", "adapter"]))
        XCTAssertEqual(didYouMean("frobnicate", among: ["run", "cache"]), "")
        XCTAssertNil(nearestName(to: "x", among: [String]()))
        // Two-letter prefixes are not a spelling of anything.
        XCTAssertNil(nearestName(to: "ep", among: ["epochs_total_budget"]))
    }

    func testTiesDoNotDependOnOrder() {
        let names: Set = ["cab", "bab", "aab"]
        for _ in 0..<5 { XCTAssertEqual(nearestName(to: "xab", among: names), "aab") }
        XCTAssertEqual(
            nearestName(to: "xab", among: ["cab", "bab", "aab"]), nearestName(to: "xab", among: ["aab", "cab", "bab"]))
    }
}

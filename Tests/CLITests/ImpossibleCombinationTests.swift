import Foundation
import XCTest
import _TestSupport

/// A sweep that `validate` accepts runs: a combination its method refuses inside a long range (which
/// `validate` samples only at its ends) is journaled as a rejected trial with the method's reason,
/// never trapped on, and the sweep resumes.
final class ImpossibleCombinationTests: XCTestCase {
    let cli = CLI()

    func testACombinationTheMethodRefusesIsJournaledAsRejected() throws {
        let dir = temporaryDirectory(self)
        let splits = ["train800", "val200", "train800val200", "test"].map {
            "\"\($0)\": {\"images\": \"\(digitsDirectory)/\($0)_images.npy\", \"labels\": \"\(digitsDirectory)/\($0)_labels.npy\"}"
        }.joined(separator: ", ")
        let path = dir.appendingPathComponent("small.json").path
        try """
        {"name": "small", "seed": 1, "backbone": {"random": "vit-tiny-test", "seed": 0},
         "data": {"format": "numpy", "classes": 10, "splits": {\(splits)}}, "cache": {"dir": "cache"},
         "methods": {"last": {"rank": {"int": [2, 100]}, "heads": 2}}, "sampler": "random", "trials": 12, "epochs": 1}
        """.write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertEqual(try cli.run("validate", path).status, 0)
        let results = dir.appendingPathComponent("results").path
        for attempt in ["run", "resume"] {
            let run = try cli.run(["run", path, "--results", results], timeout: 300)
            XCTAssertEqual(run.status, 0, "\(attempt): \(run.stderr)")
            XCTAssertFalse(run.stderr.contains("Fatal error") || run.stderr.contains("precondition"), run.stderr)
        }
        let journal = try String(contentsOfFile: results + "/small/journal.jsonl", encoding: .utf8)
        let events = journal.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        let oddRanks = Set(
            events.filter {
                $0["event"] as? String == "planned" && $0["method"] as? String == "last"
                    && (($0["params"] as? [String: Any])?["rank"] as? Int).map { $0 % 2 == 1 } == true
            }.compactMap { $0["trial"] as? String })
        let rejected = events.filter { $0["event"] as? String == "rejected" }
        XCTAssertFalse(oddRanks.isEmpty, "12 random ranks in 2…100 include odd ones: \(journal)")
        XCTAssertEqual(Set(rejected.compactMap { $0["trial"] as? String }), oddRanks)
        for line in rejected {
            XCTAssertTrue(
                (line["error"] as? String ?? "").contains("must be a positive multiple of heads 2"), "\(line)")
        }
        XCTAssertFalse(events.contains { $0["event"] as? String == "failed" }, journal)
    }
}

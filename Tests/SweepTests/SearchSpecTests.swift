import Essentials
import Foundation
import SideTuning
import Sweep
import XCTest
import _TestSupport

/// Every mistake in the search part of a sweep file is caught before any work, naming its JSON path.
final class SearchSpecTests: XCTestCase {
    let good = """
        "seed": 3, "methods": {"last": {"rank": {"choice": [4, 8]}, "heads": 2}, "linear": {}},
        "space": {"lr": {"loguniform": [1e-4, 1e-1]}}, "sampler": "sobol", "trials": 6, "epochs": 5,
        "early_stopping": {"min_epochs": 1, "reduction_factor": 2}, "objectives": ["val_acc", "params"], "seeds": 2
        """

    func testGoodSpecParses() throws {
        let spec = try SweepSpec.load(try writeDigitsSweep(in: temporaryDirectory(self), search: good))
        let search = try XCTUnwrap(spec.search)
        XCTAssertEqual(search.methods.map(\.method), ["last", "linear"])
        XCTAssertEqual(search.methods[0].searched.map(\.name), ["lr", "rank"])
        XCTAssertEqual(search.methods[1].searched.map(\.name), ["lr"])
        XCTAssertEqual(search.rungs, [1, 2, 4, 5])
        XCTAssertEqual(search.seeds, [0, 1])
        XCTAssertEqual(search.objectives.map(\.name), ["val_acc", "params"])
        XCTAssertEqual(search.objectives.map(\.direction), [.maximize, .minimize])
        XCTAssertEqual(search.sampler.generationSize, 6, "non-model samplers plan everything as one generation")
        let constrained = try XCTUnwrap(
            try SweepSpec.load(
                try writeDigitsSweep(
                    in: temporaryDirectory(self),
                    search: good + """
                        , "constraints": ["params <= 2e6", "peak_memory <= 2GiB"]
                        """)
            ).search)
        XCTAssertEqual(constrained.constraints.map(\.maximum), [2e6, 2_147_483_648])
    }

    func testHashIgnoresWorkersAndMemoryOnly() throws {
        let dir = temporaryDirectory(self)
        let a = try SweepSpec.load(try writeDigitsSweep(in: dir, name: "a", search: good)).contentHash
        let b = try SweepSpec.load(
            try writeDigitsSweep(in: dir, name: "a", search: good + ", \"workers\": 1, \"memory\": \"2GiB\"")
        ).contentHash
        let c = try SweepSpec.load(
            try writeDigitsSweep(
                in: dir, name: "a", search: good.replacingOccurrences(of: "\"epochs\": 5", with: "\"epochs\": 6"))
        ).contentHash
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, c)
    }

    /// Asserts that a sweep with `search` is refused at JSON path `path` with `message`, in one line.
    func assertRefused(_ search: String, in dir: URL, _ path: String, _ message: String, line: UInt) {
        do {
            _ = try SweepSpec.load(try writeDigitsSweep(in: dir, search: search))
            XCTFail("accepted: \(search)", line: line)
        } catch let error as SpecError {
            XCTAssertEqual(error.path, path, error.description, line: line)
            XCTAssertTrue(error.message.contains(message), error.description, line: line)
            XCTAssertFalse(error.description.contains("\n"), line: line)
        } catch { XCTFail("\(error)", line: line) }
    }

    func testErrorsNameTheJSONPath() throws {
        let dir = temporaryDirectory(self)
        func check(_ search: String, _ path: String, _ message: String, line: UInt = #line) {
            assertRefused(search, in: dir, path, message, line: line)
        }
        let last = "\"methods\": [\"last\"], \"trials\": 2"
        check("\"methods\": [\"lats\"], \"trials\": 2", "$.methods", "did you mean 'last'?")
        check(last + ", \"epoch\": 3", "$.epoch", "did you mean 'epochs'?")
        check(last + ", \"epochs\": \"3\"", "$.epochs", "must be an integer")
        check("\"methods\": {\"last\": {\"rnak\": 4}}, \"trials\": 2", "$.methods.last.rnak", "did you mean 'rank'?")
        check(
            "\"methods\": {\"linear\": {\"rank\": 4}}, \"trials\": 2", "$.methods.linear.rank",
            "does not apply to linear")
        check(last + ", \"space\": {\"bottleneck\": 8}", "$.space.bottleneck", "applies only to adapter")
        check(last + ", \"space\": {\"lr\": {\"choice\": []}}", "$.space.lr.choice", "non-empty")
        check(last + ", \"space\": {\"lr\": [0.1, 0.01]}", "$.space.lr", "ambiguous")
        check(last + ", \"space\": {\"lr\": {\"loguniform\": [0, 0.1]}}", "$.space.lr.loguniform[0]", "must be > 0")
        check(last + ", \"space\": {\"lr\": {\"uniform\": [0.1, 0.01]}}", "$.space.lr.uniform", "low < high")
        check(last + ", \"space\": {\"rank\": {\"uniform\": [2, 8]}}", "$.space.rank.uniform", "integer")
        check(last + ", \"space\": {\"decay\": \"cosin\"}", "$.space.decay", "must be one of")
        check(last + ", \"space\": {\"lr\": {\"logunifrom\": [0.1, 1]}}", "$.space.lr", "did you mean 'loguniform'?")
        check(
            "\"methods\": {\"last\": {\"rank\": {\"choice\": [4, 6]}, \"heads\": 4}}, \"trials\": 2", "$.methods",
            "impossible combination for last (rank 6): last: rank 6 must be a positive multiple of heads 4")
        check(
            "\"methods\": {\"lst\": {\"reduction\": 5}}, \"trials\": 2", "$.methods",
            "must divide the backbone width 96")
        check(
            "\"methods\": {\"lst\": {\"lst_init\": \"pruned\"}}, \"trials\": 2", "$.methods", "needs backbone weights")
        check(
            "\"methods\": [\"last\"], \"sampler\": \"grid\", \"space\": {\"lr\": {\"uniform\": [0.1, 0.2]}}",
            "$.sampler", "continuous range of 'lr'")
        check(
            "\"methods\": [\"last\"], \"sampler\": \"grid\", \"trials\": 1, \"space\": {\"lr\": {\"grid\": [0.1, 0.2]}}",
            "$.trials", "the grid has 2 configurations")
        check("\"methods\": [\"last\"]", "$.trials", "is required")
        check(last + ", \"sampler\": \"bayes\"", "$.sampler", "unknown sampler 'bayes'")
        check(
            last + ", \"epochs\": 4, \"early_stopping\": {\"rungs\": [2, 4]}", "$.early_stopping.rungs", "below epochs")
        check(last + ", \"objectives\": [\"val_accuracy\"]", "$.objectives[0]", "did you mean 'val_acc'?")
        check(
            last + ", \"objectives\": [{\"metric\": \"params\", \"direction\": \"down\"}]", "$.objectives[0].direction",
            "maximize")
        check(last + ", \"seeds\": 0", "$.seeds", "count")
        check(last + ", \"memory\": \"lots\"", "$.memory", "size")
        check("\"method\": \"last\", \"methods\": [\"lst\"], \"trials\": 2", "$.method", "not both")
        check(last + ", \"constraints\": [\"val_acc <= 0.5\"]", "$.constraints[0]", "not known before training")
        check(last + ", \"constraints\": [\"params < 5\"]", "$.constraints[0]", "must read '<metric> <= <value>'")
        check(
            last + ", \"constraints\": [\"peak_memory <= lots\"]", "$.constraints[0]", "not a positive number or size")
        check(last + ", \"early_stopping\": {\"type\": \"hyperband\"}", "$.early_stopping.type", "'pareto'")
    }

    func testCacheComputePrecision() throws {
        let dir = temporaryDirectory(self)
        XCTAssertEqual(
            try SweepSpec.load(try writeDigitsSweep(in: dir, search: good)).cache.compute, .fp32, "the default")
        let bf16 = try SweepSpec.load(
            try writeDigitsSweep(in: dir, cache: "\"dir\": \"cache\", \"compute\": \"bf16\"", search: good))
        XCTAssertEqual(bf16.cache.compute, .bf16)
        XCTAssertEqual(try bf16.cacheRequest().compute, .bf16, "carried into the cache request (and so its key)")
        do {
            _ = try SweepSpec.load(try writeDigitsSweep(in: dir, cache: "\"compute\": \"bf61\"", search: good))
            XCTFail("accepted compute bf61")
        } catch let error as SpecError {
            XCTAssertEqual(error.path, "$.cache.compute")
            XCTAssertTrue(
                error.message.contains("must be 'fp32' or 'bf16'") && error.message.contains("did you mean 'bf16'?"),
                error.description)
        }
    }

    /// Numbers a user can type: each is refused where it is read, never converted into a trap.
    func testExtremeNumbersAreRefusedWithTheirPath() throws {
        let dir = temporaryDirectory(self)
        func check(_ search: String, _ path: String, _ message: String, line: UInt = #line) {
            assertRefused(search, in: dir, path, message, line: line)
        }
        let last = "\"methods\": [\"last\"], \"trials\": 2"
        check(last + ", \"space\": {\"batch_size\": 1e19}", "$.space.batch_size", "at most 1048576")
        check(last + ", \"space\": {\"batch_size\": 1e15}", "$.space.batch_size", "at most 1048576")
        check(last + ", \"space\": {\"rank\": {\"int\": [1, 1e19]}}", "$.space.rank.int[1]", "at most")
        check(last + ", \"space\": {\"rank\": {\"choice\": [4, 1e19]}}", "$.space.rank.choice[1]", "at most")
        check("\"methods\": {\"last\": {\"heads\": 1e19}}, \"trials\": 2", "$.methods.last.heads", "at most")
        check(last + ", \"memory\": 1e300", "$.memory", "1 PiB")
        check(last + ", \"memory\": \"1e300GiB\"", "$.memory", "1 PiB")
        check(last + ", \"memory\": \"0.5B\"", "$.memory", "1 PiB")
        check(last.replacingOccurrences(of: "\"trials\": 2", with: "\"trials\": 1e12"), "$.trials", "at most 100000")
        check(last + ", \"seeds\": 1e9", "$.seeds", "at most 1000")
        check(
            last
                + ", \"space\": {\"lr\": {\"choice\": [\((1...10_001).map { "\(Double($0) * 1e-5)" }.joined(separator: ", "))]}}",
            "$.space.lr.choice", "more than 10000")
        for name in [".", "..", ".hidden"] {
            XCTAssertThrowsError(try SweepSpec.load(try writeDigitsSweep(in: dir, name: name, search: last)), name) {
                error in
                XCTAssertEqual((error as? SpecError)?.path, "$.name", "\(error)")
            }
        }
    }

    func testByteSizes() {
        XCTAssertEqual(parseBytes("8GiB"), 8 << 30)
        XCTAssertEqual(parseBytes("512 MiB"), 512 << 20)
        XCTAssertEqual(parseBytes(JSONValue.int(1024)), 1024)
        XCTAssertEqual(parseBytes("2TiB"), 2 << 40)
        XCTAssertEqual(parseBytes("1PiB"), maximumBytes)
        XCTAssertEqual(parseBytes("1EiB"), nil, "unknown unit")
        XCTAssertEqual(parseBytes("2PiB"), nil, "above the limit")
        for bad: JSONValue in [
            "1e300GiB", "1e12GiB", "0.5B", "0B", "-1GiB", "nanMiB", "infGiB", .number(1e300), .number(0.5), .bool(true),
        ] {
            XCTAssertNil(parseBytes(bad), "\(bad)")
        }
        XCTAssertEqual(parseBytes("1025TiB"), nil)
        XCTAssertEqual(parseBytes(JSONValue.number(Double(maximumBytes))), maximumBytes)
    }

    func testGridEnumeratesEveryCombinationOfEveryMethod() throws {
        let spec = try SweepSpec.load(
            try writeDigitsSweep(
                in: temporaryDirectory(self),
                search: """
                    "methods": {"last": {"rank": {"grid": [4, 8]}, "lr": {"grid": [0.01, 0.001, 0.0001]}}, "adapter": {"bottleneck": {"int": [4, 6]}}},
                    "sampler": "grid"
                    """))
        let search = try XCTUnwrap(spec.search)
        XCTAssertEqual(search.trials, 9)
        let proposals = Sampler(search).propose(generation: 0, history: [])
        XCTAssertEqual(
            proposals.filter { $0.method == "adapter" }.map { $0.values["bottleneck"]! },
            [.number(4), .number(5), .number(6)])
        let last = proposals.filter { $0.method == "last" }.map { [$0.values["lr"]!, $0.values["rank"]!] }
        XCTAssertEqual(
            Set(last.map { $0.map(\.description).joined(separator: "/") }).count, 6, "every (lr, rank) pair once")
    }
}

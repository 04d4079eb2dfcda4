import Backbone
import Datasets
import Foundation
import FuzzTargets
import XCTest

/// Every input the fuzzers found a problem with (Tests/Fuzz/regressions/<target>/) and every seed
/// (Tests/Fuzz/corpus/<target>/), replayed through its parser: each must end in a clean error or a
/// result, never a crash, hang or runaway allocation (the normal build traps on the first two; the
/// time limit of the suite catches the third).
final class FuzzRegressionTests: XCTestCase {
    static let fuzz = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz")

    func files(_ kind: String, _ target: FuzzTarget) -> [URL] {
        let dir = Self.fuzz.appendingPathComponent(kind).appendingPathComponent(target.rawValue)
        return ((try? FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)) ?? []).sorted {
            $0.path < $1.path
        }
    }

    func testEveryTargetHasASeedCorpus() {
        for target in FuzzTarget.allCases {
            XCTAssertFalse(files("corpus", target).isEmpty, "no seeds for \(target.rawValue)")
        }
    }

    func testRegressionsAndSeedsParseWithoutCrashing() throws {
        var replayed = 0
        for target in FuzzTarget.allCases {
            for file in files("regressions", target) + files("corpus", target) {
                let start = Date()
                target.run(try Data(contentsOf: file))
                XCTAssertLessThan(
                    Date().timeIntervalSince(start), 5, "\(target.rawValue): \(file.lastPathComponent) is slow")
                replayed += 1
            }
        }
        XCTAssertGreaterThan(replayed, FuzzTarget.allCases.count)
    }

    /// The declared size of a zip member is checked against what its compressed bytes can inflate to
    /// before anything is allocated (found by the npz fuzzer: 1 GiB requested for a 40-byte member).
    func testZipMemberDeclaringTooManyBytesIsRefusedBeforeAllocating() throws {
        let file = try XCTUnwrap(files("regressions", .npz).first { $0.lastPathComponent == "oom-declared-size.npz" })
        XCTAssertThrowsError(try NPZFile(path: file.path)) { error in
            XCTAssertTrue("\(error)".contains("compressed bytes can inflate to"), "\(error)")
        }
    }

    /// An empty image array (N = 0) may declare extents whose strides overflow Int: refused with a
    /// line, not an arithmetic trap (found by the npy fuzzer after Fortran-order reading came in).
    func testEmptyArrayWithHugeExtentsIsRefused() throws {
        let file = try XCTUnwrap(
            files("regressions", .npy).first { $0.lastPathComponent == "overflow-strides-empty-array.npy" })
        XCTAssertThrowsError(try NumpySplit(name: "x", images: file.path, labels: file.path)) { error in
            XCTAssertTrue("\(error)".contains("too large to address"), "\(error)")
        }
    }
}

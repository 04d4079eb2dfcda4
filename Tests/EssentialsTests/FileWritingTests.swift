import Essentials
import Foundation
import XCTest

final class FileWritingTests: XCTestCase {
    var directory: String!

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "essentials-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: directory) }

    func testReplacesWholeFileAndLeavesNoTemporary() throws {
        let path = directory + "/board.csv"
        try replaceAtomically(path, with: "first\n")
        try replaceAtomically(path, with: "second, longer\n")
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "second, longer\n")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), ["board.csv"])
    }

    func testLargeWritesArriveWhole() throws {
        let path = directory + "/big.bin"
        let bytes = Data((0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        try replaceAtomically(path, with: bytes)
        XCTAssertEqual(FileManager.default.contents(atPath: path), bytes)
    }

    func testFailureKeepsTheOldFileAndNamesTheReason() throws {
        let path = directory + "/kept.txt"
        try replaceAtomically(path, with: "old\n")
        // A directory cannot be replaced by a file: rename fails after the temporary was written.
        let blocked = directory + "/sub"
        try FileManager.default.createDirectory(atPath: blocked + "/inner", withIntermediateDirectories: true)
        XCTAssertThrowsError(try replaceAtomically(blocked, with: "x")) { error in
            XCTAssertFalse("\(error)".isEmpty)
        }
        XCTAssertThrowsError(try replaceAtomically(directory + "/missing/dir/file", with: "x")) { error in
            XCTAssertTrue("\(error)".contains("No such file"), "\(error)")
        }
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "old\n")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory).sorted(), ["kept.txt", "sub"])
    }

    func testWriteAllReportsAClosedDescriptor() {
        XCTAssertThrowsError(try Data("x".utf8).withUnsafeBytes { try writeAll(-1, $0) }) { error in
            XCTAssertTrue("\(error)".contains("Bad file descriptor"), "\(error)")
        }
    }
}

final class AtomicWriteTemporaryTests: XCTestCase {
    func testTemporariesAreRecognisedByName() {
        XCTAssertTrue(isAtomicWriteTemporary("t0123456789.ckpt.tmp-4242"))
        XCTAssertTrue(isAtomicWriteTemporary("leaderboard.csv.tmp-1"))
        XCTAssertFalse(isAtomicWriteTemporary("t0123456789.ckpt"))
        XCTAssertFalse(isAtomicWriteTemporary("notes.tmp-draft"))
        XCTAssertFalse(isAtomicWriteTemporary(".tmp-12"))
        XCTAssertFalse(isAtomicWriteTemporary("x.tmp-"))
    }

    func testTheTemporaryIsNamedByTheProcessAndGoneAfterwards() throws {
        let directory = NSTemporaryDirectory() + "essentials-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/trial.ckpt"
        // Another writer's temporary (a fenced worker's, mid-write) is left alone.
        try "another writer".write(toFile: path + ".tmp-999999", atomically: false, encoding: .utf8)
        try replaceAtomically(path, with: Data("whole\n".utf8))
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "whole\n")
        XCTAssertEqual(try String(contentsOfFile: path + ".tmp-999999", encoding: .utf8), "another writer")
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: directory).sorted(),
            ["trial.ckpt", "trial.ckpt.tmp-999999"])
    }
}

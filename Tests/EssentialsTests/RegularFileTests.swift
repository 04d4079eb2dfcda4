import Essentials
import Foundation
import XCTest

/// Every reader opens files through `openRegularFile`: a named pipe, a device or a directory is refused
/// at once with what it is, never read from or waited on (a FIFO would block `open` until a writer came).
final class RegularFileTests: XCTestCase {
    func testWhatIsNotARegularFileIsRefusedAtOnceNamingWhatItIs() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("regular-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let fifo = dir.appendingPathComponent("pipe.npy").path
        XCTAssertEqual(mkfifo(fifo, 0o644), 0)
        let cases = [
            (fifo, "is a named pipe (FIFO), not a regular file"), ("/dev/zero", "is a character device"),
            (dir.path, "is a directory"), (dir.appendingPathComponent("none").path, "no such file"),
        ]
        for (path, reason) in cases {
            let start = Date()
            XCTAssertThrowsError(try readRegularFile(path)) { XCTAssertTrue("\($0)".contains(reason), "\($0)") }
            XCTAssertThrowsError(try MappedFile(path: path)) { XCTAssertTrue("\($0)".contains(reason), "\($0)") }
            XCTAssertNil(contentsOfRegularFile(path))
            XCTAssertTrue(whyUnreadable(path).contains(reason), whyUnreadable(path))
            XCTAssertLessThan(Date().timeIntervalSince(start), 5, "\(path): refused at once")
        }
        let file = dir.appendingPathComponent("file").path
        try Data("abc".utf8).write(to: URL(fileURLWithPath: file))
        XCTAssertEqual(try readRegularFile(file), Data("abc".utf8))
    }
}

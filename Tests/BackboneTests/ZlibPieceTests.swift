import CZlib
import Foundation
import XCTest

@testable import Backbone

/// zlib counts bytes in 32 bits: members of 4 GiB and more are inflated and checksummed in pieces,
/// never by converting a larger count (which trapped).
final class ZlibPieceTests: XCTestCase {
    func rawDeflate(_ input: [UInt8]) -> [UInt8] {
        var stream = z_stream()
        XCTAssertEqual(
            deflateInit2_(
                &stream, Z_BEST_SPEED, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION,
                Int32(MemoryLayout<z_stream>.size)), Z_OK)
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: input.count + 1024)
        var source = input
        let written = source.withUnsafeMutableBufferPointer { src in
            output.withUnsafeMutableBufferPointer { out in
                stream.next_in = src.baseAddress; stream.avail_in = uInt(src.count)
                stream.next_out = out.baseAddress; stream.avail_out = uInt(out.count)
                XCTAssertEqual(deflate(&stream, Z_FINISH), Z_STREAM_END)
                return Int(stream.total_out)
            }
        }
        return Array(output.prefix(written))
    }

    func testPiecesGiveTheSameBytesAndChecksum() {
        let input = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 * 7 + $0 / 300) }
        let compressed = rawDeflate(input)
        for piece in [1, 1000, 65_536, ZipArchive.zlibPiece] {
            let output = compressed.withUnsafeBytes {
                ZipArchive.inflateRaw($0.baseAddress!, count: compressed.count, expected: input.count, piece: piece)
            }
            XCTAssertEqual(output.map(Array.init), input, "piece \(piece)")
            XCTAssertEqual(ZipArchive.crc32(Data(input), piece: piece), ZipArchive.crc32(Data(input)))
        }
        XCTAssertNil(
            compressed.withUnsafeBytes {
                ZipArchive.inflateRaw($0.baseAddress!, count: compressed.count, expected: input.count + 1)
            }, "a member that inflates to less than it declares")
    }

    /// The case: a member of 4.4 MB declaring 4 GiB (within deflate's 1032:1) is read as corrupt.
    func testADeclaredSizeBeyond32BitsIsCorruptNotATrap() {
        let garbage = [UInt8](repeating: 0xA5, count: 4_400_000)
        let output = garbage.withUnsafeBytes {
            ZipArchive.inflateRaw($0.baseAddress!, count: garbage.count, expected: (1 << 32) + 8)
        }
        XCTAssertNil(output)
    }
}

import Backbone
import Foundation
import XCTest

/// .npy header parsing: versions, dtypes, Fortran order, and malformed headers.
final class NPYTests: XCTestCase {
    /// A .npy file with the given dict literal and raw data (version 1 or 2 header).
    func npy(_ dict: String, data: [UInt8], version: UInt8 = 1) -> [UInt8] {
        var header = Array(dict.utf8)
        let prefix = version == 1 ? 10 : 12
        while (prefix + header.count + 1) % 64 != 0 { header.append(0x20) }
        header.append(0x0A)
        var bytes: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, version, 0]
        if version == 1 {
            bytes += [UInt8(header.count & 0xFF), UInt8(header.count >> 8)]
        } else {
            bytes += [UInt8(header.count & 0xFF), UInt8(header.count >> 8), 0, 0]
        }
        return bytes + header + data
    }

    func parse(_ bytes: [UInt8]) throws -> (NPYHeader, [Float]) {
        try bytes.withUnsafeBytes { raw in
            let header = try NPYHeader(bytes: raw.baseAddress!, count: raw.count, name: "x.npy")
            return (header, header.floats(from: raw.baseAddress!))
        }
    }

    func testFloat32CAndFortranOrder() throws {
        let values: [Float] = [1, 2, 3, 4, 5, 6]
        let data = values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }
        let (c, cValues) = try parse(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", data: data))
        XCTAssertEqual(c.shape, [2, 3])
        XCTAssertEqual(cValues, values)
        // Column-major storage of [[1, 3, 5], [2, 4, 6]] read back in row-major order.
        let (_, fValues) = try parse(
            npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", data: data, version: 2))
        XCTAssertEqual(fValues, [1, 3, 5, 2, 4, 6])
    }

    func testUInt8AndIntegers() throws {
        let bytes = npy("{'descr': '|u1', 'fortran_order': False, 'shape': (4,), }", data: [0, 7, 255, 3])
        try bytes.withUnsafeBytes { raw in
            let header = try NPYHeader(bytes: raw.baseAddress!, count: raw.count, name: "x.npy")
            XCTAssertEqual(header.element, .uint8)
            XCTAssertEqual(header.integers(from: raw.baseAddress!), [0, 7, 255, 3])
        }
        let scalar = npy(
            "{'descr': '<i8', 'fortran_order': False, 'shape': (), }",
            data: withUnsafeBytes(of: Int64(-5).littleEndian, Array.init))
        try scalar.withUnsafeBytes { raw in
            let header = try NPYHeader(bytes: raw.baseAddress!, count: raw.count, name: "x.npy")
            XCTAssertEqual(header.shape, [])
            XCTAssertEqual(header.integers(from: raw.baseAddress!), [-5])
        }
    }

    func testMalformedHeaders() {
        func fails(_ bytes: [UInt8], containing text: String, line: UInt = #line) {
            XCTAssertThrowsError(try parse(bytes), line: line) { error in
                XCTAssertTrue("\(error)".contains(text), "\(error)", line: line)
                XCTAssertTrue("\(error)".hasPrefix("x.npy: "), line: line)
            }
        }
        fails([1, 2, 3], containing: "too short")
        fails(Array("NOTNUMPY....".utf8), containing: "magic")
        fails(
            npy("{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }", data: []), containing: "unsupported dtype"
        )
        fails(
            npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", data: [0, 0, 0, 0]),
            containing: "truncated")
        fails(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", data: []), containing: "bad shape")
        fails(
            npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", data: []),
            containing: "overflows")
        fails(npy("{'descr': '<f4', 'shape': (1,), }", data: [0, 0, 0, 0]), containing: "fortran_order")
    }
}

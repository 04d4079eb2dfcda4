import Numerics
import XCTest

final class FloatBufferTests: XCTestCase {
    func testZerosAndCopies() {
        let zeros = FloatBuffer(count: 5)
        XCTAssertEqual(zeros.array, [0, 0, 0, 0, 0])
        let values: [Float] = [1, -2, 3.5, 4, 5, 6]
        XCTAssertEqual(FloatBuffer(values).array, values)
        XCTAssertEqual(FloatBuffer(values[2..<5]).array, [3.5, 4, 5])
        XCTAssertEqual(FloatBuffer(count: 0).array, [])
    }

    func testPointerStaysValidAndWritable() {
        let buffer = FloatBuffer(count: 1000)
        let address = buffer.pointer
        for i in 0..<1000 { buffer.pointer[i] = Float(i) }
        XCTAssertEqual(buffer.pointer, address)
        XCTAssertEqual(buffer.buffer.reduce(0, +), 499_500)
    }
}

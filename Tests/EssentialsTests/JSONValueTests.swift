import Essentials
import Foundation
import XCTest

/// The one JSON value type: parsing JSONSerialization output, the canonical text keys hash, storage
/// through Codable (the journal), and number equality.
final class JSONValueTests: XCTestCase {
    func parse(_ text: String) throws -> JSONValue {
        JSONValue(any: try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]))
    }

    func testCanonicalTextOfParsedJSON() throws {
        // Integers stay numbers, other numbers hash as their shortest decimal string, null as "null",
        // keys sorted: the rule spec hashes and trial keys have always used.
        let value = try parse(#"{"e": 1e20, "b": 2.5, "a": 3, "c": null, "d": [true, "x", -0.001], "f": 4.0}"#)
        XCTAssertEqual(value.canonicalText, #"{"a":3,"b":"2.5","c":"null","d":[true,"x","-0.001"],"e":"1e+20","f":4}"#)
        XCTAssertEqual(try parse("[]").canonicalText, "[]")
        XCTAssertEqual(try parse(#""tab\tand \u00fc""#).canonicalText, #""tab\tand \u00fc""#)
    }

    func testNumbersCompareByValue() {
        XCTAssertEqual(JSONValue.int(3), .number(3.0))
        XCTAssertEqual(JSONValue.number(3.0), .int(3))
        XCTAssertNotEqual(JSONValue.int(3), .number(3.5))
        XCTAssertNotEqual(JSONValue.int(3), .string("3"))
        XCTAssertNotEqual(JSONValue.null, .string("null"), "equal hashes, different values")
        XCTAssertEqual(JSONValue.object(["a": .array([.int(1)])]), .object(["a": .array([.number(1)])]))
    }

    func testCodableRoundTripKeepsValueAndCanonicalText() throws {
        let value = try parse(
            #"{"lr": 0.0055, "rank": 8, "names": ["a", null], "deep": {"x": false}, "big": 123456789012}"#)
        let decoded = try JSONDecoder().decode(JSONValue.self, from: try JSONEncoder().encode(value))
        XCTAssertEqual(decoded, value)
        XCTAssertEqual(decoded.canonicalText, value.canonicalText)
        // And back to Foundation objects, as a JSONSerialization document embeds it.
        let again = JSONValue(
            any: try JSONSerialization.jsonObject(with: try JSONSerialization.data(withJSONObject: value.any)))
        XCTAssertEqual(again, value)
    }

    func testKeyMaterialHasNoBareFloatsOrNulls() throws {
        XCTAssertTrue(
            JSONValue.object(["mean": .array([.float32(0.485)]), "n": .int(4), "ok": .bool(true)]).isKeyMaterial)
        XCTAssertFalse(try parse(#"{"mean": [0.485]}"#).isKeyMaterial)
        XCTAssertFalse(try parse(#"{"x": null}"#).isKeyMaterial)
        XCTAssertTrue(try parse(#"{"x": 4.0}"#).isKeyMaterial, "an integral number is an integer")
    }
}

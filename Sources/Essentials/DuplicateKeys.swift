import Foundation

/// The JSON path (`$.methods.last.lr`) of the first key that appears twice in one object of a JSON
/// text, or nil. JSON parsers (Foundation's among them) silently keep the last of duplicate keys, so a
/// sweep file that sets a field twice would run with a value its author may not have meant.
///
/// A scan of the text's structure only (strings, objects, arrays); it assumes the text is otherwise
/// valid JSON (the parser reports malformed text).
public func firstDuplicateKey(in data: Data) -> String? {
    let bytes = [UInt8](data)
    var i = 0
    // One frame per open object or array: its path, the keys seen (objects), the next index (arrays).
    struct Frame { var path: String; var keys: Set<String>?; var index = 0; var pendingKey: String? }
    var stack: [Frame] = []
    var expectKey = false

    func readString() -> String? {
        // bytes[i] is the opening quote.
        var out: [UInt8] = []
        i += 1
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "\\") {
                if i + 1 < bytes.count { out.append(c); out.append(bytes[i + 1]) }
                i += 2
                continue
            }
            if c == UInt8(ascii: "\"") { i += 1; return String(decoding: out, as: UTF8.self) }
            out.append(c)
            i += 1
        }
        return nil
    }
    func childPath(_ frame: Frame) -> String {
        if frame.keys != nil { return frame.path + "." + (frame.pendingKey ?? "?") }
        return frame.path + "[\(frame.index)]"
    }

    while i < bytes.count {
        let c = bytes[i]
        switch c {
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            let path = stack.last.map(childPath) ?? "$"
            stack.append(Frame(path: path, keys: c == UInt8(ascii: "{") ? [] : nil))
            expectKey = c == UInt8(ascii: "{")
            i += 1
        case UInt8(ascii: "}"), UInt8(ascii: "]"):
            stack.removeLast()
            i += 1
        case UInt8(ascii: ","):
            if var top = stack.popLast() {
                if top.keys == nil { top.index += 1 } else { expectKey = true }
                stack.append(top)
            }
            i += 1
        case UInt8(ascii: "\""):
            guard let text = readString() else { return nil }
            if expectKey, var top = stack.popLast() {
                if top.keys!.contains(text) { return top.path + "." + text }
                top.keys!.insert(text)
                top.pendingKey = text
                stack.append(top)
                expectKey = false
            }
        default:
            i += 1
        }
    }
    return nil
}

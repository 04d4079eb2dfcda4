/// A mistake in a sweep file: the file, the JSON path of the offending value, and what is wrong.
public struct SpecError: Error, Equatable, CustomStringConvertible {
    public let file: String
    public let path: String
    public let message: String

    public init(file: String, path: String, message: String) {
        self.file = file; self.path = path; self.message = message
    }

    public var description: String { "\(file): \(path): \(message)" }
}

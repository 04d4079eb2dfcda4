import Foundation

/// A trial's settings could not be used with its data.
public struct TrialError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

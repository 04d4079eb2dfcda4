import Essentials
import Sweep

/// A user's mistake on the command line: printed as one line, exit status 2.
struct UsageError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

/// Options a command accepts: `--name VALUE` options and `--name` flags.
struct OptionSpec {
    let name: String
    let valueName: String?    // nil for a flag
    let help: String
    var isFlag: Bool { valueName == nil }
}

/// Command-line arguments parsed against a command's option specs.
struct ParsedArguments {
    var positionals: [String] = []
    var values: [String: String] = [:]
    var flags: Set<String> = []

    /// Parses `arguments` for `command` (used in messages); `--name=value` and `--name value` both work.
    init(_ arguments: [String], specs: [OptionSpec], command: String) throws {
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            guard argument.hasPrefix("--"), argument.count > 2 else {
                if argument.hasPrefix("-") && argument.count > 1 && Double(argument) == nil {
                    throw UsageError("unknown option '\(argument)' for '\(command)'\(Self.suggestion(for: argument, in: specs))")
                }
                positionals.append(argument)
                continue
            }
            var name = String(argument.dropFirst(2))
            var inlineValue: String?
            if let equals = name.firstIndex(of: "=") {
                inlineValue = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            }
            guard let spec = specs.first(where: { $0.name == name }) else {
                throw UsageError("unknown option '--\(name)' for '\(command)'\(Self.suggestion(for: name, in: specs))")
            }
            if spec.isFlag {
                if inlineValue != nil { throw UsageError("option '--\(name)' of '\(command)' takes no value") }
                flags.insert(name)
            } else if let inlineValue {
                values[name] = inlineValue
            } else {
                guard index < arguments.count else {
                    throw UsageError("option '--\(name)' of '\(command)' needs a value (\(spec.valueName!))")
                }
                values[name] = arguments[index]
                index += 1
            }
        }
    }

    /// The value of `--name` as a positive integer, or `defaultValue`.
    func positiveInt(_ name: String, default defaultValue: Int) throws -> Int {
        guard let text = values[name] else { return defaultValue }
        guard let value = Int(text), value > 0 else {
            throw UsageError("option '--\(name)' needs a positive integer, got '\(text)'")
        }
        return value
    }

    /// "; did you mean '--x'?" for the closest known option, when one is close.
    static func suggestion(for name: String, in specs: [OptionSpec]) -> String {
        didYouMean(String(name.drop { $0 == "-" }), among: specs.map(\.name), prefix: "--")
    }
}

import Essentials
import SideNets
import Sweep

/// A user's mistake on the command line: printed as one line, exit status 2.
/// The exit-status rule (README, "Exit status"): 2 when the command line itself is wrong (an unknown
/// command or option, a missing or malformed argument or value, options that conflict) — UsageError;
/// 1 for everything else that goes wrong: a file or directory that is missing, malformed, not what the
/// command needs, in use or unwritable (FileProblem, and every module's own error type), or the work
/// itself failing.
struct UsageError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

/// A file, directory or machine that cannot serve (exit status 1; see UsageError).
struct FileProblem: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

/// What a command lists in its help and the parser accepts: `--name VALUE` options and `--name` flags.
struct OptionSpec {
    let name: String
    let valueName: String?  // nil for a flag
    let help: String
    var isFlag: Bool { valueName == nil }
}

/// A `--name VALUE` option, declared once with how its text becomes a value, and read through that
/// declaration (`try arguments.value(Command.option)`): a misspelt option does not compile, and each
/// kind of value is checked one way everywhere (swift-argument-parser's `@Option`, in miniature).
struct Option<Value> {
    let spec: OptionSpec
    /// What the option wants, for the error: "needs a positive integer", "takes auto, on or off".
    let expected: String
    let parse: (String) -> Value?

    init(_ name: String, _ valueName: String, help: String, expected: String, parse: @escaping (String) -> Value?) {
        spec = OptionSpec(name: name, valueName: valueName, help: help)
        self.expected = expected; self.parse = parse
    }
}

extension Option where Value == String {
    /// Any text (a path, a name, a list the command splits itself).
    static func text(_ name: String, _ valueName: String, help: String) -> Option {
        Option(name, valueName, help: help, expected: "needs a value") { $0 }
    }
}

extension Option where Value == Int {
    /// A count from 1 to `maximum`: every count sizes an allocation or a loop, so none is unbounded
    /// (2²⁰ by default, far above any real batch, step or trial count).
    static func positiveInteger(_ name: String, _ valueName: String = "N", help: String, maximum: Int = 1 << 20)
        -> Option
    {
        Option(name, valueName, help: help, expected: "needs a positive integer up to \(maximum)") {
            Int($0).flatMap { (1...maximum).contains($0) ? $0 : nil }
        }
    }
}

extension Option where Value == Double {
    static func positiveNumber(_ name: String, _ valueName: String, help: String, maximum: Double = 1e6) -> Option {
        Option(name, valueName, help: help, expected: "needs a positive number up to \(Int(maximum))") {
            Double($0).flatMap { $0 > 0 && $0 <= maximum ? $0 : nil }
        }
    }
}

extension Option where Value: RawRepresentable & CaseIterable, Value.RawValue == String {
    /// One of an enum's raw values.
    static func choice(_ name: String, help: String) -> Option {
        let names = Value.allCases.map(\.rawValue)
        return Option(
            name, names.joined(separator: "|"), help: help,
            expected: "takes " + names.dropLast().joined(separator: ", ") + " or " + names.last!
        ) { Value(rawValue: $0) }
    }
}

extension Option where Value == MethodValue {
    /// A value of a method's hyperparameter, as its kind reads it (`--modules-per-group` for `modules_per_group`).
    static func methodValue(_ parameter: MethodHyperparameter, help: String) -> Option {
        let name = parameter.name.replacingOccurrences(of: "_", with: "-")
        switch parameter.kind {
        case .integer(let minimum):
            let expected =
                minimum == 1
                ? "needs a positive integer up to \(1 << 20)" : "needs an integer from \(minimum) to \(1 << 20)"
            return Option(name, "N", help: help, expected: expected) {
                Int($0).flatMap { $0 >= minimum && $0 <= 1 << 20 ? .int($0) : nil }
            }
        case .word(let words):
            return Option(
                name, words.joined(separator: "|"), help: help, expected: "takes " + words.joined(separator: ", ")
            ) {
                words.contains($0) ? .word($0) : nil
            }
        case .integers:
            return Option(name, "I,J,…", help: help, expected: "needs integers separated by commas") { text in
                let items = text.split(separator: ",").map { Int($0) }
                return items.isEmpty || items.contains(nil) ? nil : .ints(items.map { $0! })
            }
        }
    }
}

/// A `--name` flag, read through its declaration (`arguments.isSet(Command.flag)`).
struct Flag {
    let spec: OptionSpec
    init(_ name: String, help: String) { spec = OptionSpec(name: name, valueName: nil, help: help) }
}

/// Command-line arguments parsed against a command's option specs. `--name=value` and `--name value`
/// both work; `--` ends the options (every word after it is positional); `--help` and `-h` ask for
/// help where an option may stand, never as an option's value.
struct ParsedArguments {
    private(set) var positionals: [String] = []
    private var values: [String: String] = [:]
    private var flags: Set<String> = []
    private(set) var wantsHelp = false

    /// Parses `arguments` for `command` (used in messages). A help request anywhere an option may
    /// stand wins over a mistake elsewhere on the line: `hpsweep run --bogus --help` shows the help.
    init(_ arguments: [String], specs: [OptionSpec], command: String) throws {
        var mistake: UsageError?
        func note(_ message: String) { mistake = mistake ?? UsageError(message) }
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if argument == "--" { positionals += arguments[index...]; break }
            if argument == "--help" || argument == "-h" { wantsHelp = true; return }
            guard argument.hasPrefix("--"), argument.count > 2 else {
                if argument.hasPrefix("-") && argument.count > 1 && Double(argument) == nil {
                    note("unknown option '\(argument)' for '\(command)'\(Self.suggestion(for: argument, in: specs))")
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
                note("unknown option '--\(name)' for '\(command)'\(Self.suggestion(for: name, in: specs))")
                continue
            }
            if spec.isFlag {
                if inlineValue != nil { note("option '--\(name)' of '\(command)' takes no value") }
                flags.insert(name)
            } else if let inlineValue {
                values[name] = inlineValue
            } else if index < arguments.count {
                values[name] = arguments[index]
                index += 1
            } else {
                note("option '--\(name)' of '\(command)' needs a value (\(spec.valueName!))")
            }
        }
        if let mistake { throw mistake }
    }

    /// The value given for `option`, nil when it was not given; a value `option` cannot parse is a
    /// UsageError naming the option.
    func value<Value>(_ option: Option<Value>) throws -> Value? {
        guard let text = values[option.spec.name] else { return nil }
        guard let value = option.parse(text) else {
            throw UsageError("option '--\(option.spec.name)' \(option.expected), got '\(text)'")
        }
        return value
    }

    func value<Value>(_ option: Option<Value>, default defaultValue: Value) throws -> Value {
        try value(option) ?? defaultValue
    }

    /// A text option's value (text cannot fail to parse).
    subscript(option: Option<String>) -> String? { values[option.spec.name] }

    func isSet(_ flag: Flag) -> Bool { flags.contains(flag.spec.name) }

    /// "; did you mean '--x'?" for the closest known option, when one is close.
    static func suggestion(for name: String, in specs: [OptionSpec]) -> String {
        didYouMean(String(name.drop { $0 == "-" }), among: specs.map(\.name), prefix: "--")
    }
}

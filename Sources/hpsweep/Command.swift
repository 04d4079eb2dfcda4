import Foundation
import Numerics

/// One `hpsweep` subcommand: its name path (e.g. ["bench", "backbone"]), help, options and action.
protocol Command {
    static var path: [String] { get }
    static var summary: String { get }
    static var usage: String { get }
    static var options: [OptionSpec] { get }
    /// Options named after the registered methods' hyperparameters (`bench sidenet|pool`): listed in
    /// their own help section and in the usage line as `[--HYPERPARAMETER VALUE]…`, so that a new
    /// method changes no usage line.
    static var methodOptions: [OptionSpec] { get }
    static func run(_ arguments: ParsedArguments) throws
}

extension Command {
    static var methodOptions: [OptionSpec] { [] }
    static var acceptedOptions: [OptionSpec] { options + methodOptions }
    static var displayName: String { "hpsweep " + path.joined(separator: " ") }

    static var help: String {
        var text = "\(summary)\n\nUsage: \(displayName) \(usage)\n"
        func list(_ specs: [OptionSpec]) {
            for option in specs {
                let left = "  --\(option.name)" + (option.valueName.map { " \($0)" } ?? "")
                text +=
                    left.padding(toLength: max(left.count + 2, 26), withPad: " ", startingAt: 0) + option.help + "\n"
            }
        }
        if !options.isEmpty {
            text += "\nOptions:\n"
            list(options)
        }
        text += "  -h, --help              Show this help.\n"
        text += "  --                      End of options: every word after it is positional.\n"
        if !methodOptions.isEmpty {
            text += "\nHyperparameters of the methods (--HYPERPARAMETER VALUE):\n"
            list(methodOptions)
        }
        return text
    }
}

/// The CPU and BLAS kernel this process computes with, for every header that reports figures or
/// results: figures do not carry from one CPU to another, nor bits from one kernel to another.
var machineLine: String { "  machine: \(CPUDescription.current.summary); \(BLASKernel.current.summary)" }

/// Ends a command with this exit status once its `defer` blocks have run (locks released, files
/// closed); whatever it had to say is printed already. 130 is the shell's code for Ctrl-C.
struct ExitStatus: Error {
    let code: Int32
    static let interrupted = ExitStatus(code: 130)
}

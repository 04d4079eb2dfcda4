import Backbone
import Cache
import Essentials
import Foundation
import Numerics
import Sweep

// hpsweep's entry point: argument dispatch and error reporting only; the work lives in the modules.

let commands: [any Command.Type] = [
    RunCommand.self, ValidateCommand.self, StatusCommand.self, LeaderboardCommand.self, CompareCommand.self,
    ReportCommand.self, ExportCommand.self, TableCommand.self, PredictCommand.self,
    CacheBuildCommand.self, CacheVerifyCommand.self, CacheImportCommand.self,
    BenchBackboneCommand.self, BenchSideNetCommand.self, BenchPoolCommand.self, BenchScheduleCommand.self,
    BenchGEMMCommand.self, InspectWeightsCommand.self,
]
let version = "0.1.0" + (buildCommit.map { " (\($0))" } ?? "")

func printTopLevelHelp() {
    print(
        """
        hpsweep \(version): hyperparameter sweeps of side-tuned vision transformers.

        Usage: hpsweep <command> [options]

        Commands:
        """)
    for command in commands {
        let name = command.path.joined(separator: " ")
        print("  " + name.padding(toLength: max(name.count + 2, 20), withPad: " ", startingAt: 0) + command.summary)
    }
    print("\nRun 'hpsweep help <command>' or 'hpsweep <command> --help' for a command's options.")
}

/// The command whose path is the longest prefix of `words`, and the words after it.
func resolve(_ words: [String]) -> (any Command.Type, [String])? {
    for command in commands.sorted(by: { $0.path.count > $1.path.count }) where words.starts(with: command.path) {
        return (command, Array(words.dropFirst(command.path.count)))
    }
    return nil
}

func fail(_ message: String, status: Int32) -> Never {
    FileHandle.standardError.write(Data("hpsweep: error: \(message)\n".utf8))
    exit(status)
}

// Progress lines must reach a pipe or log file as they are printed, not when the buffer fills.
setvbuf(stdout, nil, _IOLBF, 0)

var words = Array(CommandLine.arguments.dropFirst())
if words == ["--help"] || words == ["-h"] || words == ["help"] {
    printTopLevelHelp()
    exit(0)
}
if words.isEmpty {  // a command is missing: a usage error (2), with the list of commands
    printTopLevelHelp()
    exit(2)
}
// The kernel OpenBLAS runs was settled before main (CBLASKernel); say so when it is not the best
// this CPU can run, and refuse to compute with one that gets a small integer product wrong.
if let problem = BLASKernel.current.problem {
    FileHandle.standardError.write(Data("hpsweep: warning: BLAS kernel \(BLASKernel.current.core): \(problem)\n".utf8))
}
guard BLASKernel.selfCheckPasses() else {
    fail(
        "OpenBLAS's \(BLASKernel.current.core) kernel gives wrong sgemm results on this CPU (\(CPUDescription.current.summary)); set OPENBLAS_CORETYPE to another core type (Haswell, SkylakeX, Zen, …)",
        status: 1)
}
if words == ["--version"] || words == ["version"] {
    print("hpsweep \(version)")
    print("BLAS: \(BLASKernel.current.summary)")
    print("CPU: \(CPUDescription.current.summary)")
    print(
        "bf16 GEMM: \(BFloat16GEMM.amxAvailable ? "AMX tiles" : BFloat16GEMM.hardwareAvailable ? "vdpbf16ps (AVX512_BF16)" : "none (fp32 only)")"
    )
    exit(0)
}
// `hpsweep help run`, `hpsweep --help run`; a command's own `--help` is found by its parser, where an
// option may stand (so `--results -h` is a directory named -h, and `-- -h` a positional).
var wantsHelp = false
if ["help", "--help", "-h"].contains(words.first) { wantsHelp = true; words.removeFirst() }

guard let (command, rest) = resolve(words) else {
    let typed = words.prefix(2).joined(separator: " ")
    let names = commands.map { $0.path.joined(separator: " ") }
    fail("unknown command '\(typed)'\(didYouMean(typed, among: names)) (see 'hpsweep help')", status: 2)
}
if wantsHelp {
    print(command.help, terminator: "")
    exit(0)
}
do {
    let arguments = try ParsedArguments(rest, specs: command.acceptedOptions, command: command.displayName)
    if arguments.wantsHelp {
        print(command.help, terminator: "")
        exit(0)
    }
    try command.run(arguments)
} catch let status as ExitStatus {
    exit(status.code)
} catch let error as UsageError {
    fail(error.description, status: 2)
} catch let error as CustomStringConvertible & Error {
    // Every user-facing error type (WeightsError, DatasetError, CacheError, SpecError, …) describes
    // itself in one line that names the file.
    fail(error.description, status: 1)
} catch {
    fail("\(error)", status: 1)
}

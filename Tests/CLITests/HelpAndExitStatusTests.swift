import Foundation
import XCTest
import _TestSupport

/// One exit-status rule for every command (README, "Exit status": 2 for a wrong command line, 1 for a
/// file or directory that cannot serve, or failed work), and every option a command accepts shown in
/// its --help usage line.
final class HelpAndExitStatusTests: XCTestCase {
    let cli = CLI()

    /// Every command, as `hpsweep help` lists them.
    func commands() throws -> [[String]] {
        let help = try cli.run("help")
        XCTAssertEqual(help.status, 0)
        let section = help.stdout.components(separatedBy: "Commands:\n").last ?? ""
        let names = section.split(separator: "\n").prefix { $0.hasPrefix("  ") }.map { line in
            // "  cache build         Build …": the words before the two-space gap.
            line.trimmingCharacters(in: .whitespaces).components(separatedBy: "  ").first!.split(separator: " ").map(
                String.init)
        }
        XCTAssertGreaterThan(names.count, 10, help.stdout)
        return names
    }

    func testEveryOptionACommandAcceptsIsInItsUsageLine() throws {
        for command in try commands() {
            let help = try cli.run(command + ["--help"])
            XCTAssertEqual(help.status, 0, "\(command)")
            let usage = help.stdout.split(separator: "\n").first { $0.hasPrefix("Usage: ") }.map(String.init) ?? ""
            XCTAssertTrue(usage.hasPrefix("Usage: hpsweep \(command.joined(separator: " "))"), "\(command): \(usage)")
            func optionNames(after heading: String) -> [String] {
                let section = help.stdout.components(separatedBy: "\n\(heading)\n").dropFirst().first?
                    .components(separatedBy: "\n\n").first
                return section?.split(separator: "\n").compactMap { line -> String? in
                    let word =
                        line.trimmingCharacters(in: .whitespaces).split(separator: " ").first.map(String.init) ?? ""
                    return word.hasPrefix("--") && word != "--" ? word : nil
                } ?? []
            }
            let options = optionNames(after: "Options:")
            // The methods' hyperparameters stand in the usage line as one placeholder.
            let hyperparameters = optionNames(after: "Hyperparameters of the methods (--HYPERPARAMETER VALUE):")
            XCTAssertEqual(
                !hyperparameters.isEmpty, usage.contains("[--HYPERPARAMETER VALUE]…"), "\(command): \(usage)")
            for option in options {
                XCTAssertTrue(
                    usage.contains(option + " ") || usage.contains(option + "]") || usage.hasSuffix(option)
                        || usage.contains(option + "="),
                    "\(command.joined(separator: " ")): \(option) is accepted but missing from the usage line: \(usage)"
                )
            }
            // And the parser accepts each listed option (an unknown one is a usage error, 2).
            let unknown = try cli.run(command + ["--no-such-option"])
            XCTAssertEqual(unknown.status, 2, "\(command): \(unknown.stderr)")
            XCTAssertTrue(unknown.stderr.contains("unknown option '--no-such-option'"), "\(command): \(unknown.stderr)")
        }
    }

    func testTheExitStatusRuleHoldsForEveryCommand() throws {
        let dir = temporaryDirectory(self)
        let empty = dir.appendingPathComponent("empty").path
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
        let missing = dir.appendingPathComponent("missing").path
        let bare = try cli.run([String]())
        XCTAssertEqual(bare.status, 2, "hpsweep without a command is a usage error")
        XCTAssertTrue(bare.stdout.contains("Commands:") || bare.stderr.contains("Commands:"), bare.stdout + bare.stderr)

        // A wrong command line: 2.
        let usage: [[String]] = [
            ["run"], ["validate"], ["status"], ["leaderboard"], ["compare", "a.csv"], ["report"], ["export"], ["table"],
            ["predict"], ["cache"], ["cache", "verify"], ["cache", "import"], ["inspect", "weights"],
            ["bench", "sidenet"],
            ["no-such-command"], ["run", "a.json", "b.json"], ["run", "x.json", "--workers", "0"],
        ]
        for arguments in usage {
            let result = try cli.run(arguments)
            XCTAssertEqual(result.status, 2, "\(arguments): \(result.stderr)")
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "\(arguments): one line: \(result.stderr)")
        }
        // A file or directory that cannot serve (missing, not what the command reads, unwritable): 1.
        let files: [[String]] = [
            ["run", missing + ".json"], ["validate", missing + ".json"], ["validate", empty],
            ["status", missing], ["status", empty], ["leaderboard", missing], ["leaderboard", empty],
            ["report", missing], ["report", empty], ["table", missing], ["table", empty],
            ["compare", missing + ".csv", missing + "2.csv"], ["export", "--optuna", empty, dir.path + "/out.log"],
            ["predict", missing + ".safetensors", missing + ".png"], ["inspect", "weights", missing + ".safetensors"],
            ["cache", missing + ".json"], ["cache", "verify", missing], ["cache", "verify", empty],
            ["cache", "import", missing],
        ]
        for arguments in files {
            let result = try cli.run(arguments)
            XCTAssertEqual(result.status, 1, "\(arguments): \(result.stderr)")
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "\(arguments): one line: \(result.stderr)")
            XCTAssertTrue(result.stderr.hasPrefix("hpsweep: error: "), "\(arguments): \(result.stderr)")
        }
    }

    static let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("README.md")

    /// The README's "Commands" block is each command's usage line, as its --help prints it.
    func testTheReadmeCommandListIsTheUsageOfEveryCommand() throws {
        let text = try String(contentsOf: Self.readme, encoding: .utf8)
        let block =
            text.components(separatedBy: "## Commands\n\n```\n").dropFirst().first?.components(separatedBy: "```").first
            ?? ""
        let listed = block.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("hpsweep help") }
        var expected: [String] = []
        for command in try commands() {
            let help = try cli.run(command + ["--help"])
            expected += help.stdout.split(separator: "\n").filter { $0.hasPrefix("Usage: ") }.map {
                String($0.dropFirst("Usage: ".count))
            }
        }
        XCTAssertEqual(listed.count, expected.count)
        for (line, usage) in zip(listed, expected) { XCTAssertEqual(line, usage) }
    }

    /// Every example command in the README names a command that exists with options it accepts (each
    /// is run with --help appended: an unknown command or option would fail first).
    func testEveryCommandInTheReadmesExamplesExists() throws {
        let text = try String(contentsOf: Self.readme, encoding: .utf8)
        let prefixes = ["$ swift run -c release hpsweep ", "swift run -c release hpsweep ", "$ hpsweep ", "hpsweep "]
        var checked = 0
        for raw in text.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            guard let prefix = prefixes.first(where: { line.hasPrefix($0) }) else { continue }
            // A synopsis ([optional], a|b, …) or prose is not an example.
            let command = line.dropFirst(prefix.count).components(separatedBy: " #").first!.trimmingCharacters(
                in: .whitespaces)
            if command.contains("[") || command.contains("|") || command.contains("…") || command.contains("`")
                || command.hasPrefix("help")
            {
                continue
            }
            let words = command.split(separator: " ").map(String.init)
            if words.contains(where: { $0.hasSuffix(":") }) { continue }  // a line of output ("hpsweep run: demo …")
            let result = try cli.run(words + ["--help"])
            XCTAssertEqual(result.status, 0, "README: '\(line)': \(result.stderr)")
            checked += 1
        }
        XCTAssertGreaterThan(checked, 10, "the README's examples were found")
    }
}

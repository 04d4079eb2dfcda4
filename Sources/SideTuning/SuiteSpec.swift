import Essentials
import Foundation
import Sweep

/// One task of a suite: its name (the folder under the data root and under results/<suite>/), class
/// count, and the group its table averages it in (nil: none).
public struct SuiteTask: Codable, Equatable, Sendable {
    public let name: String
    public let classes: Int
    public let group: String?
    /// Other folder names the task's data may have under the root (VTAB-1k's aliases).
    public var aliases: [String] = []

    enum CodingKeys: String, CodingKey { case name, classes, group }

    public init(name: String, classes: Int, group: String?, aliases: [String] = []) {
        self.name = name; self.classes = classes; self.group = group; self.aliases = aliases
    }
    public init(_ task: VTABTask) {
        self.init(name: task.name, classes: task.classes, group: task.group.rawValue, aliases: task.aliases)
    }
}

/// A sweep file that lists tasks (`"tasks": "vtab-1k"`, a list of VTAB-1k names, or objects naming
/// tasks of one's own): one ordinary sweep per task, `results/<suite>/<task>/`, each with its own cache,
/// journal, leaderboard and models. Every task's sweep is the file itself with `name` = the task,
/// `data.task` = the task's folder under `data.root` (its NOAH/FacT name, or an alias that exists
/// there) and `data.classes` = its class count, then `overrides.<task>` merged in (objects key by key,
/// anything else replaced).
public struct SuiteSpec {
    public let file: String
    public let name: String
    public let tasks: [(task: SuiteTask, spec: SweepSpec)]
    /// Whether every task is one of VTAB-1k's (the table then has the paper's 19 columns).
    public let isVTAB1k: Bool

    /// Whether the JSON at `file` is a suite (has `tasks`); false when it cannot be read (the sweep
    /// reader then says why).
    public static func isSuite(_ file: String) -> Bool { (try? SpecReader.load(file))?.has("tasks") ?? false }

    public static func load(_ file: String) throws -> SuiteSpec {
        var top = try SpecReader.load(file)
        guard let name = try top.string("name") else { throw top.fail("name", "is required") }
        let tasks = try parseTasks(&top)
        guard let data = top.raw("data")?.object, data["format"]?.string == "vtab", let root = data["root"]?.string
        else {
            throw top.fail(
                "data",
                "a suite needs a 'vtab' data section with its 'root' (the folder holding <task>/train800.txt, …)")
        }
        if data["task"] != nil || data["classes"] != nil {
            throw top.fail(
                "data",
                "a suite sets each task's 'task' and 'classes' itself; remove them (use 'overrides' for one task)")
        }
        top.mark("overrides")
        let overrides = top.raw("overrides")?.object ?? [:]
        if top.raw("overrides") != nil && top.raw("overrides")?.object == nil {
            throw top.fail("overrides", "must be an object of task name → sweep fields")
        }
        for key in overrides.keys where !tasks.contains(where: { $0.name == key || $0.aliases.contains(key) }) {
            throw top.fail("overrides", "'\(key)' is not one of the suite's tasks")
        }
        let rootPath = top.resolvePath(root)
        let specs = try tasks.map { task -> (SuiteTask, SweepSpec) in
            var object = top.object
            object["tasks"] = nil; object["overrides"] = nil
            object["name"] = .string(task.name)
            var taskData = data
            // The folder as it exists under the root (the NOAH name or an alias), else the NOAH name.
            let folder = ([task.name] + task.aliases).first {
                FileManager.default.fileExists(atPath: (rootPath as NSString).appendingPathComponent($0))
            }
            taskData["task"] = .string(folder ?? task.name)
            taskData["classes"] = .int(task.classes)
            object["data"] = .object(taskData)
            if let override = overrides[task.name] ?? task.aliases.lazy.compactMap({ overrides[$0] }).first {
                guard let fields = override.object else {
                    throw top.fail("overrides", "'\(task.name)' must be an object of sweep fields")
                }
                // A task's name is its folder under results/<suite>/ and its column in `table`: an
                // override must not rename it (onto another task's, or away from its own).
                if fields["name"] != nil {
                    throw top.fail(
                        "overrides",
                        "'\(task.name)' may not set 'name': a suite task's name is its own (results/<suite>/\(task.name))"
                    )
                }
                object = merged(object, fields)
            }
            return (task, try SweepSpec.parse(SpecReader(file: file, path: "$", object: object)))
        }
        return SuiteSpec(
            file: file, name: name, tasks: specs, isVTAB1k: tasks.allSatisfy { VTABTask.named($0.name) != nil })
    }

    /// `tasks`: "vtab-1k", or a list whose items are VTAB-1k names or `{"name", "classes", "group"}`
    /// objects (a task of one's own; `group` optional).
    static func parseTasks(_ top: inout SpecReader) throws -> [SuiteTask] {
        top.mark("tasks")
        let items: [JSONValue]
        switch top.raw("tasks") {
        case .string(let word)? where word.lowercased() == "vtab-1k": items = VTABTask.all.map { .string($0.name) }
        case .array(let list)? where !list.isEmpty: items = list
        default:
            throw top.fail(
                "tasks",
                "must be \"vtab-1k\" (all 19 tasks) or a non-empty list of VTAB-1k task names and {\"name\", \"classes\", \"group\"} objects"
            )
        }
        var tasks: [SuiteTask] = []
        for (index, item) in items.enumerated() {
            let task: SuiteTask
            switch item {
            case .string(let name):
                guard let known = VTABTask.named(name) else {
                    throw top.fail(
                        "tasks",
                        "unknown VTAB-1k task '\(name)'\(didYouMean(name, among: VTABTask.all.map(\.name))) (tasks: \(VTABTask.all.map(\.name).joined(separator: ", ")); a task of your own is an object {\"name\", \"classes\"})"
                    )
                }
                task = SuiteTask(known)
            case .object(let object):
                var r = SpecReader(file: top.file, path: "$.tasks[\(index)]", object: object)
                // The name is a folder under the data root and under results/<suite>/.
                guard let name = try r.string("name"), !name.isEmpty, !name.hasPrefix("."), name.count <= 200,
                    name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." })
                else {
                    throw r.fail(
                        "name",
                        r.has("name")
                            ? "must be letters, digits, '-', '_' or '.', not starting with '.'"
                            : "is required (the task's folder under data.root)")
                }
                let known = VTABTask.named(name)
                guard let classes = try r.integer("classes", minimum: 2, maximum: 1_000_000) ?? known?.classes else {
                    throw r.fail("classes", "is required (the task's class count)")
                }
                let group = try r.string("group") ?? known?.group.rawValue
                try r.rejectUnknownKeys()
                task = SuiteTask(
                    name: known?.name ?? name, classes: classes, group: group, aliases: known?.aliases ?? [])
            default:
                throw top.fail(
                    "tasks", "item \(index) must be a VTAB-1k task name or an object {\"name\", \"classes\", \"group\"}"
                )
            }
            guard !tasks.contains(where: { $0.name == task.name }) else {
                throw top.fail("tasks", "'\(task.name)' is listed twice")
            }
            tasks.append(task)
        }
        return tasks
    }

    /// `base` with `override`'s fields: objects merged key by key, anything else replaced.
    static func merged(_ base: [String: JSONValue], _ override: [String: JSONValue]) -> [String: JSONValue] {
        var result = base
        for (key, value) in override {
            if let inner = value.object, let old = base[key]?.object {
                result[key] = .object(merged(old, inner))
            } else {
                result[key] = value
            }
        }
        return result
    }

    /// The manifest `results/<suite>/suite-manifest.json` (docs/formats.md): the suite's tasks in order, which
    /// `hpsweep table` reads to know the columns and groups.
    public var manifest: SuiteManifest { SuiteManifest(suite: name, vtab1k: isVTAB1k, tasks: tasks.map(\.task)) }
}

/// `results/<suite>/suite-manifest.json`: what `hpsweep run` knew of the suite when it last ran it.
public struct SuiteManifest: Codable, Equatable {
    public var suite: String
    /// Every task is VTAB-1k's: the table shows all 19 columns, unfinished ones marked.
    public var vtab1k: Bool
    public var tasks: [SuiteTask]

    enum CodingKeys: String, CodingKey {
        case suite
        case vtab1k = "vtab_1k"
        case tasks
    }

    public init(suite: String, vtab1k: Bool, tasks: [SuiteTask]) {
        self.suite = suite; self.vtab1k = vtab1k; self.tasks = tasks
    }

    public static let fileName = "suite-manifest.json"

    public static func read(directory: String) throws -> SuiteManifest? {
        let path = (directory as NSString).appendingPathComponent(fileName)
        guard let data = contentsOfRegularFile(path) else { return nil }
        do { return try JSONDecoder().decode(SuiteManifest.self, from: data) } catch {
            throw SpecError(
                file: path, path: "$",
                message: "is not a suite manifest as 'hpsweep run' writes it (\(error.localizedDescription))")
        }
    }

    public func write(directory: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try replaceAtomically(
            (directory as NSString).appendingPathComponent(Self.fileName),
            with: try encoder.encode(self) + Data("\n".utf8))
    }
}

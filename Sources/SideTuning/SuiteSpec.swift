import Essentials
import Foundation
import Sweep

/// A sweep file that lists tasks (`"tasks": "vtab-1k"`, or a list of VTAB-1k names): one ordinary
/// sweep per task, `results/<suite>/<task>/`, each with its own cache, journal, leaderboard and models.
/// Every task's sweep is the file itself with `name` = the task, `data.task` = the task's folder under
/// `data.root` (its NOAH/FacT name, or an alias that exists there) and `data.classes` = its class count,
/// then `overrides.<task>` merged in (objects key by key, anything else replaced).
public struct SuiteSpec {
    public let file: String
    public let name: String
    public let tasks: [(task: VTABTask, spec: SweepSpec)]

    /// Whether the JSON at `file` is a suite (has `tasks`); nil when it cannot be read (the sweep
    /// reader then says why).
    public static func isSuite(_ file: String) -> Bool { (try? SpecReader.load(file))?.has("tasks") ?? false }

    public static func load(_ file: String) throws -> SuiteSpec {
        var top = try SpecReader.load(file)
        guard let name = try top.string("name") else { throw top.fail("name", "is required") }
        top.mark("tasks")
        let names: [String]
        switch top.raw("tasks") {
        case let word as String where word.lowercased() == "vtab-1k": names = VTABTask.all.map(\.name)
        case let list as [String] where !list.isEmpty: names = list
        default: throw top.fail("tasks", "must be \"vtab-1k\" (all 19 tasks) or a non-empty list of VTAB-1k task names")
        }
        var tasks: [VTABTask] = []
        for task in names {
            guard let known = VTABTask.named(task) else {
                throw top.fail("tasks", "unknown VTAB-1k task '\(task)'\(didYouMean(task, among: VTABTask.all.map(\.name))) (tasks: \(VTABTask.all.map(\.name).joined(separator: ", ")))")
            }
            guard !tasks.contains(where: { $0.name == known.name }) else { throw top.fail("tasks", "'\(task)' is listed twice") }
            tasks.append(known)
        }
        guard case let data as [String: Any] = top.raw("data"), data["format"] as? String == "vtab", let root = data["root"] as? String else {
            throw top.fail("data", "a suite needs a 'vtab' data section with its 'root' (the folder holding <task>/train800.txt, …)")
        }
        if data["task"] != nil || data["classes"] != nil {
            throw top.fail("data", "a suite sets each task's 'task' and 'classes' itself; remove them (use 'overrides' for one task)")
        }
        top.mark("overrides")
        let overrides = top.raw("overrides") as? [String: Any] ?? [:]
        if top.raw("overrides") != nil && !(top.raw("overrides") is [String: Any]) { throw top.fail("overrides", "must be an object of task name → sweep fields") }
        for key in overrides.keys where !tasks.contains(where: { $0.name == key || $0.aliases.contains(key) }) {
            throw top.fail("overrides", "'\(key)' is not one of the suite's tasks")
        }
        let rootPath = top.resolvePath(root)
        let specs = try tasks.map { task -> (VTABTask, SweepSpec) in
            var object = top.object
            object["tasks"] = nil; object["overrides"] = nil
            object["name"] = task.name
            var taskData = data
            // The folder as it exists under the root (the NOAH name or an alias), else the NOAH name.
            let folder = ([task.name] + task.aliases).first { FileManager.default.fileExists(atPath: (rootPath as NSString).appendingPathComponent($0)) }
            taskData["task"] = folder ?? task.name
            taskData["classes"] = task.classes
            object["data"] = taskData
            if let override = overrides[task.name] ?? task.aliases.lazy.compactMap({ overrides[$0] }).first {
                guard let fields = override as? [String: Any] else { throw top.fail("overrides", "'\(task.name)' must be an object of sweep fields") }
                object = merged(object, fields)
            }
            return (task, try SweepSpec.parse(SpecReader(file: file, path: "$", object: object)))
        }
        return SuiteSpec(file: file, name: name, tasks: specs)
    }

    /// `base` with `override`'s fields: objects merged key by key, anything else replaced.
    static func merged(_ base: [String: Any], _ override: [String: Any]) -> [String: Any] {
        var result = base
        for (key, value) in override {
            if let inner = value as? [String: Any], let old = base[key] as? [String: Any] { result[key] = merged(old, inner) }
            else { result[key] = value }
        }
        return result
    }
}

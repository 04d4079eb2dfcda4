import Datasets
import Essentials
import Foundation
import Sweep

// The `data` section of a sweep file (docs/sweep-spec.md): where the images are, in which of the three
// layouts, which splits the search and the final phase use, and the classes' count and names.
extension SweepSpec {
    public struct DataSpec {
        public enum Source {
            case vtab(root: String, task: String)
            case numpy(splits: [String: (images: String, labels: String)])
            /// `<root>/<split>/<class>/<image>` (torchvision's ImageFolder).
            case folders(root: String)
        }
        public var source: Source
        public var classes: Int
        public var searchTrain: String, searchEval: String
        public var finalTrain: String, finalEval: String
        public var mean: [Float], std: [Float]
        /// The class names, in label order, when the data names them.
        public var classNames: [String]?

        /// Every split the sweep names, in a stable order.
        public var splitNames: [String] { distinct([searchTrain, searchEval, finalTrain, finalEval]) }
    }

    enum DataFormat: String, CaseIterable {
        case vtab, numpy, folders

        /// The split names (search train, search eval, final train, final eval) when the file leaves
        /// them out: VTAB-1k's for list files and arrays, torchvision's habit for class folders.
        var defaultSplits: [String] {
            self == .folders ? ["train", "val", "train", "test"] : ["train800", "val200", "train800val200", "test"]
        }
    }

    /// The splits `search` and `final` name, each with where its name came from, for errors ("named
    /// by data.search.train" or "named by data.final.train's default").
    struct SplitRoles {
        var searchTrain = "", searchEval = "", finalTrain = "", finalEval = ""
        var origins: [String: String] = [:]
        var names: [String] { distinct([searchTrain, searchEval, finalTrain, finalEval]) }
        func origin(_ split: String) -> String { origins[split].map { "named by \($0)" } ?? "" }
    }

    /// `normalization`: the mean/std when the section gives none (ImageNet's, or CLIP's for CLIP weights).
    static func parseData(_ r: inout SpecReader, normalization: (mean: [Float], std: [Float])) throws -> DataSpec {
        let formats = DataFormat.allCases.map(\.rawValue)
        var name = try r.string("format") ?? ""
        if name == "imagefolder" { name = "folders" }  // torchvision's name for the layout
        guard let format = DataFormat(rawValue: name) else {
            throw r.fail(
                "format",
                r.has("format")
                    ? "must be 'vtab', 'numpy' or 'folders' (<root>/<split>/<class>/<image>)\(didYouMean(name, among: formats))"
                    : "is required ('vtab', 'numpy' or 'folders')")
        }
        let roles = try splitRoles(&r, defaults: format.defaultSplits)
        let source: DataSpec.Source
        var classNames: [String]? = nil
        switch format {
        case .vtab: source = try vtabSource(&r, roles)
        case .numpy: source = try numpySource(&r, roles)
        case .folders: (source, classNames) = try folderSource(&r, roles)
        }
        let classes: Int
        if let names = classNames {
            // The folders say how many; a `classes` given as well must agree.
            if let given = try r.integer("classes", minimum: 2, maximum: 1 << 20), given != names.count {
                throw r.fail("classes", "is \(given), but \(roles.searchTrain) has \(names.count) class folders")
            }
            classes = names.count
        } else {
            guard let given = try r.integer("classes", minimum: 2, maximum: 1 << 20) else {
                throw r.fail("classes", "is required (number of classes)")
            }
            classes = given
            classNames = try declaredClassNames(&r, source: source, classes: classes)
        }
        if format == .folders, r.has("class_names") {
            throw r.fail("class_names", "is not used with format 'folders': the class folders name the classes")
        }
        r.mark("class_names")
        let spec = DataSpec(
            source: source, classes: classes, searchTrain: roles.searchTrain, searchEval: roles.searchEval,
            finalTrain: roles.finalTrain, finalEval: roles.finalEval,
            mean: try r.numbers("mean", count: 3)?.map { Float($0) } ?? normalization.mean,
            std: try r.numbers("std", count: 3)?.map { Float($0) } ?? normalization.std, classNames: classNames)
        if spec.std.contains(where: { !($0 > 0) }) { throw r.fail("std", "values must be positive") }
        try r.rejectUnknownKeys()
        return spec
    }

    static func splitRoles(_ r: inout SpecReader, defaults: [String]) throws -> SplitRoles {
        var search = try r.object("search") ?? SpecReader(file: r.file, path: r.path + ".search", object: [:])
        var final = try r.object("final") ?? SpecReader(file: r.file, path: r.path + ".final", object: [:])
        var roles = SplitRoles()
        func role(_ reader: inout SpecReader, _ key: String, _ fallback: String) throws -> String {
            let given = try reader.string(key)
            let name = given ?? fallback
            let field = "\(reader.path.dropFirst(2)).\(key)"  // "data.search.train", without "$."
            roles.origins[name] = roles.origins[name] ?? (given == nil ? "\(field)'s default" : field)
            return name
        }
        roles.searchTrain = try role(&search, "train", defaults[0])
        roles.searchEval = try role(&search, "eval", defaults[1])
        roles.finalTrain = try role(&final, "train", defaults[2])
        roles.finalEval = try role(&final, "eval", defaults[3])
        try search.rejectUnknownKeys()
        try final.rejectUnknownKeys()
        return roles
    }

    /// `<root>/<task>/<split>.txt` for every split the sweep names, checked before any work.
    static func vtabSource(_ r: inout SpecReader, _ roles: SplitRoles) throws -> DataSpec.Source {
        guard let root = try r.string("root") else { throw r.fail("root", "is required for format 'vtab'") }
        guard let task = try r.string("task") else { throw r.fail("task", "is required for format 'vtab'") }
        let url = try r.string("url")
        let directory = (r.resolvePath(root) as NSString).appendingPathComponent(task)
        guard FileManager.default.fileExists(atPath: directory) else {
            let list = (directory as NSString).appendingPathComponent("\(roles.searchTrain).txt")
            let how =
                url.map { "get the VTAB-1k data (\($0)) and unpack it so that \(absolute(list)) exists" }
                ?? "unpack VTAB-1k so that \(absolute(list)) exists (docs/sweep-spec.md, 'data')"
            throw r.fail("root", "no VTAB-1k task '\(task)' under \(r.resolvePath(root)): \(how)")
        }
        for split in roles.names
        where !FileManager.default.fileExists(atPath: (directory as NSString).appendingPathComponent("\(split).txt")) {
            throw r.fail(
                "task",
                "\(absolute(directory)) has no list file \(split).txt for split '\(split)' (\(roles.origin(split)))")
        }
        return .vtab(root: r.resolvePath(root), task: task)
    }

    /// `splits`: images and labels arrays per split, one for every split the sweep names.
    static func numpySource(_ r: inout SpecReader, _ roles: SplitRoles) throws -> DataSpec.Source {
        guard let splitsReader = try r.object("splits") else {
            throw r.fail("splits", "is required for format 'numpy'")
        }
        var splits: [String: (String, String)] = [:]
        for name in splitsReader.keys {
            var s = try splitsReader.objectValue(name)
            guard let images = try s.string("images"), let labels = try s.string("labels") else {
                throw s.fail(nil, "needs 'images' and 'labels' (.npy files)")
            }
            try s.rejectUnknownKeys()
            splits[name] = (s.resolvePath(images), s.resolvePath(labels))
        }
        for name in roles.names where splits[name] == nil {
            throw r.fail(
                "splits",
                "has no split '\(name)' (\(roles.origin(name))); it has \(splits.keys.sorted().joined(separator: ", "))"
            )
        }
        return .numpy(splits: splits)
    }

    /// `<root>/<split>/` for every split the sweep names; the classes are the search train split's folders.
    static func folderSource(_ r: inout SpecReader, _ roles: SplitRoles) throws -> (DataSpec.Source, [String]) {
        guard let root = try r.string("root") else {
            throw r.fail("root", "is required for format 'folders' (the folder holding <split>/<class>/<image>)")
        }
        let directory = r.resolvePath(root)
        for split in roles.names {
            let path = (directory as NSString).appendingPathComponent(split)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw r.fail("root", "\(absolute(path)): no folder for split '\(split)' (\(roles.origin(split)))")
            }
        }
        let names: [String]
        do { names = try FolderSplit.classNames(root: directory, split: roles.searchTrain) } catch {
            throw r.fail("root", "\(error)")
        }
        guard names.count >= 2 else {
            let path = absolute((directory as NSString).appendingPathComponent(roles.searchTrain))
            throw r.fail(
                "root",
                "\(path) has \(names.count) class folder\(names.count == 1 ? "" : "s"); a classifier needs at least 2")
        }
        return (.folders(root: directory), names)
    }

    /// Names for classes the data does not name itself: `class_names`, a list or a text file of one name
    /// per line; for vtab, `<task>/classes.txt` when present. nil when there are none.
    static func declaredClassNames(_ r: inout SpecReader, source: DataSpec.Source, classes: Int) throws -> [String]? {
        var names: [String]? = nil, file: String? = nil
        if let raw = r.raw("class_names") {
            if let list = raw.array {
                names = list.compactMap(\.string)
                guard names!.count == list.count else { throw r.fail("class_names", "must be a list of strings") }
            } else if let path = raw.string {
                file = r.resolvePath(path)
            } else {
                throw r.fail("class_names", "must be a list of names or a text file of one name per line")
            }
        } else if case .vtab(let root, let task) = source {
            let path = ((root as NSString).appendingPathComponent(task) as NSString).appendingPathComponent(
                "classes.txt")
            if FileManager.default.fileExists(atPath: path) { file = path }
        }
        if let file {
            guard let data = contentsOfRegularFile(file), let text = String(data: data, encoding: .utf8) else {
                throw r.fail("class_names", "\(absolute(file)): \(whyUnreadable(file))")
            }
            names = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty }
        }
        guard let names else { return nil }
        let origin = file.map { absolute($0) } ?? "the list"
        guard names.count == classes else {
            throw r.fail("class_names", "\(origin) has \(names.count) names for \(classes) classes")
        }
        guard Set(names).count == names.count else { throw r.fail("class_names", "\(origin) names a class twice") }
        return names
    }

    /// Opens one split of the data by name.
    public func openSplit(_ name: String) throws -> any ImageSplit {
        switch data.source {
        case let .vtab(root, task):
            return try VTABSplit(root: root, task: task, split: name, classes: data.classes)
        case let .numpy(splits):
            let (images, labels) = splits[name]!
            return try NumpySplit(name: name, images: images, labels: labels, classes: data.classes)
        case let .folders(root):
            return try FolderSplit(
                root: root, split: name, classNames: data.classNames, classesFrom: "split '\(data.searchTrain)'")
        }
    }
}

/// `names` without repeats, in first-seen order.
private func distinct(_ names: [String]) -> [String] {
    names.reduce(into: []) { if !$0.contains($1) { $0.append($1) } }
}

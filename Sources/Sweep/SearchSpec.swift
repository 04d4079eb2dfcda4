// Over 300 lines because methods, spaces and domains are parsed with one reader and their checks depend on each other;
// the smaller sections are SearchSpec+Sections.swift.

import Essentials
import Foundation

/// What a sweep searches and how (docs/sweep-spec.md): methods and their spaces, the sampler, the
/// budget, epochs, early stopping, objectives, seeds, and the pool's workers and memory.
public struct SearchSpec {
    /// Limits on sizes a sweep file can ask for (docs/sweep-spec.md): past them a typo such as
    /// `"trials": 1e12` would print or allocate without end.
    public static let maximumTrials = 100_000
    public static let maximumSeeds = 1000
    public static let maximumListLength = 10_000

    public enum SamplerKind: String, CaseIterable { case grid, random, sobol, tpe }

    public struct Sampler: Equatable {
        public var kind: SamplerKind
        /// Configurations per generation: proposals see only the results of earlier generations, and
        /// early stopping ranks within a generation, so results never depend on timing.
        public var generationSize: Int
        /// tpe: configurations drawn quasi-randomly (Sobol) before the model takes over.
        public var startup: Int
        /// tpe: generation g is proposed from generations 0...g − lag, as they stood at the lowest rung;
        /// the `lag − 1` generations just before it train meanwhile (docs/workers.md).
        public var lag: Int = Self.defaultLag
        public static let defaultLag = 2
    }

    public var constraints: [Constraint] = []

    /// Successive halving within each generation: at each rung (an epoch count) the best 1/η of the
    /// generation's trials, by the primary objective, continue; the rest are pruned.
    public struct EarlyStopping: Equatable {
        public var rungs: [Int]
        public var reductionFactor: Int
        /// Rank at rungs by Pareto front over all objectives (instead of the primary objective alone),
        /// and stop trials that could not reach the front even with the largest gain seen.
        public var paretoAware = false
    }

    /// A bound on a metric known before training (params, peak_memory, flops): configurations that
    /// break it are rejected without training.
    public struct Constraint: Equatable {
        public var metric: Metric
        public var maximum: Double
        public var text: String
    }

    public enum Direction: String { case maximize, minimize }

    public enum Metric: String, CaseIterable {
        case valAccuracy = "val_acc"
        case valLoss = "val_loss"
        case params, flops
        case trainSeconds = "train_seconds"
        case peakMemory = "peak_memory"
        var defaultDirection: Direction { self == .valAccuracy ? .maximize : .minimize }
    }

    public struct Objective: Equatable {
        public var metric: Metric
        public var direction: Direction
        public var name: String { metric.rawValue }
        public init(metric: Metric, direction: Direction) { self.metric = metric; self.direction = direction }
    }

    public var seed: UInt64
    public var methods: [MethodSpace]
    public var sampler: Sampler
    /// Configurations to try (each run once per seed).
    public var trials: Int
    public var epochs: Int
    public var earlyStopping: EarlyStopping?
    public var objectives: [Objective]
    public var seeds: [Int]
    public var workers: Int?
    public var memoryBytes: Int?
    /// After the search, the best `finalTop` configurations of each method are retrained on the final
    /// train split and evaluated on the final eval split (0: no final phase).
    public var finalTop: Int
    /// Which trained networks are kept as model files (results/<sweep>/models/).
    public var keepModels: KeepModels = .final
    /// Earlier sweeps whose best configurations come first and whose results inform TPE (WarmStart).
    public var warmStart: WarmStartSource?
    /// The objective's methods and hyperparameters this search was read against.
    public var catalogue = SearchCatalogue(methods: [], hyperparameters: [])

    public enum KeepModels: String, CaseIterable, Sendable {
        /// The final phase's networks (models/<trial>.safetensors).
        case final
        /// Those, and every trial that trained to its last epoch in the search (models/search/<trial>.safetensors).
        case finished
        case none
    }

    public var primary: Objective { objectives[0] }
    /// Epoch counts at which trials pause to be ranked (the last is `epochs`).
    public var rungs: [Int] { (earlyStopping?.rungs ?? []) + [epochs] }
    public var generationCount: Int { (trials + sampler.generationSize - 1) / sampler.generationSize }

    /// Reads the search from a sweep file's top level; `catalogue`: the objective's methods and
    /// hyperparameters (which the caller then checks in combination: SideTuning's checkCombinations).
    public static func parse(_ top: inout SpecReader, catalogue: SearchCatalogue) throws -> SearchSpec {
        let seed = UInt64(try top.integer("seed", minimum: 0) ?? 0)
        let epochs = try top.integer("epochs", minimum: 1, maximum: 100_000) ?? 10
        let methods = try parseMethods(&top, catalogue)
        let samplerSpec = try parseSampler(&top)
        var trials = try top.integer("trials", minimum: 1)
        if let t = trials, t > Self.maximumTrials {
            throw top.fail("trials", "must be at most \(Self.maximumTrials), got \(t)")
        }
        if samplerSpec.kind == .grid {
            var size = 0
            for space in methods {
                guard let grid = space.grid else {
                    let name = space.parameters.first { $0.domain.gridValues == nil }!.name
                    throw top.fail(
                        "sampler",
                        "grid cannot enumerate the continuous range of '\(name)' (method \(space.method)); give it {\"grid\": [...]} values or use random, sobol or tpe"
                    )
                }
                size += grid.count
            }
            if let t = trials, t < size {
                throw top.fail(
                    "trials",
                    "the grid has \(size) configurations; trials \(t) would silently drop some (omit trials to run the whole grid)"
                )
            }
            if size > Self.maximumTrials {
                throw top.fail("sampler", "the grid has \(size) configurations, more than \(Self.maximumTrials)")
            }
            trials = size
        }
        guard let trialCount = trials else {
            throw top.fail(
                "trials", "is required for sampler '\(samplerSpec.kind.rawValue)' (number of configurations)")
        }
        var sampler = Sampler(
            kind: samplerSpec.kind, generationSize: samplerSpec.batch ?? (samplerSpec.kind == .tpe ? 4 : trialCount),
            startup: min(samplerSpec.startup ?? 8, trialCount), lag: samplerSpec.lag ?? Sampler.defaultLag)
        if sampler.kind == .tpe, samplerSpec.batch == nil { sampler.generationSize = 4 }
        if sampler.kind == .tpe, methods.allSatisfy({ $0.searched.isEmpty }) {
            throw top.fail("sampler", "tpe needs at least one searched hyperparameter")
        }
        let earlyStopping = try parseEarlyStopping(&top, epochs: epochs)
        let objectives = try parseObjectives(&top)
        let seeds: [Int]
        top.mark("seeds")
        switch top.raw("seeds") {
        case nil: seeds = [0]
        case .int(let n)? where n >= 1:
            guard n <= Self.maximumSeeds else {
                throw top.fail("seeds", "must be at most \(Self.maximumSeeds) seeds, got \(n)")
            }
            seeds = Array(0..<n)
        case .array(let list)?:
            let values = list.compactMap { $0.integer.flatMap { $0 >= 0 ? $0 : nil } }
            guard values.count == list.count, !values.isEmpty, Set(values).count == values.count else {
                throw top.fail("seeds", "must be a count (>= 1) or a non-empty list of distinct non-negative integers")
            }
            seeds = values
        default: throw top.fail("seeds", "must be a count (>= 1) or a list of seeds")
        }
        if seeds.count > Self.maximumSeeds {
            throw top.fail("seeds", "must be at most \(Self.maximumSeeds) seeds, got \(seeds.count)")
        }
        let workers = try top.integer("workers", minimum: 1, maximum: 4096)
        var memory: Int?
        top.mark("memory")
        if let raw = top.raw("memory") {
            guard let bytes = parseBytes(raw) else {
                throw top.fail(
                    "memory", "must be a size from 1 B to 1 PiB such as \"8GiB\", \"512MiB\" or a number of bytes")
            }
            memory = bytes
        }
        let finalTop = try top.integer("final_top", minimum: 0, maximum: Self.maximumTrials) ?? 1
        var spec = SearchSpec(
            seed: seed, methods: methods, sampler: sampler, trials: trialCount, epochs: epochs,
            earlyStopping: earlyStopping, objectives: objectives, seeds: seeds, workers: workers,
            memoryBytes: memory, finalTop: finalTop)
        spec.constraints = try parseConstraints(&top)
        let keep = try top.string("keep_models", default: KeepModels.final.rawValue)
        guard let keepModels = KeepModels(rawValue: keep) else {
            let names = KeepModels.allCases.map(\.rawValue)
            throw top.fail(
                "keep_models",
                "must be \(names.map { "'\($0)'" }.joined(separator: ", "))\(didYouMean(keep, among: names))")
        }
        spec.keepModels = keepModels
        spec.warmStart = try parseWarmStart(&top, sampler: sampler.kind)
        spec.catalogue = catalogue
        return spec
    }

    /// `methods`: a list of names (all sharing `space`) or an object of name → its own space
    /// (over `space`, which then holds what the methods share).
    static func parseMethods(_ top: inout SpecReader, _ catalogue: SearchCatalogue) throws -> [MethodSpace] {
        top.mark("method"); top.mark("methods")
        var perMethod: [(String, SpecReader?)] = []
        switch (top.raw("method"), top.raw("methods")) {
        case (nil, nil):
            throw top.fail("methods", "is required: one or more of \(catalogue.methods.joined(separator: ", "))")
        case (.some, .some): throw top.fail("method", "give either 'method' or 'methods', not both")
        case (.string(let one)?, nil): perMethod = [(one, nil)]
        case (nil, .array(let list)?):
            let names = list.compactMap(\.string)
            guard !list.isEmpty, names.count == list.count else {
                throw top.fail("methods", "must be a non-empty list of method names or an object")
            }
            perMethod = names.map { ($0, nil) }
        case (nil, .object(let object)?):
            guard !object.isEmpty else { throw top.fail("methods", "names no method") }
            let reader = SpecReader(file: top.file, path: "$.methods", object: object)
            perMethod = try reader.keys.map { ($0, try reader.objectValue($0)) }
        default:
            throw top.fail(
                top.has("method") ? "method" : "methods", "must name methods (a string, a list or an object)")
        }
        var names = Set<String>()
        for (name, _) in perMethod {
            guard catalogue.methods.contains(name) else {
                throw top.fail(
                    top.has("method") ? "method" : "methods",
                    "unknown method '\(name)'\(didYouMean(name, among: catalogue.methods)) (methods: \(catalogue.methods.joined(separator: ", ")))"
                )
            }
            guard names.insert(name).inserted else { throw top.fail("methods", "'\(name)' is listed twice") }
        }
        var shared = try top.object("space") ?? SpecReader(file: top.file, path: "$.space", object: [:])
        let sharedDomains = try parseSpace(&shared, methods: Set(names), shared: true, catalogue)
        var spaces: [MethodSpace] = []
        for (name, reader) in perMethod.sorted(by: { $0.0 < $1.0 }) {
            var own: [String: (Domain, String)] = [:]
            if var reader { own = try parseSpace(&reader, methods: [name], shared: false, catalogue) }
            var parameters: [(name: String, domain: Domain)] = []
            for parameter in catalogue.hyperparameters where parameter.applies(to: name) {
                let domain =
                    own[parameter.name]?.0 ?? sharedDomains[parameter.name]?.0
                    ?? .fixed(parameter.defaultValue(for: name))
                parameters.append((parameter.name, domain))
            }
            spaces.append(MethodSpace(method: name, parameters: parameters))
        }
        return spaces
    }

    /// One space object: hyperparameter name → domain, each checked against the hyperparameter.
    static func parseSpace(_ r: inout SpecReader, methods: Set<String>, shared: Bool, _ catalogue: SearchCatalogue)
        throws -> [String: (Domain, String)]
    {
        var domains: [String: (Domain, String)] = [:]
        for key in r.keys {
            r.mark(key)
            guard let parameter = catalogue.named(key) else {
                let hint = didYouMean(key, among: catalogue.names)
                throw r.fail(key, "unknown hyperparameter\(hint) (known: \(catalogue.names.joined(separator: ", ")))")
            }
            if !shared, let only = parameter.methods, only.isDisjoint(with: methods) {
                throw r.fail(
                    key,
                    "does not apply to \(methods.sorted().joined(separator: ", ")) (only to \(only.sorted().joined(separator: ", ")))"
                )
            }
            if shared, let only = parameter.methods, only.isDisjoint(with: methods) {
                throw r.fail(
                    key, "applies only to \(only.sorted().joined(separator: ", ")), which the sweep does not run")
            }
            let domain = try parseDomain(r.raw(key)!, parameter: parameter, reader: r, key: key)
            domains[key] = (domain, "\(r.path).\(key)")
        }
        return domains
    }

    static func parseDomain(_ raw: JSONValue, parameter: Hyperparameter, reader r: SpecReader, key: String) throws
        -> Domain
    {
        func value(_ item: JSONValue) -> ParameterValue? {
            switch item {
            // A JSON boolean is the word "true" or "false" (norm_affine's values).
            case .bool(let b): return .text(b ? "true" : "false")
            case .int, .number: return .number(item.number!)
            case .string(let s): return .text(s)
            default: return nil
            }
        }
        func checked(_ v: ParameterValue, _ path: String) throws -> ParameterValue {
            if let problem = parameter.problem(v) { throw SpecError(file: r.file, path: path, message: problem) }
            return v
        }
        let path = "\(r.path).\(key)"
        if let v = value(raw) { return .fixed(try checked(v, path)) }
        if raw.array != nil {
            throw r.fail(
                key, "a list is ambiguous: write {\"choice\": [...]} (sampled) or {\"grid\": [...]} (enumerated)")
        }
        guard let object = raw.object,
            object.count == 1 || (object.count == 2 && object["log"] != nil && object["int"] != nil),
            let kind = object.keys.first(where: { $0 != "log" })
        else {
            throw r.fail(
                key,
                "must be a value or one of {\"choice\": [...]}, {\"grid\": [...]}, {\"uniform\": [lo, hi]}, {\"loguniform\": [lo, hi]}, {\"int\": [lo, hi]}"
            )
        }
        let body = object[kind]!
        let bodyPath = "\(path).\(kind)"
        let fail = { (message: String) in SpecError(file: r.file, path: bodyPath, message: message) }
        switch kind {
        case "choice", "grid":
            guard let items = body.array, !items.isEmpty else { throw fail("must be a non-empty list of values") }
            guard items.count <= SearchSpec.maximumListLength else {
                throw fail("lists \(items.count) values, more than \(SearchSpec.maximumListLength)")
            }
            var values: [ParameterValue] = []
            for (i, item) in items.enumerated() {
                guard let v = value(item) else { throw fail("entry \(i) must be a number or a string") }
                values.append(try checked(v, "\(bodyPath)[\(i)]"))
            }
            if Set(values).count != values.count { throw fail("lists a value twice") }
            return kind == "choice" ? .choice(values) : .grid(values)
        case "uniform", "loguniform", "int":
            guard let pair = body.array?.compactMap(\.number), pair.count == 2, body.array?.count == 2 else {
                throw fail("must be [low, high]")
            }
            let (lo, hi) = (pair[0], pair[1])
            if case .word = parameter.kind { throw fail("\(key) takes words: use {\"choice\": [...]}") }
            _ = try checked(.number(lo), bodyPath + "[0]")
            _ = try checked(.number(hi), bodyPath + "[1]")
            if kind == "int" {
                guard lo == lo.rounded(), hi == hi.rounded(), lo <= hi else {
                    throw fail("must be two integers, low <= high")
                }
                var log = false
                if let l = object["log"] {
                    guard let flag = l.bool else {
                        throw SpecError(file: r.file, path: path + ".log", message: "must be true or false")
                    }
                    log = flag
                    if log && lo < 1 { throw fail("a log-scaled integer range must start at 1 or more") }
                }
                return .integer(Int(lo), Int(hi), log: log)
            }
            if case .integer = parameter.kind { throw fail("\(key) is an integer: use {\"int\": [low, high]}") }
            guard lo < hi else { throw fail("must have low < high (a single value is written as the value itself)") }
            if kind == "loguniform" {
                guard lo > 0 else { throw fail("loguniform needs low > 0") }
                return .logUniform(lo, hi)
            }
            return .uniform(lo, hi)
        default:
            let kinds = ["choice", "grid", "uniform", "loguniform", "int"]
            throw SpecError(
                file: r.file, path: path,
                message:
                    "unknown range '\(kind)'\(didYouMean(kind, among: kinds)) (choice, grid, uniform, loguniform, int)")
        }
    }
}

/// The largest size `parseBytes` accepts (1 PiB): beyond any machine, far below Int's limit.
public let maximumBytes = 1 << 50

/// A byte count from a JSON number or a string such as "8GiB", "512MiB" or "100B"; nil unless it is
/// between 1 byte and `maximumBytes`.
public func parseBytes(_ raw: JSONValue) -> Int? {
    if let s = raw.string { return parseBytes(s) }
    guard let x = raw.number else { return nil }
    return bytes(x)
}

/// A byte count from a string such as "8GiB", "512MiB" or "100B"; nil unless it is between 1 byte and
/// `maximumBytes`.
public func parseBytes(_ s: String) -> Int? {
    let units: [(String, Double)] = [
        ("PiB", 1_125_899_906_842_624), ("TiB", 1_099_511_627_776), ("GiB", 1_073_741_824), ("MiB", 1_048_576),
        ("KiB", 1024), ("PB", 1e15), ("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3), ("B", 1),
    ]
    guard let (suffix, scale) = units.first(where: { s.hasSuffix($0.0) }),
        let x = Double(s.dropLast(suffix.count).trimmingCharacters(in: .whitespaces))
    else { return nil }
    return bytes(x * scale)
}

/// Checked before converting: Int(1e300) traps, and a budget under one byte admits nothing.
private func bytes(_ x: Double) -> Int? {
    guard x.isFinite, x >= 1, x <= Double(maximumBytes) else { return nil }
    return Int(x)
}

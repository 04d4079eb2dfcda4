import Essentials
import Foundation
import Training

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
        case valAccuracy = "val_acc", valLoss = "val_loss", params, flops
        case trainSeconds = "train_seconds", peakMemory = "peak_memory"
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

    public var primary: Objective { objectives[0] }
    /// Epoch counts at which trials pause to be ranked (the last is `epochs`).
    public var rungs: [Int] { (earlyStopping?.rungs ?? []) + [epochs] }
    public var generationCount: Int { (trials + sampler.generationSize - 1) / sampler.generationSize }

    static func parse(_ top: inout SpecReader, backbone: (width: Int, depth: Int, heads: Int, hasWeights: Bool)) throws -> SearchSpec {
        let seed = UInt64(try top.integer("seed", minimum: 0) ?? 0)
        let epochs = try top.integer("epochs", minimum: 1, maximum: 100_000) ?? 10
        let methods = try parseMethods(&top)
        let samplerSpec = try parseSampler(&top)
        var trials = try top.integer("trials", minimum: 1)
        if let t = trials, t > Self.maximumTrials { throw top.fail("trials", "must be at most \(Self.maximumTrials), got \(t)") }
        if samplerSpec.kind == .grid {
            var size = 0
            for space in methods {
                guard let grid = space.grid else {
                    let name = space.parameters.first { $0.domain.gridValues == nil }!.name
                    throw top.fail("sampler", "grid cannot enumerate the continuous range of '\(name)' (method \(space.method)); give it {\"grid\": [...]} values or use random, sobol or tpe")
                }
                size += grid.count
            }
            if let t = trials, t < size { throw top.fail("trials", "the grid has \(size) configurations; trials \(t) would silently drop some (omit trials to run the whole grid)") }
            if size > Self.maximumTrials { throw top.fail("sampler", "the grid has \(size) configurations, more than \(Self.maximumTrials)") }
            trials = size
        }
        guard let trialCount = trials else { throw top.fail("trials", "is required for sampler '\(samplerSpec.kind.rawValue)' (number of configurations)") }
        var sampler = Sampler(kind: samplerSpec.kind, generationSize: samplerSpec.batch ?? (samplerSpec.kind == .tpe ? 4 : trialCount),
                              startup: min(samplerSpec.startup ?? 8, trialCount))
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
        case let n as NSNumber where n.doubleValue == Double(n.intValue) && n.intValue >= 1 && String(cString: n.objCType) != "c":
            guard n.intValue <= Self.maximumSeeds else { throw top.fail("seeds", "must be at most \(Self.maximumSeeds) seeds, got \(n.intValue)") }
            seeds = Array(0..<n.intValue)
        case let list as [Any]:
            let values = list.compactMap { ($0 as? NSNumber).flatMap { $0.doubleValue == Double($0.intValue) && $0.intValue >= 0 ? $0.intValue : nil } }
            guard values.count == list.count, !values.isEmpty, Set(values).count == values.count else {
                throw top.fail("seeds", "must be a count (>= 1) or a non-empty list of distinct non-negative integers")
            }
            seeds = values
        default: throw top.fail("seeds", "must be a count (>= 1) or a list of seeds")
        }
        if seeds.count > Self.maximumSeeds { throw top.fail("seeds", "must be at most \(Self.maximumSeeds) seeds, got \(seeds.count)") }
        let workers = try top.integer("workers", minimum: 1, maximum: 4096)
        var memory: Int?
        top.mark("memory")
        if let raw = top.raw("memory") {
            guard let bytes = parseBytes(raw) else { throw top.fail("memory", "must be a size from 1 B to 1 PiB such as \"8GiB\", \"512MiB\" or a number of bytes") }
            memory = bytes
        }
        let finalTop = try top.integer("final_top", minimum: 0, maximum: Self.maximumTrials) ?? 1
        var spec = SearchSpec(seed: seed, methods: methods, sampler: sampler, trials: trialCount, epochs: epochs,
                              earlyStopping: earlyStopping, objectives: objectives, seeds: seeds, workers: workers,
                              memoryBytes: memory, finalTop: finalTop)
        spec.constraints = try parseConstraints(&top)
        try spec.checkCombinations(top, backbone: backbone)
        return spec
    }

    /// `methods`: a list of names (all sharing `space`) or an object of name → its own space
    /// (over `space`, which then holds what the methods share).
    static func parseMethods(_ top: inout SpecReader) throws -> [MethodSpace] {
        top.mark("method"); top.mark("methods")
        var perMethod: [(String, SpecReader?)] = []
        switch (top.raw("method"), top.raw("methods")) {
        case (nil, nil): throw top.fail("methods", "is required: one or more of \(Hyperparameter.methods.joined(separator: ", "))")
        case (.some, .some): throw top.fail("method", "give either 'method' or 'methods', not both")
        case (let one as String, nil): perMethod = [(one, nil)]
        case (nil, let list as [Any]):
            guard !list.isEmpty, let names = list as? [String] else { throw top.fail("methods", "must be a non-empty list of method names or an object") }
            perMethod = names.map { ($0, nil) }
        case (nil, let object as [String: Any]):
            guard !object.isEmpty else { throw top.fail("methods", "names no method") }
            let reader = SpecReader(file: top.file, path: "$.methods", object: object)
            perMethod = try reader.keys.map { ($0, try reader.objectValue($0)) }
        default: throw top.fail(top.has("method") ? "method" : "methods", "must name methods (a string, a list or an object)")
        }
        var names = Set<String>()
        for (name, _) in perMethod {
            guard Hyperparameter.methods.contains(name) else {
                throw top.fail(top.has("method") ? "method" : "methods", "unknown method '\(name)'\(didYouMean(name, among: Hyperparameter.methods)) (methods: \(Hyperparameter.methods.joined(separator: ", ")))")
            }
            guard names.insert(name).inserted else { throw top.fail("methods", "'\(name)' is listed twice") }
        }
        var shared = try top.object("space") ?? SpecReader(file: top.file, path: "$.space", object: [:])
        let sharedDomains = try parseSpace(&shared, methods: Set(names), shared: true)
        var spaces: [MethodSpace] = []
        for (name, reader) in perMethod.sorted(by: { $0.0 < $1.0 }) {
            var own: [String: (Domain, String)] = [:]
            if var reader { own = try parseSpace(&reader, methods: [name], shared: false) }
            var parameters: [(name: String, domain: Domain)] = []
            for parameter in Hyperparameter.all where parameter.applies(to: name) {
                let domain = own[parameter.name]?.0 ?? sharedDomains[parameter.name]?.0 ?? .fixed(parameter.defaultValue)
                parameters.append((parameter.name, domain))
            }
            spaces.append(MethodSpace(method: name, parameters: parameters))
        }
        return spaces
    }

    /// One space object: hyperparameter name → domain, each checked against the hyperparameter.
    static func parseSpace(_ r: inout SpecReader, methods: Set<String>, shared: Bool) throws -> [String: (Domain, String)] {
        var domains: [String: (Domain, String)] = [:]
        for key in r.keys {
            r.mark(key)
            guard let parameter = Hyperparameter.named(key) else {
                let hint = didYouMean(key, among: Hyperparameter.all.map(\.name))
                throw r.fail(key, "unknown hyperparameter\(hint) (known: \(Hyperparameter.all.map(\.name).joined(separator: ", ")))")
            }
            if !shared, let only = parameter.methods, only.isDisjoint(with: methods) {
                throw r.fail(key, "does not apply to \(methods.sorted().joined(separator: ", ")) (only to \(only.sorted().joined(separator: ", ")))")
            }
            if shared, let only = parameter.methods, only.isDisjoint(with: methods) {
                throw r.fail(key, "applies only to \(only.sorted().joined(separator: ", ")), which the sweep does not run")
            }
            let domain = try parseDomain(r.raw(key)!, parameter: parameter, reader: r, key: key)
            domains[key] = (domain, "\(r.path).\(key)")
        }
        return domains
    }

    static func parseDomain(_ raw: Any, parameter: Hyperparameter, reader r: SpecReader, key: String) throws -> Domain {
        func value(_ item: Any) -> ParameterValue? {
            if let n = item as? NSNumber, String(cString: n.objCType) != "c" { return .number(n.doubleValue) }
            if let s = item as? String { return .text(s) }
            return nil
        }
        func checked(_ v: ParameterValue, _ path: String) throws -> ParameterValue {
            if let problem = parameter.problem(v) { throw SpecError(file: r.file, path: path, message: problem) }
            return v
        }
        let path = "\(r.path).\(key)"
        if let v = value(raw) { return .fixed(try checked(v, path)) }
        if raw is [Any] {
            throw r.fail(key, "a list is ambiguous: write {\"choice\": [...]} (sampled) or {\"grid\": [...]} (enumerated)")
        }
        guard let object = raw as? [String: Any], object.count == 1 || (object.count == 2 && object["log"] != nil && object["int"] != nil),
              let kind = object.keys.first(where: { $0 != "log" }) else {
            throw r.fail(key, "must be a value or one of {\"choice\": [...]}, {\"grid\": [...]}, {\"uniform\": [lo, hi]}, {\"loguniform\": [lo, hi]}, {\"int\": [lo, hi]}")
        }
        let body = object[kind]!
        let bodyPath = "\(path).\(kind)"
        let fail = { (message: String) in SpecError(file: r.file, path: bodyPath, message: message) }
        switch kind {
        case "choice", "grid":
            guard let items = body as? [Any], !items.isEmpty else { throw fail("must be a non-empty list of values") }
            guard items.count <= SearchSpec.maximumListLength else { throw fail("lists \(items.count) values, more than \(SearchSpec.maximumListLength)") }
            var values: [ParameterValue] = []
            for (i, item) in items.enumerated() {
                guard let v = value(item) else { throw fail("entry \(i) must be a number or a string") }
                values.append(try checked(v, "\(bodyPath)[\(i)]"))
            }
            if Set(values).count != values.count { throw fail("lists a value twice") }
            return kind == "choice" ? .choice(values) : .grid(values)
        case "uniform", "loguniform", "int":
            guard let pair = body as? [NSNumber], pair.count == 2 else { throw fail("must be [low, high]") }
            let (lo, hi) = (pair[0].doubleValue, pair[1].doubleValue)
            if case .word = parameter.kind { throw fail("\(key) takes words: use {\"choice\": [...]}") }
            _ = try checked(.number(lo), bodyPath + "[0]")
            _ = try checked(.number(hi), bodyPath + "[1]")
            if kind == "int" {
                guard lo == lo.rounded(), hi == hi.rounded(), lo <= hi else { throw fail("must be two integers, low <= high") }
                var log = false
                if let l = object["log"] {
                    guard let flag = l as? NSNumber, String(cString: flag.objCType) == "c" else {
                        throw SpecError(file: r.file, path: path + ".log", message: "must be true or false")
                    }
                    log = flag.boolValue
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
            throw SpecError(file: r.file, path: path, message: "unknown range '\(kind)'\(didYouMean(kind, among: kinds)) (choice, grid, uniform, loguniform, int)")
        }
    }

    static func parseSampler(_ top: inout SpecReader) throws -> (kind: SamplerKind, batch: Int?, startup: Int?) {
        top.mark("sampler")
        let kinds = SamplerKind.allCases.map(\.rawValue).joined(separator: ", ")
        switch top.raw("sampler") {
        case nil: return (.random, nil, nil)
        case let name as String:
            guard let kind = SamplerKind(rawValue: name) else { throw top.fail("sampler", "unknown sampler '\(name)' (\(kinds))") }
            return (kind, nil, nil)
        case let object as [String: Any]:
            var r = SpecReader(file: top.file, path: "$.sampler", object: object)
            guard let name = try r.string("type") else { throw r.fail("type", "is required (\(kinds))") }
            guard let kind = SamplerKind(rawValue: name) else { throw r.fail("type", "unknown sampler '\(name)' (\(kinds))") }
            let batch = try r.integer("generation_size", minimum: 1, maximum: Self.maximumTrials)
            let startup = try r.integer("startup", minimum: 1, maximum: Self.maximumTrials)
            if startup != nil && kind != .tpe { throw r.fail("startup", "applies to tpe only") }
            try r.rejectUnknownKeys()
            return (kind, batch, startup)
        default: throw top.fail("sampler", "must be a name (\(kinds)) or an object with 'type'")
        }
    }

    static func parseEarlyStopping(_ top: inout SpecReader, epochs: Int) throws -> EarlyStopping? {
        guard var r = try top.object("early_stopping") else { return nil }
        let type = try r.string("type", default: "successive_halving")
        guard ["successive_halving", "asha", "pareto", "none"].contains(type) else {
            throw r.fail("type", "must be 'successive_halving' (alias 'asha'), 'pareto' or 'none'")
        }
        let factor = try r.integer("reduction_factor", minimum: 2, maximum: 1000) ?? 3
        var rungs: [Int]
        r.mark("rungs")
        if let raw = r.raw("rungs") {
            guard let list = raw as? [NSNumber], !list.isEmpty, list.allSatisfy({ $0.doubleValue == Double($0.intValue) && $0.intValue >= 1 }) else {
                throw r.fail("rungs", "must be a non-empty list of epoch counts")
            }
            rungs = list.map(\.intValue)
            guard rungs == rungs.sorted(), Set(rungs).count == rungs.count, rungs.last! < epochs else {
                throw r.fail("rungs", "must increase and stay below epochs (\(epochs)); the last rung is epochs itself")
            }
            if r.has("min_epochs") { throw r.fail("min_epochs", "give either 'rungs' or 'min_epochs'") }
            _ = try r.integer("min_epochs")
        } else {
            let first = try r.integer("min_epochs", minimum: 1, maximum: 100_000) ?? 1
            guard first < epochs else { throw r.fail("min_epochs", "must be below epochs (\(epochs))") }
            rungs = []
            var rung = first
            while rung < epochs { rungs.append(rung); rung *= factor }
        }
        try r.rejectUnknownKeys()
        return type == "none" ? nil : EarlyStopping(rungs: rungs, reductionFactor: factor, paretoAware: type == "pareto")
    }

    /// `"constraints": ["params <= 2e6", "peak_memory <= 2GiB", "flops <= 1e15"]`.
    static func parseConstraints(_ top: inout SpecReader) throws -> [Constraint] {
        top.mark("constraints")
        guard let raw = top.raw("constraints") else { return [] }
        guard let list = raw as? [Any] else { throw top.fail("constraints", "must be a list such as [\"params <= 2e6\", \"peak_memory <= 2GiB\"]") }
        return try list.enumerated().map { i, item in
            let path = "$.constraints[\(i)]"
            guard let text = item as? String else { throw SpecError(file: top.file, path: path, message: "must be a string such as \"params <= 2e6\"") }
            let parts = text.components(separatedBy: "<=")
            guard parts.count == 2 else { throw SpecError(file: top.file, path: path, message: "must read '<metric> <= <value>', got '\(text)'") }
            let name = parts[0].trimmingCharacters(in: .whitespaces), value = parts[1].trimmingCharacters(in: .whitespaces)
            guard let metric = Metric(rawValue: name), [.params, .peakMemory, .flops].contains(metric) else {
                throw SpecError(file: top.file, path: path, message: "'\(name)' is not known before training; constraints may bound params, peak_memory or flops")
            }
            guard let maximum = Double(value).map({ $0 }) ?? parseBytes(value).map(Double.init), maximum > 0 else {
                throw SpecError(file: top.file, path: path, message: "'\(value)' is not a positive number\(metric == .peakMemory ? " or size (2GiB)" : "")")
            }
            return Constraint(metric: metric, maximum: maximum, text: text)
        }
    }

    static func parseObjectives(_ top: inout SpecReader) throws -> [Objective] {
        top.mark("objectives")
        guard let raw = top.raw("objectives") else { return [Objective(metric: .valAccuracy, direction: .maximize)] }
        guard let list = raw as? [Any], !list.isEmpty else { throw top.fail("objectives", "must be a non-empty list") }
        let metrics = Metric.allCases.map(\.rawValue).joined(separator: ", ")
        var objectives: [Objective] = []
        for (i, item) in list.enumerated() {
            let path = "$.objectives[\(i)]"
            var name: String, direction: Direction?
            if let s = item as? String { name = s; direction = nil }
            else if let o = item as? [String: Any] {
                var r = SpecReader(file: top.file, path: path, object: o)
                guard let n = try r.string("metric") else { throw r.fail("metric", "is required (\(metrics))") }
                name = n
                if let d = try r.string("direction") {
                    guard let parsed = Direction(rawValue: d) else { throw r.fail("direction", "must be 'maximize' or 'minimize'") }
                    direction = parsed
                }
                try r.rejectUnknownKeys()
            } else { throw SpecError(file: top.file, path: path, message: "must be a metric name or {\"metric\": ..., \"direction\": ...}") }
            guard let metric = Metric(rawValue: name) else {
                throw SpecError(file: top.file, path: path, message: "unknown metric '\(name)'\(didYouMean(name, among: Metric.allCases.map(\.rawValue))) (\(metrics))")
            }
            if objectives.contains(where: { $0.metric == metric }) { throw SpecError(file: top.file, path: path, message: "'\(name)' is listed twice") }
            objectives.append(Objective(metric: metric, direction: direction ?? metric.defaultDirection))
        }
        return objectives
    }

    /// Refuses spaces with a combination no network can be built from, before any work: every
    /// combination of each dimension's values (a continuous range's two ends) is tried.
    func checkCombinations(_ top: SpecReader, backbone: (width: Int, depth: Int, heads: Int, hasWeights: Bool)) throws {
        for space in methods {
            let dimensions = space.parameters.map { name, domain -> (name: String, values: [ParameterValue]) in
                switch domain {
                case let .uniform(lo, hi), let .logUniform(lo, hi): return (name, [.number(lo), .number(hi)])
                case let .integer(lo, hi, _): return (name, hi - lo < 64 ? (lo...hi).map { .number(Double($0)) } : [.number(Double(lo)), .number(Double(hi))])
                default: return (name, domain.gridValues!)
                }
            }
            for values in cartesianProduct(dimensions, limit: 20_000) {
                let settings = Hyperparameter.settings(method: space.method, values: values, epochs: epochs, seed: 0)
                if let problem = settings.problem(width: backbone.width, depth: backbone.depth, backboneHeads: backbone.heads) {
                    let which = space.searched.map { "\($0.name) \(values[$0.name]!)" }.joined(separator: ", ")
                    throw top.fail(top.has("methods") ? "methods" : "method",
                                   "impossible combination for \(space.method)\(which.isEmpty ? "" : " (\(which))"): \(problem)")
                }
                if settings.method == .lst && settings.lstInit == "pruned" && !backbone.hasWeights {
                    throw top.fail("methods", "lst_init 'pruned' needs backbone weights; a random backbone has none to prune")
                }
            }
        }
    }
}

/// "8GiB", "512MiB", "2.5GB", or a byte count.
/// The largest size `parseBytes` accepts (1 PiB): beyond any machine, far below Int's limit.
public let maximumBytes = 1 << 50

/// A byte count from a JSON number or a string such as "8GiB", "512MiB" or "100B"; nil unless it is
/// between 1 byte and `maximumBytes`.
public func parseBytes(_ raw: Any) -> Int? {
    var bytes: Double?
    if let n = raw as? NSNumber, String(cString: n.objCType) != "c" { bytes = n.doubleValue }
    if let s = raw as? String {
        let units: [(String, Double)] = [("GiB", 1_073_741_824), ("MiB", 1_048_576), ("KiB", 1024), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3), ("B", 1)]
        if let (suffix, scale) = units.first(where: { s.hasSuffix($0.0) }),
           let x = Double(s.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)) { bytes = x * scale }
    }
    // Checked before converting: Int(1e300) traps, and a budget under one byte admits nothing.
    guard let bytes, bytes.isFinite, bytes >= 1, bytes <= Double(maximumBytes) else { return nil }
    return Int(bytes)
}

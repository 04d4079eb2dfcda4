import Essentials
import Foundation

// The sweep file's smaller sections (sampler, early stopping, constraints, objectives): SearchSpec.swift
// reads the methods and spaces.
extension SearchSpec {
    static func parseSampler(_ top: inout SpecReader) throws -> (
        kind: SamplerKind, batch: Int?, startup: Int?, lag: Int?
    ) {
        top.mark("sampler")
        let kinds = SamplerKind.allCases.map(\.rawValue).joined(separator: ", ")
        switch top.raw("sampler") {
        case nil: return (.random, nil, nil, nil)
        case .string(let name)?:
            guard let kind = SamplerKind(rawValue: name) else {
                throw top.fail("sampler", "unknown sampler '\(name)' (\(kinds))")
            }
            return (kind, nil, nil, nil)
        case .object(let object)?:
            var r = SpecReader(file: top.file, path: "$.sampler", object: object)
            guard let name = try r.string("type") else { throw r.fail("type", "is required (\(kinds))") }
            guard let kind = SamplerKind(rawValue: name) else {
                throw r.fail("type", "unknown sampler '\(name)' (\(kinds))")
            }
            let batch = try r.integer("generation_size", minimum: 1, maximum: Self.maximumTrials)
            let startup = try r.integer("startup", minimum: 1, maximum: Self.maximumTrials)
            if startup != nil && kind != .tpe { throw r.fail("startup", "applies to tpe only") }
            let lag = try r.integer("lag", minimum: 1, maximum: Self.maximumTrials)
            if lag != nil && kind != .tpe {
                throw r.fail("lag", "applies to tpe only (the other samplers use no results)")
            }
            try r.rejectUnknownKeys()
            return (kind, batch, startup, lag)
        default: throw top.fail("sampler", "must be a name (\(kinds)) or an object with 'type'")
        }
    }

    /// `warm_start`: "previous_tasks" (in a suite) or a list of earlier sweeps' results directories
    /// (relative to the sweep file).
    static func parseWarmStart(_ top: inout SpecReader, sampler: SamplerKind) throws -> WarmStartSource? {
        top.mark("warm_start")
        let source: WarmStartSource
        switch top.raw("warm_start") {
        case nil: return nil
        case .string("previous_tasks")?: source = .previousTasks
        case .array(let list)? where !list.isEmpty && list.allSatisfy({ $0.string?.isEmpty == false }):
            let paths = list.compactMap(\.string).map(top.resolvePath)
            guard Set(paths).count == paths.count else { throw top.fail("warm_start", "lists a sweep twice") }
            source = .sweeps(paths)
        default:
            throw top.fail(
                "warm_start",
                "must be \"previous_tasks\" (in a suite) or a non-empty list of earlier sweeps' results directories, such as [\"../results/demo\"]"
            )
        }
        if sampler == .grid {
            throw top.fail(
                "warm_start",
                "does not apply to the grid sampler, which enumerates its configurations; use tpe, sobol or random")
        }
        return source
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
            guard let list = raw.array, !list.isEmpty, list.allSatisfy({ ($0.integer ?? 0) >= 1 }) else {
                throw r.fail("rungs", "must be a non-empty list of epoch counts")
            }
            rungs = list.compactMap(\.integer)
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
        return type == "none"
            ? nil : EarlyStopping(rungs: rungs, reductionFactor: factor, paretoAware: type == "pareto")
    }

    /// `"constraints": ["params <= 2e6", "peak_memory <= 2GiB", "flops <= 1e15"]`.
    static func parseConstraints(_ top: inout SpecReader) throws -> [Constraint] {
        top.mark("constraints")
        guard let raw = top.raw("constraints") else { return [] }
        guard let list = raw.array else {
            throw top.fail("constraints", "must be a list such as [\"params <= 2e6\", \"peak_memory <= 2GiB\"]")
        }
        return try list.enumerated().map { i, item in
            let path = "$.constraints[\(i)]"
            guard let text = item.string else {
                throw SpecError(file: top.file, path: path, message: "must be a string such as \"params <= 2e6\"")
            }
            let parts = text.components(separatedBy: "<=")
            guard parts.count == 2 else {
                throw SpecError(file: top.file, path: path, message: "must read '<metric> <= <value>', got '\(text)'")
            }
            let name = parts[0].trimmingCharacters(in: .whitespaces),
                value = parts[1].trimmingCharacters(in: .whitespaces)
            guard let metric = Metric(rawValue: name), [.params, .peakMemory, .flops].contains(metric) else {
                throw SpecError(
                    file: top.file, path: path,
                    message:
                        "'\(name)' is not known before training; constraints may bound params, peak_memory or flops")
            }
            guard let maximum = Double(value).map({ $0 }) ?? parseBytes(value).map(Double.init), maximum > 0 else {
                throw SpecError(
                    file: top.file, path: path,
                    message: "'\(value)' is not a positive number\(metric == .peakMemory ? " or size (2GiB)" : "")")
            }
            return Constraint(metric: metric, maximum: maximum, text: text)
        }
    }

    static func parseObjectives(_ top: inout SpecReader) throws -> [Objective] {
        top.mark("objectives")
        guard let raw = top.raw("objectives") else { return [Objective(metric: .valAccuracy, direction: .maximize)] }
        guard let list = raw.array, !list.isEmpty else { throw top.fail("objectives", "must be a non-empty list") }
        let metrics = Metric.allCases.map(\.rawValue).joined(separator: ", ")
        var objectives: [Objective] = []
        for (i, item) in list.enumerated() {
            let path = "$.objectives[\(i)]"
            var name: String, direction: Direction?
            if let s = item.string {
                name = s; direction = nil
            } else if let o = item.object {
                var r = SpecReader(file: top.file, path: path, object: o)
                guard let n = try r.string("metric") else { throw r.fail("metric", "is required (\(metrics))") }
                name = n
                if let d = try r.string("direction") {
                    guard let parsed = Direction(rawValue: d) else {
                        throw r.fail("direction", "must be 'maximize' or 'minimize'")
                    }
                    direction = parsed
                }
                try r.rejectUnknownKeys()
            } else {
                throw SpecError(
                    file: top.file, path: path,
                    message: "must be a metric name or {\"metric\": ..., \"direction\": ...}")
            }
            guard let metric = Metric(rawValue: name) else {
                throw SpecError(
                    file: top.file, path: path,
                    message:
                        "unknown metric '\(name)'\(didYouMean(name, among: Metric.allCases.map(\.rawValue))) (\(metrics))"
                )
            }
            if objectives.contains(where: { $0.metric == metric }) {
                throw SpecError(file: top.file, path: path, message: "'\(name)' is listed twice")
            }
            objectives.append(Objective(metric: metric, direction: direction ?? metric.defaultDirection))
        }
        return objectives
    }
}

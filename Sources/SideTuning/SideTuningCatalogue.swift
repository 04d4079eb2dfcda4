import Foundation
import Numerics
import SideNets
import Sweep
import Training

/// The side-tuning objective's vocabulary: its methods (SideTuningMethod's table) and hyperparameters,
/// each with how it sets a trial's settings.
public enum SideTuningCatalogue {
    /// What a side-tuning sweep may search (the leaderboard's hyperparameter columns, in this order).
    public static let catalogue = SearchCatalogue(
        methods: SideTuningMethods.names, hyperparameters: table.map(\.parameter),
        colors: Dictionary(
            uniqueKeysWithValues: SideTuningMethods.all.map { ($0.methodName, SVGChart.palette[$0.chartColor]) }))

    /// The hyperparameters and how each sets a trial's settings (docs/sweep-spec.md lists the same table).
    /// `init` and `norm_affine` defaults were chosen by measurement (docs/side-networks.md):
    /// `xavier` for the side modules of `last` and `lst`, `timm` for `linear`'s head and `fan_in` for
    /// `adapter`'s, an affine head LayerNorm everywhere.
    static let table: [(parameter: Hyperparameter, apply: (inout TrialSettings, ParameterValue) -> Void)] =
        [
            (
                Hyperparameter(
                    name: "lr", methods: nil, kind: .real(lower: 0, upper: 10, lowerOpen: true),
                    defaultValue: .number(1e-3)
                ), { $0.learningRate = Float($1.number!) }
            ),
            (
                Hyperparameter(
                    name: "weight_decay", methods: nil, kind: .real(lower: 0, upper: 10, lowerOpen: false),
                    defaultValue: .number(1e-4)), { $0.weightDecay = Float($1.number!) }
            ),
            (
                Hyperparameter(name: "batch_size", methods: nil, kind: .integer(minimum: 1), defaultValue: .number(64)),
                { $0.batchSize = Int($1.number!) }
            ),
            (
                Hyperparameter(
                    name: "warmup", methods: nil, kind: .real(lower: 0, upper: 0.99, lowerOpen: false),
                    defaultValue: .number(0.1)), { $0.warmupFraction = Float($1.number!) }
            ),
            (
                Hyperparameter(
                    name: "decay", methods: nil, kind: .word(Schedule.Decay.allCases.map(\.rawValue)),
                    defaultValue: .text("cosine")),
                { if case .text(let s) = $1, let d = Schedule.Decay(rawValue: s) { $0.decay = d } }
            ),
            (
                Hyperparameter(
                    name: "lr_floor", methods: nil, kind: .real(lower: 0, upper: 10, lowerOpen: false),
                    defaultValue: .number(0)), { $0.lrFloor = Float($1.number!) }
            ),
            (
                Hyperparameter(
                    name: "label_smoothing", methods: nil, kind: .real(lower: 0, upper: 0.99, lowerOpen: false),
                    defaultValue: .number(0)), { $0.labelSmoothing = Float($1.number!) }
            ),
            (
                Hyperparameter(
                    name: "gradient_clip", methods: nil, kind: .real(lower: 0, upper: .infinity, lowerOpen: false),
                    defaultValue: .number(0)),
                {
                    $0.gradientClip = $1.number! > 0 ? Float($1.number!) : nil  // 0: no clipping
                }
            ),
        ] + methodHyperparameters(.size) + [
            (
                Hyperparameter(
                    name: "init", methods: nil, kind: .word(InitRule.allCases.map(\.rawValue)),
                    defaultValue: .text(InitRule.fanIn.rawValue),
                    methodDefaults: Dictionary(
                        uniqueKeysWithValues: SideTuningMethods.all.map {
                            ($0.methodName, .text($0.defaultInitRule.rawValue))
                        }
                    ),
                    absentValue: .text(InitRule.timm.rawValue)),
                { if case .text(let s) = $1 { $0.initRule = InitRule(rawValue: s) } }
            ),
            (
                Hyperparameter(
                    name: "norm_affine",
                    methods: Set(SideTuningMethods.all.filter { $0.hasHeadNorm }.map { $0.methodName }),
                    kind: .word(["true", "false"]),
                    defaultValue: .text("true"),
                    absentValue: .text("false")), { if case .text(let s) = $1 { $0.normAffine = s == "true" } }
            ),
        ] + methodHyperparameters(.initialization) + [
            // Shards of each step's batch (DataParallelStep): a lone trial spreads its steps over idle
            // cores, with the same bits on any number of them. 1 before it existed, and by default.
            (
                Hyperparameter(
                    name: "shards", methods: nil, kind: .integer(minimum: 1), defaultValue: .number(1),
                    absentValue: .number(1)),
                { $0.shards = $1.number! == 1 ? nil : Int($1.number!) }
            ),  // (1 as nil: the settings of before, checkpoints included)
            // The side network's Linear layers in bf16 (AVX512_BF16 or AMX), fp32 by default and before it existed.
            (
                Hyperparameter(
                    name: "compute", methods: nil, kind: .word(ComputePrecision.allCases.map(\.rawValue)),
                    defaultValue: .text("fp32"),
                    absentValue: .text("fp32")),
                {
                    if case .text(let s) = $1, let precision = ComputePrecision(rawValue: s) {
                        $0.compute = precision == .fp32 ? nil : precision
                    }
                }
            ),
        ]

    /// Trial settings for `method` with `values` (absent ones keep their defaults). `method` is one
    /// of the catalogue's: the spec reader checks the names, and the journal holds only trials it planned.
    public static func settings(method: String, values: [String: ParameterValue], epochs: Int, seed: UInt64)
        -> TrialSettings
    {
        var settings = TrialSettings(method: method)
        for (parameter, apply) in table where parameter.applies(to: method) {
            apply(&settings, values[parameter.name] ?? parameter.absentValue)
        }
        settings.epochs = epochs
        settings.seed = seed
        return settings
    }
}

/// The methods' own hyperparameters of `group` (SideTuningMethod.hyperparameters), one entry per
/// name in registry order: a name several methods declare applies to each, with each one's default.
private func methodHyperparameters(_ group: MethodHyperparameter.Group) -> [(
    parameter: Hyperparameter, apply: (inout TrialSettings, ParameterValue) -> Void
)] {
    var names: [String] = [], declarations: [String: [(method: String, parameter: MethodHyperparameter)]] = [:]
    for method in SideTuningMethods.all {
        for parameter in method.hyperparameters where parameter.group == group && parameter.kind != .integers {
            if declarations[parameter.name] == nil { names.append(parameter.name) }
            declarations[parameter.name, default: []].append((method.methodName, parameter))
        }
    }
    return names.map { name in
        let declared = declarations[name]!, first = declared[0].parameter
        let kind: Hyperparameter.Kind
        switch first.kind {
        case .integer(let minimum): kind = .integer(minimum: minimum)
        case .word(let words): kind = .word(words)
        case .integers: preconditionFailure("lists are not searched")
        }
        let parameter = Hyperparameter(
            name: name, methods: Set(declared.map(\.method)), kind: kind,
            defaultValue: ParameterValue(first.defaultValue!),
            methodDefaults: Dictionary(
                uniqueKeysWithValues: declared.map { ($0.method, ParameterValue($0.parameter.defaultValue!)) }),
            absentValue: first.valueBeforeItExisted.map(ParameterValue.init))
        return (
            parameter,
            { settings, value in
                switch (first.kind, value) {
                case (.integer, .number(let x)): settings.values[name] = .int(Int(x))
                case (_, .text(let word)): settings.values[name] = .word(word)
                default: preconditionFailure("\(name): \(value) reached the trainer")
                }
            }
        )
    }
}

extension ParameterValue {
    init(_ value: MethodValue) {
        switch value {
        case .int(let i): self = .number(Double(i))
        case .word(let w): self = .text(w)
        case .ints: preconditionFailure("lists are not searched")
        }
    }
}

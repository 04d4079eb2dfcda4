// Over 300 lines because alignment of configurations across files and the statistics run on them share the aligned
// rows; the printing is in CompareCommand.swift.

import Foundation

/// Several leaderboards side by side (`hpsweep compare`): trials aligned by configuration, the best
/// of each file, seed statistics with paired tests, and how the files' Pareto fronts relate.
public struct Comparison {
    /// A configuration: the method and every hyperparameter value (trial id and seed ignored).
    public struct Configuration: Hashable, Comparable {
        public let method: String
        /// (name, value) for every hyperparameter the method reads, catalog order.
        public let values: [String]
        public static func < (a: Configuration, b: Configuration) -> Bool {
            (a.method, a.values.joined(separator: "\u{1}")) < (b.method, b.values.joined(separator: "\u{1}"))
        }
    }

    /// One configuration's finished trials in one file: objective values by seed.
    public struct Cell {
        public var bySeed: [String: [Double]] = [:]
        public var seeds: [String] { bySeed.keys.sorted { (Int($0) ?? 0, $0) < (Int($1) ?? 0, $1) } }
        /// Mean of objective j over seeds.
        public func mean(_ j: Int) -> Double { Statistics.mean(bySeed.values.map { $0[j] }) }
        public func standardDeviation(_ j: Int) -> Double { Statistics.standardDeviation(bySeed.values.map { $0[j] }) }
    }

    /// A file's best on one objective, two ways: the best configuration by its mean over seeds (with
    /// its trials), and the best single trial (which may be another configuration's lucky seed).
    public struct Best {
        public let file: Int
        public let objective: Int
        /// The best configuration's mean over its seeds.
        public let value: Double
        public let seeds: Int
        /// The best configuration's trials (one per seed).
        public let trials: [String]
        public let configuration: Configuration
        public let bestTrial: String
        public let bestTrialValue: Double
        public let bestTrialConfiguration: Configuration
    }

    public struct SeedTest {
        public let configuration: Configuration
        public let file: Int  // compared with file 0
        public let pairs: Int
        public let test: Statistics.TTest?  // nil: not enough seeds
    }

    public struct FrontRelation {
        public let a: Int, b: Int
        /// Share of b's front weakly dominated by a point of a's front (Zitzler's coverage C(a, b)).
        public let coverageAB: Double
        public let coverageBA: Double
        public var verdict: String {
            if coverageAB == 1 && coverageBA < 1 { return "dominates" }
            if coverageBA == 1 && coverageAB < 1 { return "is dominated by" }
            return "neither dominates"
        }
    }

    public let files: [LeaderboardFile]
    public let objectives: [SearchSpec.Objective]
    /// Notes for the reader: differing objectives, missing columns.
    public let notes: [String]
    public let hyperparameters: [String]
    /// Hyperparameters whose value differs between configurations (the table's columns).
    public let varying: [String]
    public let configurations: [Configuration]
    public let cells: [[Configuration: Cell]]  // [file][configuration]
    public let trialIDs: [[Configuration: [String]]]
    public let best: [Best]
    public let seedTests: [SeedTest]
    /// Across all configurations both files finished: paired test on the per-configuration means of
    /// the primary objective (nil when fewer than 3 are shared).
    public let acrossConfigurations: [(file: Int, shared: Int, test: Statistics.TTest?)]
    public let fronts: [[Configuration]]
    public let frontPoints: [[[Double]]]  // minimisation form, per file
    public let hypervolumes: [Double]
    public let relations: [FrontRelation]
    public let reference: String

    /// Hyperparameters left out of the alignment (`--ignore`), and those that would be worth leaving
    /// out: their values differ between the first file and another (as when a sweep changed them).
    public let ignored: [String]
    public let suggestedIgnores: [String]

    public init(files: [LeaderboardFile], objectives requested: [SearchSpec.Objective]? = nil, ignoring: [String] = [])
        throws
    {
        precondition(files.count >= 1, "Comparison needs files")
        self.files = files
        let catalogue = files[0].catalogue
        var notes: [String] = []
        let fileObjectives = files.map { $0.objectives }
        let chosen =
            requested ?? fileObjectives.compactMap { $0 }.first
            ?? [
                SearchSpec.Objective(metric: .valAccuracy, direction: .maximize),
                SearchSpec.Objective(metric: .params, direction: .minimize),
            ]
        for (file, objectives) in zip(files, fileObjectives) {
            if let objectives, objectives != chosen {
                notes.append(
                    "\((file.path as NSString).lastPathComponent) in \((file.path as NSString).deletingLastPathComponent) was swept on \(objectives.map(\.name).joined(separator: ", ")); comparing on \(chosen.map(\.name).joined(separator: ", "))"
                )
            }
            for column in chosen.map(\.name) where !file.columns.contains(column) {
                throw CompareError(path: file.path, message: "has no column '\(column)' to compare on")
            }
            if file.repeatedTrials > 0 {
                notes.append(
                    "\(file.path): \(file.repeatedTrials) \(file.repeatedTrials == 1 ? "row repeats" : "rows repeat") an earlier row's trial id: ignored (a trial's first row wins)"
                )
            }
            let missingHyper = catalogue.names.filter { file.missingColumns.contains($0) }
            if !missingHyper.isEmpty {
                notes.append(
                    "\(file.path) has no column \(missingHyper.joined(separator: ", ")): taken as the default value")
            }
        }
        // Results differ in the last bits between BLAS kernels (and so do trajectories after a while).
        let kernels = files.map { file in Set(file.rows.map { $0.value("blas") }.filter { !$0.isEmpty }) }
        if files.count > 1, Set(kernels).count > 1 {
            let listed = zip(files.indices, kernels).map {
                "[\($0 + 1)] \($1.isEmpty ? "unknown" : $1.sorted().joined(separator: " + "))"
            }
            notes.append(
                "the files ran on different BLAS kernels (\(listed.joined(separator: ", "))): values differ in the last bits between kernels, so small differences are not the change alone"
            )
        }
        objectives = chosen
        hyperparameters = catalogue.names

        var cells = [[Configuration: Cell]](repeating: [:], count: files.count)
        var ids = [[Configuration: [String]]](repeating: [:], count: files.count)
        var singles = [[(trial: String, configuration: Configuration, vector: [Double])]](
            repeating: [], count: files.count)
        var all = Set<Configuration>()
        for (f, file) in files.enumerated() {
            var unusable = 0
            defer {
                if unusable > 0 {
                    notes.append(
                        "\(file.path): \(unusable) finished row\(unusable == 1 ? " has" : "s have") a missing, non-numeric or infinite \(chosen.map(\.name).joined(separator: "/")) value: left out of every figure"
                    )
                }
            }
            for row in file.rows where row.value("status") == "finished" {
                let configuration = Self.configuration(of: row, in: file, ignoring: Set(ignoring))
                let vector = chosen.map { objective -> Double in
                    let v = row.number(objective.name) ?? .nan
                    return objective.direction == .maximize ? -v : v
                }
                if vector.contains(where: { !$0.isFinite }) { unusable += 1; continue }
                var seed = row.value("seed")
                // A repeated seed: keep both.
                if cells[f][configuration]?.bySeed[seed] != nil { seed += "'" + row.value("trial") }
                cells[f][configuration, default: Cell()].bySeed[seed] = vector
                ids[f][configuration, default: []].append(row.value("trial"))
                singles[f].append((row.value("trial"), configuration, vector))
                all.insert(configuration)
            }
        }
        configurations = all.sorted()
        ignored = ignoring
        // Hyperparameters whose values in the first file and in another never meet.
        var suggestions: [String] = []
        for (i, name) in catalogue.names.enumerated() where !ignoring.contains(name) {
            let first = Set(cells[0].keys.map { $0.values[i] }.filter { !$0.isEmpty })
            if !first.isEmpty,
                cells.dropFirst().contains(where: { other in
                    let values = Set(other.keys.map { $0.values[i] }.filter { !$0.isEmpty })
                    return !values.isEmpty && values.isDisjoint(with: first)
                })
            {
                suggestions.append(name)
            }
        }
        suggestedIgnores = suggestions
        self.cells = cells
        trialIDs = ids
        // A hyperparameter is a column when some method's configurations differ in it.
        let byMethod = Dictionary(grouping: all, by: \.method)
        varying = hyperparameters.enumerated().filter { (i, _) in
            byMethod.values.contains { Set($0.map { $0.values[i] }).count > 1 }
        }.map(\.element)
        self.notes = notes

        var best: [Best] = []
        for f in files.indices {
            for j in chosen.indices {
                guard
                    let (configuration, cell) = cells[f].min(by: {
                        ($0.value.mean(j), $0.key) < ($1.value.mean(j), $1.key)
                    })
                else { continue }
                let value = cell.mean(j)
                let single = singles[f].min { ($0.vector[j], $0.trial) < ($1.vector[j], $1.trial) }!
                let orient = { (x: Double) in chosen[j].direction == .maximize ? -x : x }
                best.append(
                    Best(
                        file: f, objective: j, value: orient(value), seeds: cell.bySeed.count,
                        trials: ids[f][configuration]!.sorted(),
                        configuration: configuration, bestTrial: single.trial, bestTrialValue: orient(single.vector[j]),
                        bestTrialConfiguration: single.configuration))
            }
        }
        self.best = best

        var seedTests: [SeedTest] = []
        var across: [(Int, Int, Statistics.TTest?)] = []
        for f in files.indices.dropFirst() {
            var meansA: [Double] = [], meansB: [Double] = []
            for configuration in configurations {
                guard let a = cells[0][configuration], let b = cells[f][configuration] else { continue }
                meansA.append(a.mean(0)); meansB.append(b.mean(0))
                let shared = Set(a.bySeed.keys).intersection(b.bySeed.keys).sorted()
                guard a.bySeed.count > 1 || b.bySeed.count > 1 else { continue }
                let sign = chosen[0].direction == .maximize ? -1.0 : 1.0
                seedTests.append(
                    SeedTest(
                        configuration: configuration, file: f, pairs: shared.count,
                        test: Statistics.pairedTTest(
                            shared.map { sign * a.bySeed[$0]![0] }, shared.map { sign * b.bySeed[$0]![0] })))
            }
            let sign = chosen[0].direction == .maximize ? -1.0 : 1.0
            across.append((f, meansA.count, Statistics.pairedTTest(meansA.map { sign * $0 }, meansB.map { sign * $0 })))
        }
        self.seedTests = seedTests
        acrossConfigurations = across

        // Fronts of per-configuration means, and hypervolume against one reference for all files.
        var fronts: [[Configuration]] = [], points: [[[Double]]] = []
        for f in files.indices {
            let keys = cells[f].keys.sorted()
            let vectors = keys.map { k in chosen.indices.map { cells[f][k]!.mean($0) } }
            let ranks = paretoRanks(vectors)
            fronts.append(zip(keys, ranks).filter { $0.1 == 1 }.map(\.0))
            points.append(zip(vectors, ranks).filter { $0.1 == 1 }.map(\.0))
        }
        self.fronts = fronts
        frontPoints = points
        let everything = points.flatMap { $0 }
        let (_, referencePoint) = Leaderboard.normalised([], all: everything, objectives: chosen)
        hypervolumes = points.map { front in
            let (normalisedFront, _) = Leaderboard.normalised(front, all: everything, objectives: chosen)
            return hypervolumeOf(normalisedFront, referencePoint)
        }
        reference =
            "common to all files: maximised objectives at 0, minimised ones at 1.1 × their largest value on any file's front"
        var relations: [FrontRelation] = []
        for a in files.indices {
            for b in files.indices where b > a {
                relations.append(
                    FrontRelation(
                        a: a, b: b, coverageAB: Self.coverage(points[a], points[b]),
                        coverageBA: Self.coverage(points[b], points[a])))
            }
        }
        self.relations = relations
    }

    /// Share of `b`'s points weakly dominated by some point of `a`.
    static func coverage(_ a: [[Double]], _ b: [[Double]]) -> Double {
        guard !b.isEmpty else { return 0 }
        let covered = b.filter { q in a.contains { p in zip(p, q).allSatisfy { $0 <= $1 } } }.count
        return Double(covered) / Double(b.count)
    }

    static func configuration(of row: LeaderboardFile.Row, in file: LeaderboardFile, ignoring: Set<String>)
        -> Configuration
    {
        let method = row.value("method")
        let values = file.catalogue.hyperparameters.map { parameter -> String in
            guard parameter.applies(to: method), !ignoring.contains(parameter.name) else { return "" }
            let text =
                file.columns.contains(parameter.name) ? row.value(parameter.name) : parameter.absentValue.description
            if let x = Double(text) { return ParameterValue.number(x).description }  // 1e-3 and 0.001 are one value
            return text
        }
        return Configuration(method: method, values: values)
    }

    public func value(_ configuration: Configuration, _ name: String) -> String {
        configuration.values[hyperparameters.firstIndex(of: name)!]
    }

    /// An objective's value as the user reads it (maximised ones back to positive).
    public func display(_ j: Int, _ minimisationValue: Double) -> Double {
        objectives[j].direction == .maximize ? -minimisationValue : minimisationValue
    }

    /// The aligned table: one row per configuration, per file n and each objective's mean (± std), and
    /// each objective's delta from the first file.
    public var alignedHeader: [String] {
        var header = ["method"] + varying
        for f in files.indices {
            header.append("n_\(f + 1)")
            for o in objectives { header.append("\(o.name)_\(f + 1)"); header.append("\(o.name)_std_\(f + 1)") }
        }
        for f in files.indices.dropFirst() { for o in objectives { header.append("delta_\(o.name)_\(f + 1)") } }
        return header
    }

    public var alignedRows: [[String]] {
        configurations.map { c in
            var row =
                [c.method]
                + varying.map { name in
                    let v = value(c, name); return Double(v).map { format($0) } ?? v
                }
            for f in files.indices {
                let cell = cells[f][c]
                row.append(String(cell?.bySeed.count ?? 0))
                for j in objectives.indices {
                    row.append(cell.map { format(display(j, $0.mean(j))) } ?? "")
                    row.append(cell.map { $0.bySeed.count > 1 ? format($0.standardDeviation(j)) : "" } ?? "")
                }
            }
            for f in files.indices.dropFirst() {
                for j in objectives.indices {
                    if let a = cells[0][c], let b = cells[f][c] {
                        row.append(format(display(j, b.mean(j)) - display(j, a.mean(j))))
                    } else {
                        row.append("")
                    }
                }
            }
            return row
        }
    }
}

/// Compact numbers for tables: integers as integers, others to `digits` significant digits.
public func format(_ x: Double, digits: Int = 6) -> String {
    if x.isNaN { return "nan" }
    if x == x.rounded() && abs(x) < 1e15 { return String(Int(x)) }
    return String(format: "%.\(digits)g", x)
}

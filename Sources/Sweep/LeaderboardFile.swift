import Essentials
import Foundation

/// A leaderboard CSV written by hpsweep (docs/formats.md), read back for `hpsweep compare`.
public struct LeaderboardFile {
    public struct Row {
        public let cells: [String: String]
        public func value(_ column: String) -> String { cells[column] ?? "" }
        public func number(_ column: String) -> Double? { Double(value(column)) }
    }

    public let path: String
    public let columns: [String]
    public let rows: [Row]
    /// The objectives the sweep used (from summary.json beside the file), or nil if unknown.
    public let objectives: [SearchSpec.Objective]?
    /// hpsweep columns this file lacks (written by another version, or cut by hand).
    public let missingColumns: [String]

    /// The columns without which a file is not an hpsweep leaderboard.
    public static let requiredColumns = ["trial", "method", "status", "seed", "val_acc", "params", "pareto_rank"]

    /// The hyperparameters an hpsweep leaderboard of this objective has columns for.
    public let catalogue: SearchCatalogue

    public init(path: String, catalogue: SearchCatalogue) throws {
        self.catalogue = catalogue
        guard let data = contentsOfRegularFile(path) else {
            throw CompareError(path: path, message: "cannot read the file: \(whyUnreadable(path))")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw CompareError(path: path, message: "not UTF-8 text")
        }
        let records = try parseCSV(text, path: path)
        guard let header = records.first, !header.isEmpty else {
            throw CompareError(path: path, message: "empty file: not an hpsweep leaderboard")
        }
        let missingRequired = Self.requiredColumns.filter { !header.contains($0) }
        if !missingRequired.isEmpty {
            throw CompareError(
                path: path,
                message:
                    "not an hpsweep leaderboard (no column \(missingRequired.map { "'\($0)'" }.joined(separator: ", "))); compare reads the leaderboard.csv files that 'hpsweep run' writes"
            )
        }
        if Set(header).count != header.count { throw CompareError(path: path, message: "repeats a column name") }
        // The journal's rules: a trial's first row wins and repeats are counted; a value no trial can
        // have is refused (the file was edited, or is not a leaderboard).
        var rows: [Row] = [], trials: Set<String> = [], repeated = 0
        for (i, record) in records.dropFirst().enumerated() where !(record.count == 1 && record[0].isEmpty) {
            guard record.count == header.count else {
                throw CompareError(
                    path: path, message: "line \(i + 2) has \(record.count) fields, the header \(header.count)")
            }
            let row = Row(cells: Dictionary(uniqueKeysWithValues: zip(header, record)))
            for (column, text) in zip(header, record) {
                if let problem = Self.problem(column: column, text, catalogue: catalogue) {
                    throw CompareError(path: path, message: "line \(i + 2): \(column) \(problem)")
                }
            }
            guard trials.insert(row.value("trial")).inserted else {
                repeated += 1
                continue
            }
            rows.append(row)
        }
        self.path = path
        columns = header
        self.rows = rows
        repeatedTrials = repeated
        missingColumns = Leaderboard.columns(catalogue).filter { !header.contains($0) }
        objectives = Self.summaryObjectives(besides: path)
    }

    static func summaryObjectives(besides path: String) -> [SearchSpec.Objective]? {
        let summary = ((path as NSString).deletingLastPathComponent as NSString).appendingPathComponent("summary.json")
        guard let data = contentsOfRegularFile(summary),
            let list = (try? JSONValue.parse(data))?["objectives"]?.array
        else { return nil }
        let objectives = list.compactMap { item -> SearchSpec.Objective? in
            guard let metric = item["metric"]?.string.flatMap(SearchSpec.Metric.init),
                let direction = item["direction"]?.string.flatMap(SearchSpec.Direction.init)
            else { return nil }
            return SearchSpec.Objective(metric: metric, direction: direction)
        }
        return objectives.isEmpty ? nil : objectives
    }

    /// Rows whose trial id an earlier row had (ignored: the first row of a trial wins).
    public let repeatedTrials: Int

    /// Columns of counts (non-negative integers up to 2⁵³), of accuracies (0 to 1) and of other
    /// non-negative quantities, as the leaderboard writes them (docs/formats.md).
    static let countColumns: Set = [
        "generation", "config", "seed", "epochs_run", "best_epoch", "params", "peak_memory", "pareto_rank", "attempts",
    ]
    static let accuracyColumns: Set = ["val_acc", "test_acc"]
    static let quantityColumns: Set = ["val_loss", "test_loss", "flops", "train_seconds"]

    /// What is wrong with `text` in `column`, or nil. Empty cells are allowed (a trial without the value),
    /// and "nan" where a diverged trial has one; a hyperparameter must be a value its catalogue allows.
    static func problem(column: String, _ text: String, catalogue: SearchCatalogue) -> String? {
        guard !text.isEmpty else { return nil }
        let x = Double(text)
        if countColumns.contains(column) {
            guard let x, x == x.rounded(), x >= 0, x <= 9_007_199_254_740_992 else {
                return "'\(text)' is not a count (an integer from 0 to 2^53)"
            }
        } else if accuracyColumns.contains(column) {
            guard let x, x.isNaN || (0...1).contains(x) else { return "'\(text)' is not an accuracy (0 to 1, or nan)" }
        } else if quantityColumns.contains(column) {
            guard let x, x.isNaN || (x >= 0 && (x <= 1e30 || (x.isInfinite && column.hasSuffix("loss")))) else {
                return "'\(text)' is not a non-negative number (up to 1e30, or nan)"
            }
        } else if let parameter = catalogue.named(column) {
            if case .word = parameter.kind { return nil }  // (a word a newer hpsweep added reads as itself)
            guard let x else { return "'\(text)' is not a number" }
            return parameter.problem(.number(x))
        }
        return nil
    }

    /// The hyperparameter columns of the catalog this file has.
    public var hyperparameterColumns: [String] { catalogue.names.filter(columns.contains) }
}

/// A file `hpsweep compare` or `report` cannot use: the file and the problem.
public struct CompareError: Error, CustomStringConvertible {
    public let path: String
    public let message: String
    public init(path: String, message: String) { self.path = path; self.message = message }
    public var description: String { "\(path): \(message)" }
}

/// RFC 4180 CSV: fields separated by commas, optionally quoted with "" escaping, CRLF or LF line ends.
func parseCSV(_ text: String, path: String) throws -> [[String]] {
    var records: [[String]] = [], record: [String] = [], field = ""
    var inQuotes = false, fieldStarted = false
    var line = 1
    var iterator = text.unicodeScalars.makeIterator()
    var pending: Unicode.Scalar? = nil
    func next() -> Unicode.Scalar? { if let p = pending { pending = nil; return p }; return iterator.next() }
    while let c = next() {
        if inQuotes {
            if c == "\"" {
                if let after = next() {
                    if after == "\"" { field.unicodeScalars.append("\"") } else { inQuotes = false; pending = after }
                } else {
                    inQuotes = false
                }
            } else {
                if c == "\n" { line += 1 }
                field.unicodeScalars.append(c)
            }
            continue
        }
        switch c {
        case "\"" where !fieldStarted: inQuotes = true; fieldStarted = true
        case ",": record.append(field); field = ""; fieldStarted = false
        case "\r": continue
        case "\n":
            record.append(field); records.append(record)
            record = []; field = ""; fieldStarted = false; line += 1
        default: field.unicodeScalars.append(c); fieldStarted = true
        }
    }
    if inQuotes { throw CompareError(path: path, message: "line \(line): a quoted field is not closed") }
    if fieldStarted || !record.isEmpty { record.append(field); records.append(record) }
    return records
}

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
        var rows: [Row] = []
        for (i, record) in records.dropFirst().enumerated() where !(record.count == 1 && record[0].isEmpty) {
            guard record.count == header.count else {
                throw CompareError(
                    path: path, message: "line \(i + 2) has \(record.count) fields, the header \(header.count)")
            }
            rows.append(Row(cells: Dictionary(uniqueKeysWithValues: zip(header, record))))
        }
        self.path = path
        columns = header
        self.rows = rows
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

import Backbone
import Cache
import Datasets
import Foundation
import SideTuning
import Sweep

/// One fuzz target per parser of files other programs write (docs/fuzzing.md). Each takes arbitrary
/// bytes; a thrown error is the right answer to bad input, a crash, hang or runaway allocation a bug.
public enum FuzzTarget: String, CaseIterable {
    case safetensors, npy, npz, vtab, sweep
    case cacheHeader = "cache-header"
    case journal, leaderboard

    /// A scratch directory for parsers that read files (in /dev/shm when there is one).
    static let scratch: String = {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        let dir = (base as NSString).appendingPathComponent("hpsweep-fuzz-\(getpid())")
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }()

    static func file(_ name: String, _ data: Data) -> String {
        let path = (scratch as NSString).appendingPathComponent(name)
        _ = FileManager.default.createFile(atPath: path, contents: data)
        return path
    }

    /// Parses `data` as this target's format, reading every part a user's command would read.
    public func run(_ data: Data) {
        switch self {
        case .safetensors:
            guard let archive = try? SafeTensorsFile(path: Self.file("x.safetensors", data)) else { return }
            for name in archive.names { _ = try? archive.tensor(name) }
        case .npy:
            data.withUnsafeBytes { raw in
                guard let base = raw.baseAddress else { return }
                _ = try? NPYHeader(bytes: base, count: raw.count, name: "x.npy")
            }
            _ = try? NumpySplit(name: "x", images: Self.file("images.npy", data), labels: Self.file("labels.npy", data))
        case .npz:
            guard let archive = try? NPZFile(path: Self.file("x.npz", data)) else { return }
            for name in archive.names { _ = try? archive.tensor(name) }
        case .vtab:
            let task = (Self.scratch as NSString).appendingPathComponent("task")
            try? FileManager.default.createDirectory(atPath: task, withIntermediateDirectories: true)
            _ = FileManager.default.createFile(
                atPath: (task as NSString).appendingPathComponent("train800.txt"), contents: data)
            _ = try? VTABSplit(root: Self.scratch, task: "task", split: "train800", classes: 10)
        case .sweep:
            guard let spec = try? SweepSpec.load(Self.file("sweep.json", data)) else { return }
            _ = spec.search.map { Sampler($0).propose(generation: 0, history: []) }
        case .cacheHeader:
            _ = try? CacheHeader(json: data, path: "header.json")
        case .journal:
            // Read as every command reads a journal: state, leaderboard, costs, schedule, export, report.
            let sweep = (Self.scratch as NSString).appendingPathComponent("sweep")
            try? FileManager.default.createDirectory(atPath: sweep, withIntermediateDirectories: true)
            _ = FileManager.default.createFile(
                atPath: (sweep as NSString).appendingPathComponent("journal.jsonl"), contents: data)
            guard let contents = try? Journal.readAll(directory: sweep) else { return }
            let state = SweepState(contents)
            _ = CostAccount(state: state).description
            _ = ScheduleTimeline(state).utilisation
            guard state.headerProblem == nil else { return }
            let catalogue = SideTuningCatalogue.catalogue
            let board = Leaderboard(state: state, objectives: state.objectives, catalogue: catalogue)
            for record in board.rows { for column in board.columns { _ = board.cell(record, column) } }
            _ = try? OptunaExport.lines(state: state, studyName: "fuzz", catalogue: catalogue)
            _ = (try? SweepReport(directories: [sweep], catalogue: catalogue))?.html()
        case .leaderboard:
            guard
                let file = try? LeaderboardFile(
                    path: Self.file("leaderboard.csv", data), catalogue: SideTuningCatalogue.catalogue)
            else { return }
            _ = try? Comparison(files: [file, file])
        }
    }
}

import Essentials
import Foundation

/// A whole sweep run on the synthetic objective by `workers` runners (threads standing in for worker
/// processes: each its own journal and leases in one shared directory) of `slots` slots each, and
/// what it took: `hpsweep bench schedule` and the scheduler tests.
public struct ScheduleMeasurement {
    public let state: SweepState
    public let wallSeconds: Double
    /// Simulated training seconds, summed over every slot (the work).
    public let busySeconds: Double
    public let slots: Int
    public var utilisation: Double { wallSeconds > 0 ? busySeconds / (Double(slots) * wallSeconds) : 1 }

    /// Runs the sweep in `directory` (created if missing) to the end. `epochSeconds` 0 trains
    /// instantly (the outcome alone); `leaseSeconds` also sets how often a runner with nothing to do
    /// rereads the journals (an eighth of it).
    public static func run(
        _ search: SearchSpec, directory: String, workers: Int = 1, slots: Int = 1, epochSeconds: Double = 0,
        variedDurations: Bool = false, leaseSeconds: Double = 60
    ) throws -> ScheduleMeasurement {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let identity = SweepIdentity(
            name: "synthetic", file: "synthetic.json", contentHash: "synthetic",
            recorded: ["trials": .int(search.trials)])
        let objectives = (0..<workers).map { _ in
            SyntheticObjective(
                epochs: search.epochs, methods: search.methods.map(\.method), slots: slots, epochSeconds: epochSeconds,
                variedDurations: variedDurations)
        }
        let runners = try objectives.enumerated().map { k, objective in
            try SweepRunner(
                identity: identity, search: search, objective: objective, directory: directory,
                hpsweepVersion: "synthetic",
                worker: workers == 1 ? nil : "w\(k)", leaseSeconds: leaseSeconds, shouldStop: { false }
            ) { _ in }
        }
        let failure = FatalError()
        let start = DispatchTime.now().uptimeNanoseconds
        let group = DispatchGroup()
        for runner in runners {
            group.enter()
            Thread {
                defer { group.leave() }
                do { _ = try runner.run() } catch { failure.set(error) }
            }.start()
        }
        group.wait()
        let wall = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        if let error = failure.error { throw error }
        return ScheduleMeasurement(
            state: SweepState(try Journal.readAll(directory: directory)), wallSeconds: wall,
            busySeconds: objectives.reduce(0) { $0 + $1.busySeconds }, slots: workers * slots)
    }

    /// What the sweep decided, trial by trial (status, epochs, accuracy, test score), in trial-id order:
    /// equal for two runs exactly when they proposed, pruned, trained and chose the same.
    public static func outcome(_ state: SweepState) -> [String] {
        state.records.sorted { $0.id < $1.id }.map {
            "\($0.id) \($0.status.rawValue) \($0.epochsDone) \($0.result?.bestValAccuracy ?? -1) \($0.testAccuracy ?? -1)"
        }
    }

    /// The search's quality: the best val_acc of a finished trial, and the hypervolume of the finished
    /// trials' front in (val_acc, log10(params) / 6), from the reference point (0, 1): a fixed scale, so
    /// that two sweeps' figures compare.
    public static func quality(_ state: SweepState) -> (bestValAccuracy: Double, hypervolume: Double) {
        let finished = state.records.filter { $0.status == .finished && $0.result != nil }
        let points = finished.map {
            [-Double($0.result!.bestValAccuracy), log10(Double(max(1, $0.result!.trainableParameters))) / 6]
        }
        let front = zip(points, paretoRanks(points)).filter { $0.1 == 1 }.map(\.0)
        return (-(points.map { $0[0] }.min() ?? 0), hypervolume(front, reference: [0, 1]))
    }
}

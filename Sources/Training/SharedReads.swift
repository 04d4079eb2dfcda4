import Essentials
import Foundation
import Numerics

/// Shared reads: trials that train on the same cached split with the same batch size, data order
/// (`dataOrderSeed`), taps and token rows step through the data together, so each batch is read from
/// the cache and converted from fp16 once for the whole cohort instead of once per trial. At each
/// step the cohort's trials train on that batch in parallel over `workers` threads and then wait for
/// the slowest (a barrier per step); every trial's networks stay resident for the whole cohort.
/// Results are bitwise those of each trial trained alone (a test checks it), and each reports as its
/// train time its own steps and evaluations plus an equal share of the reads (not the waits).
/// `hpsweep bench pool --cache --shared-reads` measures this against independent workers
/// (docs/training.md has the figures).
public enum SharedReads {
    /// Why `trainers` cannot share reads, or nil when they can.
    public static func incompatibility(_ trainers: [TrialTrainer]) -> String? {
        guard let first = trainers.first else { return nil }
        for trainer in trainers.dropFirst() {
            if trainer.data.cache !== first.data.cache || trainer.data.trainSplit != first.data.trainSplit {
                return "different caches or splits"
            }
            if trainer.settings.batchSize != first.settings.batchSize { return "different batch sizes" }
            if trainer.settings.dataOrderSeed != first.settings.dataOrderSeed { return "different data orders" }
            if trainer.network.requiredTaps != first.network.requiredTaps
                || trainer.network.classTokenOnly != first.network.classTokenOnly
            {
                return "different taps"
            }
        }
        return nil
    }

    /// The members of a cohort resumed from checkpoints of different epochs: they cannot step together.
    public struct UnevenProgress: Error, CustomStringConvertible {
        public var description: String { "these trials cannot share reads: their checkpoints are at different epochs" }
    }

    /// Trains the cohort to `untilEpoch` (or to the end), calling `onEpoch(member, record)` after each
    /// member's epoch (from the cohort's threads); results in the order of `trainers`. Read time is
    /// attributed to the trials in equal shares. Throws `UnevenProgress` before training anything
    /// when the members' checkpoints are at different epochs.
    public static func run(
        _ trainers: [TrialTrainer], workers: @autoclosure () -> Int, untilEpoch: Int? = nil,
        shouldStop: () -> Bool = { false },
        onEpoch: (Int, EpochRecord) -> Void = { _, _ in }
    ) throws -> [TrialResult] {
        if let reason = incompatibility(trainers) { throw TrialError("these trials cannot share reads: \(reason)") }
        defer { for trainer in trainers { trainer.releaseBuffers(); trainer.batchBuffers = [] } }
        let runs = try trainers.map { try $0.begin(untilEpoch: untilEpoch) }
        guard Set(runs.map(\.state.epochsDone)).count <= 1 else { throw UnevenProgress() }
        let reader = trainers[0]
        for run in runs { run.ownNanoseconds = 0 }
        func timed(_ run: TrialTrainer.Run, _ body: () -> Void) {
            let start = DispatchTime.now().uptimeNanoseconds
            body()
            run.ownNanoseconds! += DispatchTime.now().uptimeNanoseconds - start
        }
        try BLAS.withThreadCount(1) {
            while true {
                let stop = shouldStop()
                let active = runs.indices.filter { runs[$0].wantsEpoch(shouldStop: { stop }) }
                guard let lead = active.first else { break }
                for k in active { runs[k].beginEpoch() }
                let batches = runs[lead].epochBatches()  // the same for every member: one data order
                for indices in batches {
                    let stepping = active.filter { !runs[$0].diverged }
                    if stepping.isEmpty { break }
                    let readStart = DispatchTime.now().uptimeNanoseconds
                    let input = try reader.batch(reader.data.trainSplit, indices, labels: runs[lead].trainLabels)
                    let share = (DispatchTime.now().uptimeNanoseconds - readStart) / UInt64(stepping.count)
                    parallelFor(stepping.count, threads: workers()) { j in
                        let k = stepping[j]
                        runs[k].readNanoseconds += share
                        runs[k].ownNanoseconds! += share
                        timed(runs[k]) { _ = trainers[k].step(runs[k], input) }
                    }
                }
                let failureLock = NSLock()
                var failure: Error?
                parallelFor(active.count, threads: workers()) { j in
                    let k = active[j]
                    timed(runs[k]) {
                        do { try trainers[k].endEpoch(runs[k], onEpoch: { onEpoch(k, $0) }) } catch {
                            failureLock.lock(); failure = failure ?? error; failureLock.unlock()
                        }
                    }
                    if k != 0 { trainers[k].batchBuffers = [] }  // evaluation buffers: the reader's are enough
                }
                if let failure { throw failure }
            }
        }
        return zip(trainers, runs).map { $0.finish($1) }
    }
}

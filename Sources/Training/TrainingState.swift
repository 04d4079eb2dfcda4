import Essentials
import Foundation

/// A trial's state at an epoch boundary, and its checkpoint file (written atomically: temporary
/// name, fsync, rename). Layout, little-endian:
///   "HPSWCKPT" | u32 version (1) | u32 0 | u64 n | u64 json bytes | JSON {settings, epochs_done,
///   adam_step, history} | n f32 parameters | n f32 first moments | n f32 second moments
struct TrainingState {
    static let magic = Array("HPSWCKPT".utf8)
    static let version: UInt32 = 1

    var settings: TrialSettings
    var parameters: [Float]
    var optimizer: AdamW
    var epochsDone = 0
    var history: [EpochRecord] = []

    struct Meta: Codable {
        var settings: TrialSettings; var epochsDone: Int; var adamStep: Int; var history: [EpochRecord]
    }

    func save(_ path: String) throws {
        let meta = try JSONEncoder().encode(
            Meta(settings: settings, epochsDone: epochsDone, adamStep: optimizer.step, history: history))
        var data = Data(Self.magic)
        func append<T>(_ value: T) { withUnsafeBytes(of: value) { data.append(contentsOf: $0) } }
        append(Self.version.littleEndian); append(UInt32(0))
        append(UInt64(parameters.count).littleEndian); append(UInt64(meta.count).littleEndian)
        data.append(meta)
        for array in [parameters, optimizer.firstMoment, optimizer.secondMoment] {
            array.withUnsafeBytes { data.append(contentsOf: $0) }
        }
        // A full disk or a read-only directory is the machine's problem, not the trial's: a
        // CheckpointWriteError stops the sweep (resumable once fixed) instead of failing the trial.
        // A per-process temporary: a worker fenced out of this trial (frozen, then thawed) may still
        // save while the new owner does, and one shared temporary would be renamed from under one of them.
        do { try replaceAtomically(path, with: data) } catch {
            throw CheckpointWriteError(path: path, reason: "\(error)")
        }
    }

    /// The checkpoint at `path`, or nil when there is none. A checkpoint of other settings or a
    /// damaged one is an error naming the file (never silently restarted or trained on).
    static func load(_ path: String, settings: TrialSettings, decayMask: [Float]) throws -> TrainingState? {
        let parameterCount = decayMask.count
        guard let data = contentsOfRegularFile(path) else { return nil }
        func fail(_ detail: String) -> TrialError { TrialError("\(path): \(detail)") }
        guard data.count >= 32, Array(data.prefix(8)) == magic else { throw fail("not an hpsweep checkpoint") }
        let version = data.withUnsafeBytes {
            UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
        }
        guard version == Self.version else { throw fail("checkpoint version \(version) is not supported") }
        let n = data.withUnsafeBytes {
            Int(UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: 16, as: UInt64.self)))
        }
        let metaBytes = data.withUnsafeBytes {
            Int(UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: 24, as: UInt64.self)))
        }
        guard n == parameterCount else {
            throw fail("checkpoint has \(n) parameters, the trial's network \(parameterCount)")
        }
        guard metaBytes >= 0, metaBytes < data.count, data.count == 32 + metaBytes + 3 * 4 * n else {
            throw fail("checkpoint is truncated")
        }
        guard let meta = try? JSONDecoder().decode(Meta.self, from: data.subdata(in: 32..<(32 + metaBytes))) else {
            throw fail("checkpoint metadata is damaged")
        }
        guard meta.settings == settings else { throw fail("checkpoint belongs to other trial settings") }
        func floats(_ k: Int) -> [Float] {
            let offset = 32 + metaBytes + k * 4 * n
            return data.withUnsafeBytes { raw in
                (0..<n).map {
                    Float(
                        bitPattern: UInt32(
                            littleEndian: raw.loadUnaligned(fromByteOffset: offset + 4 * $0, as: UInt32.self)))
                }
            }
        }
        var optimizer = AdamW(parameterCount: n, weightDecay: settings.weightDecay, decayMask: decayMask)
        optimizer.firstMoment = floats(1)
        optimizer.secondMoment = floats(2)
        optimizer.step = meta.adamStep
        return TrainingState(
            settings: settings, parameters: floats(0), optimizer: optimizer, epochsDone: meta.epochsDone,
            history: meta.history)
    }
}

/// A checkpoint could not be written (disk full, read-only directory): stops the sweep, which resumes
/// from the last good checkpoint once the problem is fixed.
public struct CheckpointWriteError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String {
        "\(path): cannot write the checkpoint: \(reason); nothing written before is lost, rerun once there is room"
    }
}

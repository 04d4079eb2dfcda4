import Foundation
import Numerics
import SideNets

/// Settings as JSON (checkpoints and model files; docs/formats.md): one flat object, the recipe under
/// the names of its fields and the method's own values under their `settingsKey`. A method's value
/// missing from the object has its default. Files written before methods declared their values hold
/// every method's sizes; each method reads its own.
extension TrialSettings: Codable {
    private struct Key: CodingKey {
        let stringValue: String
        init(_ name: String) { stringValue = name }
        init?(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        let name = try c.decode(String.self, forKey: Key("method"))
        guard let method = SideTuningMethods.named(name) else {
            throw DecodingError.dataCorruptedError(
                forKey: Key("method"), in: c,
                debugDescription: "unknown method '\(name)' (\(SideTuningMethods.names.joined(separator: ", ")))")
        }
        self.init(method: name)
        for parameter in method.hyperparameters {
            let key = Key(parameter.settingsKey)
            guard c.contains(key), try !c.decodeNil(forKey: key) else { continue }
            let value: MethodValue
            switch parameter.kind {
            case .integer(let minimum):
                let i = try c.decode(Int.self, forKey: key)
                guard (minimum...(1 << 20)).contains(i) else {
                    throw DecodingError.dataCorruptedError(
                        forKey: key, in: c,
                        debugDescription: "\(parameter.name) \(i) is not from \(minimum) to \(1 << 20)")
                }
                value = .int(i)
            case .word: value = .word(try c.decode(String.self, forKey: key))
            case .integers: value = .ints(try c.decode([Int].self, forKey: key))
            }
            guard parameter.accepts(value) else {
                throw DecodingError.dataCorruptedError(
                    forKey: key, in: c, debugDescription: "\(value) is not a value of \(parameter.name)")
            }
            values[parameter.name] = value
        }
        initRule = try c.decodeIfPresent(InitRule.self, forKey: Key("initRule"))
        normAffine = try c.decodeIfPresent(Bool.self, forKey: Key("normAffine"))
        learningRate = try c.decode(Float.self, forKey: Key("learningRate"))
        weightDecay = try c.decode(Float.self, forKey: Key("weightDecay"))
        batchSize = try c.decode(Int.self, forKey: Key("batchSize"))
        epochs = try c.decode(Int.self, forKey: Key("epochs"))
        warmupFraction = try c.decode(Float.self, forKey: Key("warmupFraction"))
        decay = try c.decode(Schedule.Decay.self, forKey: Key("decay"))
        lrFloor = try c.decode(Float.self, forKey: Key("lrFloor"))
        labelSmoothing = try c.decode(Float.self, forKey: Key("labelSmoothing"))
        gradientClip = try c.decodeIfPresent(Float.self, forKey: Key("gradientClip"))
        evalEvery = try c.decode(Int.self, forKey: Key("evalEvery"))
        shards = try c.decodeIfPresent(Int.self, forKey: Key("shards"))
        compute = try c.decodeIfPresent(ComputePrecision.self, forKey: Key("compute"))
        seed = try c.decode(UInt64.self, forKey: Key("seed"))
        dataSeed = try c.decodeIfPresent(UInt64.self, forKey: Key("dataSeed"))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(method, forKey: Key("method"))
        for parameter in definition.hyperparameters {
            switch values[parameter.name] {
            case .int(let i): try c.encode(i, forKey: Key(parameter.settingsKey))
            case .word(let w): try c.encode(w, forKey: Key(parameter.settingsKey))
            case .ints(let list): try c.encode(list, forKey: Key(parameter.settingsKey))
            case nil: break
            }
        }
        try c.encodeIfPresent(initRule, forKey: Key("initRule"))
        try c.encodeIfPresent(normAffine, forKey: Key("normAffine"))
        try c.encode(learningRate, forKey: Key("learningRate"))
        try c.encode(weightDecay, forKey: Key("weightDecay"))
        try c.encode(batchSize, forKey: Key("batchSize"))
        try c.encode(epochs, forKey: Key("epochs"))
        try c.encode(warmupFraction, forKey: Key("warmupFraction"))
        try c.encode(decay, forKey: Key("decay"))
        try c.encode(lrFloor, forKey: Key("lrFloor"))
        try c.encode(labelSmoothing, forKey: Key("labelSmoothing"))
        try c.encodeIfPresent(gradientClip, forKey: Key("gradientClip"))
        try c.encode(evalEvery, forKey: Key("evalEvery"))
        try c.encodeIfPresent(shards, forKey: Key("shards"))
        try c.encodeIfPresent(compute, forKey: Key("compute"))
        try c.encode(seed, forKey: Key("seed"))
        try c.encodeIfPresent(dataSeed, forKey: Key("dataSeed"))
    }
}

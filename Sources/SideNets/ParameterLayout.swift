import Numerics

/// Named slices of one flat Float buffer (llm.c's ParameterTensors): parameters, gradients and
/// optimizer moments of a side network all use the same layout, so zeroing gradients is one fill
/// and an optimizer step one loop.
public struct ParameterLayout: Equatable {
    public struct Entry: Equatable {
        public let name: String
        public let offset: Int
        public let shape: [Int]
        /// Whether weight decay applies (not to biases, LayerNorm vectors or gates: METHODS.md).
        public let decays: Bool
        public var count: Int { shape.reduce(1, *) }
        public var range: Range<Int> { offset..<(offset + count) }
    }

    public private(set) var entries: [Entry] = []
    public private(set) var count = 0

    public init() {}

    /// Appends a tensor of `shape`; returns its offset in the flat buffer.
    @discardableResult
    public mutating func add(_ name: String, _ shape: [Int], decays: Bool) -> Int {
        precondition(!entries.contains { $0.name == name }, "ParameterLayout: duplicate name \(name)")
        let entry = Entry(name: name, offset: count, shape: shape, decays: decays)
        entries.append(entry)
        count += entry.count
        return entry.offset
    }

    public func entry(_ name: String) -> Entry? { entries.first { $0.name == name } }

    /// 1 where weight decay applies, 0 elsewhere (for AdamW).
    public var decayMask: [Float] {
        var mask = [Float](repeating: 0, count: count)
        for e in entries where e.decays { for i in e.range { mask[i] = 1 } }
        return mask
    }
}

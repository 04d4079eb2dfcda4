/// The Sobol low-discrepancy sequence (unscrambled, Gray-code order), with the Joe–Kuo direction
/// numbers (new-joe-kuo-6.21201) for the first 16 dimensions; point i equals scipy's
/// `Sobol(d, scramble=False).random(i + 1)[i]` (a test checks fixture points).
public struct SobolSequence {
    public static let maxDimensions = 16
    // (degree s, coefficients a, initial direction numbers m) for dimensions 2…16.
    static let table: [(s: Int, a: UInt32, m: [UInt32])] = [
        (1, 0, [1]), (2, 1, [1, 3]), (3, 1, [1, 3, 1]), (3, 2, [1, 1, 1]), (4, 1, [1, 1, 3, 3]),
        (4, 4, [1, 3, 5, 13]), (5, 2, [1, 1, 5, 5, 17]), (5, 4, [1, 1, 5, 5, 5]), (5, 7, [1, 1, 7, 11, 19]),
        (5, 11, [1, 1, 5, 1, 1]), (5, 13, [1, 1, 1, 3, 11]), (5, 14, [1, 3, 5, 5, 31]),
        (6, 1, [1, 3, 3, 9, 7, 49]), (6, 13, [1, 1, 1, 15, 21, 21]), (6, 16, [1, 3, 1, 13, 27, 49]),
    ]
    static let bits = 32
    let directions: [[UInt32]]  // [dimension][bit]

    public init(dimensions: Int) {
        precondition(
            (1...Self.maxDimensions).contains(dimensions),
            "Sobol: 1…\(Self.maxDimensions) dimensions, got \(dimensions)")
        var directions: [[UInt32]] = [(0..<Self.bits).map { UInt32(1) << (31 - $0) }]
        for d in 1..<dimensions {
            let (s, a, m) = Self.table[d - 1]
            var v = [UInt32](repeating: 0, count: Self.bits)
            for k in 0..<s { v[k] = m[k] << (31 - k) }
            for k in s..<Self.bits {
                var value = v[k - s] ^ (v[k - s] >> UInt32(s))
                for j in 1..<s where (a >> UInt32(s - 1 - j)) & 1 == 1 { value ^= v[k - j] }
                v[k] = value
            }
            directions.append(v)
        }
        self.directions = directions
    }

    /// Point `index` (0 is the origin), each coordinate in [0, 1).
    public func point(_ index: Int) -> [Double] {
        // Gray code of the index: x = XOR of v[k] over the set bits k of index ^ (index >> 1).
        let gray = UInt64(index) ^ (UInt64(index) >> 1)
        return directions.map { v in
            var x: UInt32 = 0
            for k in 0..<Self.bits where (gray >> UInt64(k)) & 1 == 1 { x ^= v[k] }
            return Double(x) / 4_294_967_296.0
        }
    }
}

import Backbone
import Datasets
import Foundation
import Numerics

/// One split streamed through the frozen backbone in batches, each batch's taps reduced by the token
/// policy and encoded in the cache dtype, exactly as the cache stores them. The cache builder writes
/// these bytes to disk; streaming evaluation decodes them straight back, so a split evaluated without
/// a cache sees bit for bit the values a cached one would.
///
/// The next batch's images are decoded on another thread while the backbone runs. Memory is bounded
/// by the batch size, never by the split.
public struct BackboneStream {
    public let plan: CachePlan
    public let split: any ImageSplit
    public let batchSize: Int
    public let threads: Int

    public init(plan: CachePlan, split: any ImageSplit, batchSize: Int, threads: Int = availableCores) {
        precondition(batchSize > 0, "BackboneStream: batch size \(batchSize)")
        self.plan = plan; self.split = split; self.batchSize = batchSize; self.threads = threads
    }

    /// Tokens kept per example by the plan's token policy.
    public var tokens: Int { plan.request.tokenPolicy.tokens(for: plan.vit.config) }

    /// Calls `body` once per batch, in order, with the batch's example range and, for each of
    /// `plan.taps` in order, the encoded (examples, tokens, width) activations. The buffers are
    /// reused: copy what must outlive the call.
    public func forEachBatch(_ body: (Range<Int>, [UnsafeRawBufferPointer]) throws -> Void) throws {
        let config = plan.vit.config, request = plan.request
        let rowElements = tokens * config.width
        let blockTaps = plan.taps.compactMap { if case .block(let i) = $0 { return i } else { return nil } }
        let wantsNorm = plan.taps.contains(.normalized)
        let batches = stride(from: 0, to: split.count, by: batchSize).map { $0..<min($0 + batchSize, split.count) }
        let prefetcher = ImagePrefetcher(
            split: split, preprocessing: plan.preprocessing, imageSize: config.imageSize, batches: batches)
        defer { prefetcher.drain() }  // never return while the decoder still writes
        prefetcher.start(0)
        let bytesPerTap = batchSize * rowElements * request.dtype.byteCount
        let encoded = UnsafeMutableRawPointer.allocate(byteCount: max(1, bytesPerTap * plan.taps.count), alignment: 64)
        defer { encoded.deallocate() }
        let reduced = UnsafeMutablePointer<Float>.allocate(
            capacity: request.tokenPolicy == .all ? 1 : batchSize * rowElements)
        defer { reduced.deallocate() }
        var output = ViT.Output(taps: [:], normalizedFinal: nil)
        for (index, range) in batches.enumerated() {
            let images = try prefetcher.take()
            prefetcher.start(index + 1)
            // The output arrays of the previous batch are reused: no fresh pages to fault in per batch.
            plan.vit.forward(
                images: images, taps: blockTaps, normalizedFinal: wantsNorm, threads: threads, into: &output)
            let count = range.count * rowElements
            var views: [UnsafeRawBufferPointer] = []
            for (t, tap) in plan.taps.enumerated() {
                let activations: Tensor
                switch tap {
                case .block(let i): activations = output.taps[i]!;
                case .normalized: activations = output.normalizedFinal!
                }
                let destination = encoded + t * bytesPerTap
                activations.withUnsafePointer { source in
                    if request.tokenPolicy == .all {  // no reduction: encode straight from the output
                        request.dtype.encode(source, count: count, into: destination)
                    } else {
                        Self.selectTokens(
                            request.tokenPolicy, from: source, examples: range.count, tokens: config.tokens,
                            registers: config.registers,
                            width: config.width, into: reduced)
                        request.dtype.encode(reduced, count: count, into: destination)
                    }
                }
                views.append(UnsafeRawBufferPointer(start: destination, count: count * request.dtype.byteCount))
            }
            try body(range, views)
        }
    }

    /// Rows (examples, tokens, width) reduced by the token policy into (examples, kept, width).
    static func selectTokens(
        _ policy: TokenPolicy, from source: UnsafePointer<Float>, examples: Int, tokens: Int, registers: Int,
        width: Int, into out: UnsafeMutablePointer<Float>
    ) {
        let firstPatch = 1 + registers
        switch policy {
        case .all:
            out.update(from: source, count: examples * tokens * width)  // (the stream skips this copy)
        case .cls:
            for e in 0..<examples { (out + e * width).update(from: source + e * tokens * width, count: width) }
        case .allWithoutRegisters:
            let kept = tokens - registers
            for e in 0..<examples {
                let image = source + e * tokens * width, o = out + e * kept * width
                o.update(from: image, count: width)
                (o + width).update(from: image + firstPatch * width, count: (tokens - firstPatch) * width)
            }
        case .mean:
            let scale = 1 / Float(tokens - firstPatch)
            for e in 0..<examples {
                let o = out + e * width
                o.initialize(repeating: 0, count: width)
                for t in firstPatch..<tokens {
                    let row = source + (e * tokens + t) * width
                    for d in 0..<width { o[d] += row[d] }
                }
                for d in 0..<width { o[d] *= scale }
            }
        }
    }
}

/// Decodes batch k+1's images on a serial queue while batch k runs through the backbone.
private final class ImagePrefetcher: @unchecked Sendable {
    let split: any ImageSplit
    let preprocessing: Preprocessing
    let imageSize: Int
    let batches: [Range<Int>]
    private let queue = DispatchQueue(label: "hpsweep.backbone-stream.decode")
    private let ready = DispatchSemaphore(value: 0)
    private var pending: Result<Tensor, Error>?  // written on `queue`, read after `ready` signals
    private var inFlight = false

    init(split: any ImageSplit, preprocessing: Preprocessing, imageSize: Int, batches: [Range<Int>]) {
        self.split = split; self.preprocessing = preprocessing; self.imageSize = imageSize; self.batches = batches
    }

    func start(_ index: Int) {
        guard index < batches.count else { return }
        inFlight = true
        queue.async { [self] in
            pending = decode(batches[index]); ready.signal()
        }
    }

    func take() throws -> Tensor {
        ready.wait()
        inFlight = false
        return try pending!.get()
    }

    func drain() { if inFlight { ready.wait(); inFlight = false } }

    private func decode(_ range: Range<Int>) -> Result<Tensor, Error> {
        let imageElements = 3 * imageSize * imageSize
        var images = Tensor(shape: [range.count, 3, imageSize, imageSize])
        do {
            try images.withUnsafeMutablePointer { base in
                for (i, index) in range.enumerated() {
                    try split.loadImage(at: index, preprocessing: preprocessing, into: base + i * imageElements)
                }
            }
            return .success(images)
        } catch { return .failure(error) }
    }
}

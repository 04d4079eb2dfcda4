import Backbone
import Essentials
import Numerics

/// A split given as NumPy arrays: images `.npy` — uint8 (N, H, W, 3), (N, H, W, 1) or (N, H, W),
/// which go through the usual preprocessing, or float32 (N, 3, S, S), taken as already-preprocessed
/// backbone input — and labels `.npy` of N integers. The image array is memory-mapped, not loaded.
public struct NumpySplit: ImageSplit {
    enum Layout {
        case uint8NHWC(height: Int, width: Int, channels: Int)
        case float32NCHW(size: Int)
    }

    public let name: String
    public let imagesPath: String
    public let labelsPath: String
    public let labels: [Int]
    private let file: MappedFile
    private let header: NPYHeader
    private let layout: Layout
    /// Element strides of the image array as stored: C order, or Fortran order (column-major), which
    /// is read in place, element by element, rather than copied whole.
    private let strides: [Int]

    public var count: Int { labels.count }
    public var files: [String] { [imagesPath, labelsPath] }

    public init(name: String, images: String, labels labelsPath: String, classes: Int? = nil) throws {
        self.name = name
        imagesPath = images
        self.labelsPath = labelsPath
        func open(_ path: String) throws -> (MappedFile, NPYHeader) {
            let mapped: MappedFile
            do { mapped = try MappedFile(path: path) } catch {
                throw DatasetError.missingFile(path: path, referencedFrom: nil, line: nil)
            }
            do { return (mapped, try NPYHeader(bytes: mapped.bytes, count: mapped.count, name: path)) } catch let error
                as NPYError
            { throw DatasetError.badArray(path: path, reason: error.detail) }
        }
        (file, header) = try open(images)
        let shape = header.shape
        // Overflow-checked: an empty array (N = 0) may declare any other extents (found by the npy fuzzer).
        var strides = [Int](repeating: 1, count: shape.count)
        let order = header.fortranOrder ? Array(shape.indices) : shape.indices.reversed()
        for (previous, d) in zip(order, order.dropFirst()) {
            let (stride, overflow) = strides[previous].multipliedReportingOverflow(by: shape[previous])
            guard !overflow else {
                throw DatasetError.badArray(path: images, reason: "shape \(shape) is too large to address")
            }
            strides[d] = stride
        }
        self.strides = strides
        switch (header.element, shape.count) {
        case (.uint8, 4) where shape[3] == 3 || shape[3] == 1:
            layout = .uint8NHWC(height: shape[1], width: shape[2], channels: shape[3])
        case (.uint8, 3):
            layout = .uint8NHWC(height: shape[1], width: shape[2], channels: 1)
        case (.float32, 4) where shape[1] == 3 && shape[2] == shape[3]:
            layout = .float32NCHW(size: shape[2])
        default:
            throw DatasetError.badArray(
                path: images,
                reason:
                    "images must be uint8 (N, H, W[, 1 or 3]) or float32 (N, 3, S, S); found \(header.element.rawValue) \(shape)"
            )
        }
        if case .uint8NHWC(let h, let w, _) = layout, h == 0 || w == 0 {
            throw DatasetError.badArray(path: images, reason: "images have zero size \(shape)")
        }
        let (labelFile, labelHeader) = try open(labelsPath)
        guard labelHeader.shape.count == 1 else {
            throw DatasetError.badArray(
                path: labelsPath, reason: "labels must be one-dimensional, found shape \(labelHeader.shape)")
        }
        guard let labels = labelHeader.integers(from: labelFile.bytes) else {
            throw DatasetError.badArray(path: labelsPath, reason: "labels must be integers")
        }
        guard labels.count == shape[0] else {
            throw DatasetError.mismatchedCounts(
                images: images, labels: labelsPath, imageCount: shape[0], labelCount: labels.count)
        }
        guard !labels.isEmpty else { throw DatasetError.emptySplit(path: images) }
        self.labels = labels
        if let classes {
            try validateLabels(classes: classes, source: labelsPath)
        } else if let negative = labels.first(where: { $0 < 0 }) {
            throw DatasetError.labelOutOfRange(path: labelsPath, line: nil, label: negative, classes: Int.max)
        }
    }

    public func checkLabels(classes: Int) throws { try validateLabels(classes: classes, source: labelsPath) }

    /// The SHA-256 of the row's elements in storage order (a Fortran-order array's row is gathered),
    /// with its shape and element type, so equal images are equal rows of equal arrays.
    public func exampleDigest(at index: Int, fileDigest: (String) throws -> String) throws -> String {
        let rowShape = Array(header.shape.dropFirst()), elementBytes = header.element.byteCount
        let elements = rowShape.reduce(1, *)
        var hasher = SHA256()
        hasher.update("\(header.element.rawValue) \(rowShape)\n")
        let base = file.bytes + header.dataOffset
        if !header.fortranOrder {
            hasher.update(
                UnsafeRawBufferPointer(start: base + index * elements * elementBytes, count: elements * elementBytes))
        } else {
            var row = [UInt8](repeating: 0, count: elements * elementBytes)
            var position = [Int](repeating: 0, count: rowShape.count)
            for k in 0..<elements {  // C order over the row's own axes
                var offset = index * strides[0]
                for (axis, p) in position.enumerated() { offset += p * strides[axis + 1] }
                for b in 0..<elementBytes {
                    row[k * elementBytes + b] = base.load(fromByteOffset: offset * elementBytes + b, as: UInt8.self)
                }
                var axis = rowShape.count - 1
                while axis >= 0 {
                    position[axis] += 1; if position[axis] < rowShape[axis] { break }; position[axis] = 0; axis -= 1
                }
            }
            row.withUnsafeBytes { hasher.update($0) }
        }
        return hasher.finalize()
    }

    public func loadImage(at index: Int, preprocessing: Preprocessing, into out: UnsafeMutablePointer<Float>) throws {
        let base = file.bytes + header.dataOffset
        switch layout {
        case let .uint8NHWC(height, width, channels):
            let source = (base + index * strides[0]).assumingMemoryBound(to: UInt8.self)
            let (sy, sx, sc) = (strides[1], strides[2], strides.count == 4 ? strides[3] : 0)
            var pixels = [UInt8](repeating: 0, count: height * width * 3)
            for y in 0..<height {
                for x in 0..<width {
                    for c in 0..<3 {
                        pixels[(y * width + x) * 3 + c] = source[y * sy + x * sx + (channels == 3 ? c : 0) * sc]
                    }
                }
            }
            preprocessing.apply(RGBImage(width: width, height: height, pixels: pixels), into: out)
        case let .float32NCHW(size):
            guard size == preprocessing.imageSize else {
                throw DatasetError.badArray(
                    path: imagesPath,
                    reason:
                        "float32 images are \(size)×\(size) but the backbone takes \(preprocessing.imageSize)×\(preprocessing.imageSize) (float input is not resized)"
                )
            }
            if !header.fortranOrder {
                ScalarType.float32.decode(base + index * 3 * size * size * 4, count: 3 * size * size, into: out)
            } else {
                var k = 0
                for c in 0..<3 {
                    for y in 0..<size {
                        for x in 0..<size {
                            let offset = 4 * (index * strides[0] + c * strides[1] + y * strides[2] + x * strides[3])
                            out[k] = Float(
                                bitPattern: UInt32(
                                    littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
                            k += 1
                        }
                    }
                }
            }
            // Caught here, a NaN is named in its input; in the taps it would look like a cache defect.
            if let k = (0..<3 * size * size).first(where: { !out[$0].isFinite }) {
                let (c, y, x) = (k / (size * size), k / size % size, k % size)
                throw DatasetError.badArray(
                    path: imagesPath,
                    reason:
                        "image \(index) holds \(out[k]) at channel \(c), row \(y), column \(x) (images must be finite)")
            }
        }
    }
}

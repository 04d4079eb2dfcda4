/// How images become backbone input: resize to `imageSize`² (PIL bicubic, no crop), scale to [0, 1],
/// normalise per channel — the NOAH/FacT VTAB-1k convention (shared/METHODS.md).
public struct Preprocessing: Equatable, Codable, Sendable {
    public var imageSize: Int
    public var mean: [Float]
    public var std: [Float]

    /// ImageNet statistics, the default; timm's in21k ViT weights were trained with 0.5/0.5 instead.
    public init(imageSize: Int, mean: [Float] = [0.485, 0.456, 0.406], std: [Float] = [0.229, 0.224, 0.225]) {
        self.imageSize = imageSize; self.mean = mean; self.std = std
    }

    /// What is wrong with the settings, or nil.
    public var problem: String? {
        if imageSize <= 0 { return "image size must be positive, got \(imageSize)" }
        if mean.count != 3 || std.count != 3 { return "mean and std need 3 values (R, G, B)" }
        if std.contains(where: { !($0 > 0) }) { return "std values must be positive, got \(std)" }
        return nil
    }

    /// Writes `image` as normalised floats (3, S, S) at `out`.
    public func apply(_ image: RGBImage, into out: UnsafeMutablePointer<Float>) {
        let sized =
            (image.width == imageSize && image.height == imageSize)
            ? image : image.resizedBicubic(width: imageSize, height: imageSize)
        let plane = imageSize * imageSize
        for c in 0..<3 {
            let m = mean[c], s = std[c]
            let o = out + c * plane
            for i in 0..<plane {
                // torchvision: ToTensor divides by 255 in float32, Normalize subtracts then divides.
                o[i] = (Float(sized.pixels[i * 3 + c]) / 255 - m) / s
            }
        }
    }
}

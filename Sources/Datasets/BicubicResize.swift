// Resize of 8-bit images that reproduces PIL's `Image.resize(size, Image.BICUBIC)` (the resize used by
// torchvision's `Resize(..., interpolation=3)` in the NOAH/FacT VTAB-1k pipeline). PIL resamples
// separably — horizontal pass, then vertical — with the bicubic kernel (a = −0.5) stretched by the
// downscale factor (so downscaling is antialiased), weights normalised per output pixel, converted to
// 22-bit fixed point, and each pass rounded and clipped to 8 bits. Doing the same here keeps the
// pixels equal to PIL's, not merely close.

/// Per-output-pixel filter windows and fixed-point weights for resampling `inSize` → `outSize`.
struct ResampleCoefficients {
    static let precisionBits = 22
    let windowSize: Int
    let starts: [Int]
    let counts: [Int]
    let weights: [Int32]  // (outSize, windowSize)

    init(inSize: Int, outSize: Int) {
        let scale = Double(inSize) / Double(outSize)
        let filterScale = max(scale, 1)
        let support = 2.0 * filterScale
        windowSize = Int(support.rounded(.up)) * 2 + 1
        var starts = [Int](), counts = [Int]()
        var weights = [Int32](repeating: 0, count: outSize * windowSize)
        for o in 0..<outSize {
            let center = (Double(o) + 0.5) * scale
            let start = max(Int(center - support + 0.5), 0)  // Int() truncates, as C's cast
            let count = min(Int(center + support + 0.5), inSize) - start
            var raw = [Double](repeating: 0, count: count)
            var total = 0.0
            for i in 0..<count {
                raw[i] = Self.bicubic((Double(i + start) - center + 0.5) / filterScale)
                total += raw[i]
            }
            for i in 0..<count {
                let w = total != 0 ? raw[i] / total : raw[i]
                let fixed = w * Double(1 << Self.precisionBits)
                weights[o * windowSize + i] = Int32(w < 0 ? fixed - 0.5 : fixed + 0.5)
            }
            starts.append(start)
            counts.append(count)
        }
        self.starts = starts
        self.counts = counts
        self.weights = weights
    }

    /// Keys' cubic convolution kernel with a = −0.5.
    static func bicubic(_ x: Double) -> Double {
        let a = -0.5, x = abs(x)
        if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
        if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
        return 0
    }

    /// Rounds a fixed-point accumulator (which started at ½) to 0…255.
    @inline(__always)
    static func clip8(_ accumulator: Int32) -> UInt8 {
        UInt8(clamping: accumulator >> Int32(precisionBits))
    }
}

extension RGBImage {
    /// The image resized to `width` × `height` exactly as PIL's bicubic resize does.
    public func resizedBicubic(width outWidth: Int, height outHeight: Int) -> RGBImage {
        precondition(outWidth > 0 && outHeight > 0, "resizedBicubic: target \(outWidth)×\(outHeight)")
        var current = self
        if outWidth != width {
            let c = ResampleCoefficients(inSize: width, outSize: outWidth)
            var out = [UInt8](repeating: 0, count: outWidth * height * 3)
            for y in 0..<height {
                let row = y * width * 3
                for x in 0..<outWidth {
                    var s0: Int32 = 1 << 21, s1: Int32 = 1 << 21, s2: Int32 = 1 << 21
                    let start = c.starts[x], k = x * c.windowSize
                    for i in 0..<c.counts[x] {
                        let p = row + (start + i) * 3, w = c.weights[k + i]
                        s0 &+= Int32(current.pixels[p]) &* w
                        s1 &+= Int32(current.pixels[p + 1]) &* w
                        s2 &+= Int32(current.pixels[p + 2]) &* w
                    }
                    let o = (y * outWidth + x) * 3
                    out[o] = ResampleCoefficients.clip8(s0)
                    out[o + 1] = ResampleCoefficients.clip8(s1)
                    out[o + 2] = ResampleCoefficients.clip8(s2)
                }
            }
            current = RGBImage(width: outWidth, height: height, pixels: out)
        }
        if outHeight != height {
            let c = ResampleCoefficients(inSize: height, outSize: outHeight)
            let w = current.width
            var out = [UInt8](repeating: 0, count: w * outHeight * 3)
            for y in 0..<outHeight {
                let start = c.starts[y], k = y * c.windowSize
                for x in 0..<(w * 3) {
                    var s: Int32 = 1 << 21
                    for i in 0..<c.counts[y] {
                        s &+= Int32(current.pixels[(start + i) * w * 3 + x]) &* c.weights[k + i]
                    }
                    out[y * w * 3 + x] = ResampleCoefficients.clip8(s)
                }
            }
            current = RGBImage(width: w, height: outHeight, pixels: out)
        }
        return current
    }
}

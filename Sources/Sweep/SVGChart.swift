import Foundation

/// A small scatter/line chart rendered as inline SVG (no scripts, no external assets), for reports.
public struct SVGChart {
    public enum Scale { case linear, log }
    public struct Series {
        public var name: String
        public var color: String
        public var points: [(x: Double, y: Double, label: String)]
        /// Join the points (sorted by x) with a line.
        public var line = false
        /// Draw the markers larger and outlined (e.g. a Pareto front).
        public var emphasised = false
        /// With `line`: join the points as a front's attainment staircase (x minimised, y maximised: from
        /// each point across at its y to the next point's x, then up), not by diagonals, which would
        /// suggest configurations between them that do not exist.
        public var staircase = false
        public init(
            name: String, color: String, points: [(x: Double, y: Double, label: String)], line: Bool = false,
            emphasised: Bool = false,
            staircase: Bool = false
        ) {
            self.name = name; self.color = color; self.points = points; self.line = line; self.emphasised = emphasised;
            self.staircase = staircase
        }
    }

    public var title: String
    public var xLabel: String, yLabel: String
    public var xScale: Scale = .linear, yScale: Scale = .linear
    public var series: [Series] = []
    public var width = 530.0, height = 340.0

    public init(title: String, xLabel: String, yLabel: String, xScale: Scale = .linear, yScale: Scale = .linear) {
        self.title = title; self.xLabel = xLabel; self.yLabel = yLabel; self.xScale = xScale; self.yScale = yScale
    }

    /// Colours for series, distinguishable and print-safe.
    public static let palette = [
        "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
    ]

    public func render() -> String {
        // The legend sits right of the plot, where it cannot hide points.
        let legendWidth =
            series.contains { !$0.name.isEmpty }
            ? min(150.0, 24 + 6.5 * Double(series.map(\.name.count).max() ?? 0)) : 0
        let left = 64.0, right = 16.0 + legendWidth, top = 34.0, bottom = 48.0
        let plotW = width - left - right, plotH = height - top - bottom
        let xs = series.flatMap { $0.points.map(\.x) }.filter { $0.isFinite && (xScale == .linear || $0 > 0) }
        let ys = series.flatMap { $0.points.map(\.y) }.filter { $0.isFinite && (yScale == .linear || $0 > 0) }
        var svg =
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\">"
        svg += "<title>\(escape(title))</title><rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>"
        svg += text(x: left + plotW / 2, y: 20, title, anchor: "middle", size: 14, weight: "bold")
        guard let xMin = xs.min(), let xMax = xs.max(), let yMin = ys.min(), let yMax = ys.max() else {
            return svg + text(x: left + plotW / 2, y: top + plotH / 2, "no data", anchor: "middle", size: 12) + "</svg>"
        }
        let (x0, x1) = Self.padded(xMin, xMax, xScale), (y0, y1) = Self.padded(yMin, yMax, yScale)
        func map(_ v: Double, _ lo: Double, _ hi: Double, _ scale: Scale) -> Double {
            scale == .log ? (log10(v) - log10(lo)) / (log10(hi) - log10(lo)) : (v - lo) / (hi - lo)
        }
        func px(_ x: Double) -> Double { left + plotW * map(x, x0, x1, xScale) }
        func py(_ y: Double) -> Double { top + plotH * (1 - map(y, y0, y1, yScale)) }

        svg +=
            "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotW))\" height=\"\(f(plotH))\" fill=\"none\" stroke=\"#888\"/>"
        for tick in Self.ticks(x0, x1, xScale) {
            let x = px(tick)
            svg += "<line x1=\"\(f(x))\" y1=\"\(f(top))\" x2=\"\(f(x))\" y2=\"\(f(top + plotH))\" stroke=\"#eee\"/>"
            svg += text(x: x, y: top + plotH + 16, Self.label(tick), anchor: "middle", size: 11)
        }
        for tick in Self.ticks(y0, y1, yScale) {
            let y = py(tick)
            svg += "<line x1=\"\(f(left))\" y1=\"\(f(y))\" x2=\"\(f(left + plotW))\" y2=\"\(f(y))\" stroke=\"#eee\"/>"
            svg += text(x: left - 6, y: y + 4, Self.label(tick), anchor: "end", size: 11)
        }
        svg += text(
            x: left + plotW / 2, y: height - 10, xLabel + (xScale == .log ? " (log)" : ""), anchor: "middle", size: 12)
        svg +=
            "<text x=\"14\" y=\"\(f(top + plotH / 2))\" font-family=\"sans-serif\" font-size=\"12\" text-anchor=\"middle\" transform=\"rotate(-90 14 \(f(top + plotH / 2)))\">\(escape(yLabel + (yScale == .log ? " (log)" : "")))</text>"
        for s in series {
            let visible = s.points.filter {
                (xScale == .linear || $0.x > 0) && (yScale == .linear || $0.y > 0) && $0.x.isFinite && $0.y.isFinite
            }
            if s.line && visible.count > 1 {
                let sorted = visible.sorted { ($0.x, $0.y) < ($1.x, $1.y) }
                var corners = [(sorted[0].x, sorted[0].y)]
                for p in sorted.dropFirst() {
                    if s.staircase { corners.append((p.x, corners.last!.1)) }
                    corners.append((p.x, p.y))
                }
                let path = corners.map { "\(f(px($0.0))),\(f(py($0.1)))" }.joined(separator: " ")
                svg +=
                    "<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(s.color)\" stroke-width=\"\(s.emphasised ? 2 : 1.5)\"/>"
            }
            for p in visible {
                let r = s.emphasised ? 5.0 : 3.5
                let stroke = s.emphasised ? " stroke=\"#000\" stroke-width=\"1.2\"" : ""
                svg +=
                    "<circle cx=\"\(f(px(p.x)))\" cy=\"\(f(py(p.y)))\" r=\"\(f(r))\" fill=\"\(s.color)\" fill-opacity=\"0.85\"\(stroke)><title>\(escape(p.label))</title></circle>"
            }
        }
        var ly = top + 10
        for s in series where !s.name.isEmpty {
            let lx = left + plotW + 12
            svg +=
                "<circle cx=\"\(f(lx + 4))\" cy=\"\(f(ly - 4))\" r=\"4\" fill=\"\(s.color)\"\(s.emphasised ? " stroke=\"#000\"" : "")/>"
            svg += text(
                x: lx + 12, y: ly, s.name.count > 20 ? String(s.name.prefix(19)) + "…" : s.name, anchor: "start",
                size: 11)
            ly += 15
        }
        return svg + "</svg>"
    }

    func text(x: Double, y: Double, _ s: String, anchor: String, size: Int, weight: String = "normal") -> String {
        "<text x=\"\(f(x))\" y=\"\(f(y))\" font-family=\"sans-serif\" font-size=\"\(size)\" font-weight=\"\(weight)\" text-anchor=\"\(anchor)\">\(escape(s))</text>"
    }

    func f(_ v: Double) -> String { String(format: "%.1f", v) }

    static func padded(_ lo: Double, _ hi: Double, _ scale: Scale) -> (Double, Double) {
        if scale == .log {
            let a = log10(lo), b = log10(hi), pad = max((b - a) * 0.05, 0.1)
            return (pow(10, a - pad), pow(10, b + pad))
        }
        let span = hi - lo, pad = span > 0 ? span * 0.06 : max(abs(lo) * 0.1, 0.05)
        return (lo - pad, hi + pad)
    }

    /// About five round ticks (1, 2, 5 × 10^k) inside [lo, hi]; powers of ten on a log scale.
    static func ticks(_ lo: Double, _ hi: Double, _ scale: Scale) -> [Double] {
        // (An axis over values a hand-edited journal made extreme gets no ticks rather than a trap.)
        guard lo.isFinite, hi.isFinite, lo < hi, (hi - lo).isFinite, scale == .linear || lo > 0 else { return [] }
        if scale == .log {
            // Powers of ten; within less than a decade or two, also 2× and 5× them.
            let decades = (Int(floor(log10(lo)))...Int(ceil(log10(hi))))
            for multiples in [[1.0], [1, 2, 5], [1, 1.5, 2, 3, 5, 7]] {
                let ticks = decades.flatMap { d in multiples.map { $0 * pow(10, Double(d)) } }.filter {
                    $0 >= lo && $0 <= hi
                }
                if ticks.count >= 3 || (multiples.count > 3 && ticks.count >= 2) { return ticks }
            }
            return ticks(lo, hi, .linear)
        }
        let raw = (hi - lo) / 5, magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? raw
        var ticks: [Double] = []
        var t = ceil(lo / step) * step
        while t <= hi + step * 1e-9 { ticks.append(abs(t) < step * 1e-9 ? 0 : t); t += step }
        return ticks
    }

    static func label(_ v: Double) -> String {
        if v == 0 { return "0" }
        let a = abs(v)
        if a >= 1e6 { return String(format: "%.3gM", v / 1e6) }
        if a >= 1e3 { return String(format: "%.3gk", v / 1e3) }
        if a < 1e-2 { return String(format: "%.0e", v) }
        return String(format: "%.3g", v)
    }
}

/// Text escaped for HTML and SVG.
public func escape(_ s: String) -> String {
    var out = ""
    for c in s {
        switch c {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        default: out.append(c)
        }
    }
    return out
}

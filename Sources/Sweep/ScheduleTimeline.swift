import Foundation

/// The schedule a sweep ran, from its journals: every training stretch on a row (a slot: each stretch
/// goes on the first row free when it started, so there are as many rows as stretches ever ran at
/// once), how busy those slots were, and an SVG drawing of it (`hpsweep report`, `hpsweep status`).
public struct ScheduleTimeline {
    public struct Bar: Equatable {
        public let span: StretchSpan
        public let row: Int
        /// Index of the rung the stretch trained towards (0: the lowest).
        public let rung: Int
    }

    public let bars: [Bar]
    /// The epoch counts stretches trained towards (the rungs that were reached), in order.
    public let rungs: [Int]
    public let rows: Int
    public let start: Double
    public let end: Double

    public init(_ state: SweepState) {
        let rungs = Set(state.spans.map(\.towards)).sorted()
        self.rungs = rungs
        var rowEnds: [Double] = []
        var bars: [Bar] = []
        for span in state.spans.sorted(by: { ($0.start, $0.trial) < ($1.start, $1.trial) }) {
            let row = rowEnds.firstIndex { $0 <= span.start } ?? rowEnds.count
            if row == rowEnds.count { rowEnds.append(span.end) } else { rowEnds[row] = span.end }
            bars.append(Bar(span: span, row: row, rung: rungs.firstIndex(of: span.towards)!))
        }
        self.bars = bars
        rows = rowEnds.count
        start = bars.map(\.span.start).min() ?? 0
        end = bars.map(\.span.end).max() ?? 0
    }

    /// Seconds of training summed over every stretch.
    public var busySeconds: Double { bars.reduce(0) { $0 + $1.span.end - $1.span.start } }
    /// Busy time ÷ (rows × the time from the first start to the last end): 1 when no slot was idle.
    public var utilisation: Double? {
        guard rows > 0, end > start else { return nil }
        return busySeconds / (Double(rows) * (end - start))
    }

    /// The timeline as SVG: a row per slot, a bar per stretch coloured by rung, idle time left blank.
    public func render(title: String = "Schedule") -> String {
        let width = 860.0, left = 60.0, right = 20.0, top = 40.0,
            rowHeight = max(6, min(18, 360 / Double(max(rows, 1))))
        let height = top + Double(rows) * rowHeight + 60
        let span = max(end - start, 1e-9), plotWidth = width - left - right
        func x(_ t: Double) -> Double { left + plotWidth * (t - start) / span }
        var svg =
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" font-family=\"DejaVu Sans, sans-serif\">"
        let heading =
            title + (utilisation.map { String(format: ": %d slots busy %.0f%% of the time", rows, 100 * $0) } ?? "")
        svg += "<text x=\"\(left)\" y=\"20\" font-size=\"14\" font-weight=\"bold\">\(escape(heading))</text>"
        for row in 0..<rows {
            let y = top + Double(row) * rowHeight
            svg +=
                "<rect x=\"\(left)\" y=\"\(f(y))\" width=\"\(f(plotWidth))\" height=\"\(f(rowHeight - 1))\" fill=\"#f2f2f2\"/>"
        }
        for bar in bars {
            let y = top + Double(bar.row) * rowHeight
            let color = SVGChart.palette[bar.rung % SVGChart.palette.count]
            let label = String(
                format: "%@ to %d epochs, %.1f s", bar.span.trial, bar.span.towards, bar.span.end - bar.span.start)
            svg +=
                "<rect x=\"\(f(x(bar.span.start)))\" y=\"\(f(y))\" width=\"\(f(max(0.5, x(bar.span.end) - x(bar.span.start))))\" height=\"\(f(rowHeight - 1))\" fill=\"\(color)\"><title>\(escape(label))</title></rect>"
        }
        let axis = top + Double(rows) * rowHeight + 14
        for k in 0...4 {
            let t = Double(k) / 4 * span
            svg +=
                "<text x=\"\(f(x(start + t)))\" y=\"\(f(axis))\" font-size=\"10\" text-anchor=\"middle\">\(escape(Self.duration(t)))</text>"
        }
        svg += "<text x=\"10\" y=\"\(f(top + 10))\" font-size=\"10\">slots</text>"
        var legendX = left
        for (r, rung) in rungs.enumerated() {
            svg +=
                "<rect x=\"\(f(legendX))\" y=\"\(f(axis + 14))\" width=\"10\" height=\"10\" fill=\"\(SVGChart.palette[r % SVGChart.palette.count])\"/>"
            svg += "<text x=\"\(f(legendX + 14))\" y=\"\(f(axis + 23))\" font-size=\"10\">to \(rung) epochs</text>"
            legendX += 100
        }
        return svg + "</svg>"
    }

    private func f(_ v: Double) -> String { String(format: "%.1f", v) }

    static func duration(_ seconds: Double) -> String {
        seconds >= 3600
            ? String(format: "%.1f h", seconds / 3600)
            : seconds >= 60 ? String(format: "%.1f min", seconds / 60) : String(format: "%.1f s", seconds)
    }
}

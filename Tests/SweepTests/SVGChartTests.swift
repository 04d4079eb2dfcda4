import XCTest

@testable import Sweep

/// A chart renders whatever values a journal gives it: extreme, infinite, NaN or non-positive on a
/// log axis. Those points are left out and the axis loses its ticks rather than the report trapping.
final class SVGChartTests: XCTestCase {
    func testExtremeValuesRenderWithoutTicksInsteadOfTrapping() {
        let extremes: [Double] = [1e308, -1e308, .infinity, -.infinity, .nan, 0, -1, 1e-308]
        for scale in [SVGChart.Scale.linear, .log] {
            for a in extremes {
                for b in extremes {
                    var chart = SVGChart(title: "t", xLabel: "x", yLabel: "y", xScale: scale, yScale: scale)
                    chart.series = [
                        SVGChart.Series(
                            name: "s", color: "#000", points: [(a, b, "p"), (b, a, "q"), (1, 2, "r")], line: true)
                    ]
                    let svg = chart.render()
                    XCTAssertTrue(svg.hasPrefix("<svg") && svg.hasSuffix("</svg>"))
                }
            }
            XCTAssertEqual(SVGChart.ticks(-1e308, 1e308, scale), [])
            XCTAssertEqual(SVGChart.ticks(0, 10, .log), [])
        }
        XCTAssertEqual(SVGChart.ticks(0, 10, .linear), [0, 2, 4, 6, 8, 10])
        XCTAssertEqual(SVGChart.ticks(1, 1000, .log), [1, 10, 100, 1000])
    }
}

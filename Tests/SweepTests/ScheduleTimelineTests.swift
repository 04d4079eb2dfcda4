import Essentials
import XCTest

@testable import Sweep

/// The schedule drawn from journals: stretches on rows (slots), idle time, and the SVG.
final class ScheduleTimelineTests: XCTestCase {
    typealias J = SyntheticJournal

    func started(_ id: String, at time: Double, epochs: Int) -> JournalEvent {
        .started(TrialStart(trial: id, towards: epochs, time: time))
    }

    func event(_ kind: J.Ending, _ id: String, at time: Double, epochs: Int) -> JournalEvent {
        J.outcome(
            kind, id, J.result(Array(repeating: 0.5, count: epochs), params: 1, finished: kind == .finished), at: time)
    }

    func testStretchesGoOnTheFirstFreeRowAndIdleTimeCounts() {
        // a: 0–4 to rung 2; b: 1–3 to rung 2 (overlaps a: a second row); a again 4–8 to 6 (row 0);
        // b's second stretch 5–7 to 6 (row 1, free since 3); a stretch killed mid-way (no end) is left out.
        let events = [
            J.planned("a", generation: 0), J.planned("b", generation: 0), J.planned("c", generation: 0),
            started("a", at: 0, epochs: 2), started("b", at: 1, epochs: 2), event(.rung, "b", at: 3, epochs: 2),
            event(.rung, "a", at: 4, epochs: 2), started("a", at: 4, epochs: 6), started("b", at: 5, epochs: 6),
            event(.finished, "b", at: 7, epochs: 6), event(.finished, "a", at: 8, epochs: 6),
            started("c", at: 2, epochs: 2),
        ]
        let timeline = ScheduleTimeline(SweepState(events: events))
        XCTAssertEqual(timeline.rows, 2)
        XCTAssertEqual(timeline.rungs, [2, 6])
        XCTAssertEqual(
            timeline.bars.map { "\($0.span.trial)\($0.span.start)→\($0.span.end)@\($0.row)r\($0.rung)" },
            ["a0.0→4.0@0r0", "b1.0→3.0@1r0", "a4.0→8.0@0r1", "b5.0→7.0@1r1"])
        XCTAssertEqual(timeline.busySeconds, 12)
        XCTAssertEqual(timeline.utilisation!, 12.0 / 16, accuracy: 1e-12)
        let svg = timeline.render()
        XCTAssertTrue(svg.contains("2 slots busy 75% of the time") && svg.contains("to 6 epochs"), svg)
        XCTAssertEqual(svg.components(separatedBy: "<title>").count - 1, 4, "a bar per stretch")
    }

    func testAJournalWithoutStretchesHasNoTimeline() {
        let timeline = ScheduleTimeline(SweepState(events: [J.planned("a", generation: 0)]))
        XCTAssertEqual(timeline.rows, 0)
        XCTAssertNil(timeline.utilisation)
    }
}

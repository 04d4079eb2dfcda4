import Foundation
import XCTest

@testable import Sweep

final class MachineryClockTests: XCTestCase {
    /// Serial time delays the sweep in full; time inside trials is spread over the workers.
    func testSerialCountsInFullPooledPerWorker() {
        let clock = MachineryClock()
        clock.measure(pooled: false) { _ = usleep(20_000) }
        DispatchQueue.concurrentPerform(iterations: 2) { _ in clock.measure(pooled: true) { _ = usleep(30_000) } }
        // (Sleeps end no sooner than asked, later on a loaded machine.)
        XCTAssertGreaterThanOrEqual(clock.serialSeconds, 0.020)
        XCTAssertGreaterThanOrEqual(clock.pooledSeconds, 0.060)
        XCTAssertLessThan(clock.serialSeconds, clock.pooledSeconds + 0.5, "each measure counted where it ran")
        XCTAssertEqual(clock.delaySeconds(workers: 2), clock.serialSeconds + clock.pooledSeconds / 2, accuracy: 1e-12)
        let line = clock.summary(wallSeconds: 10, workers: 2)
        XCTAssertTrue(line.hasPrefix("sweep wall time 10.0 s"), line)
        XCTAssertTrue(line.contains(String(format: "(%.2f%%)", 100 * clock.delaySeconds(workers: 2) / 10)), line)
    }
}

import Foundation
import XCTest
@testable import Sweep

final class MachineryClockTests: XCTestCase {
    /// Serial time delays the sweep in full; time inside trials is spread over the workers.
    func testSerialCountsInFullPooledPerWorker() {
        let clock = MachineryClock()
        clock.measure(pooled: false) { _ = usleep(20_000) }
        DispatchQueue.concurrentPerform(iterations: 2) { _ in clock.measure(pooled: true) { _ = usleep(30_000) } }
        XCTAssertEqual(clock.serialSeconds, 0.020, accuracy: 0.015)
        XCTAssertEqual(clock.pooledSeconds, 0.060, accuracy: 0.03)
        XCTAssertEqual(clock.delaySeconds(workers: 2), clock.serialSeconds + clock.pooledSeconds / 2, accuracy: 1e-12)
        let line = clock.summary(wallSeconds: 10, workers: 2)
        XCTAssertTrue(line.hasPrefix("sweep wall time 10.0 s"), line)
        XCTAssertTrue(line.contains(String(format: "(%.2f%%)", 100 * clock.delaySeconds(workers: 2) / 10)), line)
    }
}

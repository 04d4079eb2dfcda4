import Foundation
import Sweep
import XCTest
import _TestSupport

final class LeaseTests: XCTestCase {
    func testClaimHeartbeatExpiryTakeoverAndFencing() throws {
        let dir = temporaryDirectory(self).appendingPathComponent("leases").path
        let a = try LeaseKeeper(directory: dir, owner: "a", leaseSeconds: 0.6)
        let b = try LeaseKeeper(directory: dir, owner: "b", leaseSeconds: 0.6)
        XCTAssertEqual(a.acquire("t1"), 1)
        XCTAssertNil(b.acquire("t1"), "held and fresh")
        // a's heartbeat keeps it fresh well past the lease time.
        Thread.sleep(forTimeInterval: 1.0)
        XCTAssertNil(b.acquire("t1"), "the heartbeat renews it")
        a.release("t1")
        XCTAssertEqual(b.acquire("t1"), 1, "released: free to claim")
        b.release("t1")

        // A lease of a worker on another machine that stopped renewing it is taken over after the lease time.
        let file = (dir as NSString).appendingPathComponent("t2.lease")
        try "owner far-away\ngeneration 4\nhost other-host\npid 1\n".write(
            toFile: file, atomically: true, encoding: .utf8)
        XCTAssertNil(a.acquire("t2"), "fresh")
        Thread.sleep(forTimeInterval: 0.8)
        XCTAssertEqual(a.acquire("t2"), 5, "stale: taken over with the next generation")
        XCTAssertTrue(a.owns("t2", generation: 5))
        XCTAssertEqual(LeaseKeeper.all(in: dir)["t2"]?.0.owner, "a")

        // A lease whose process on this host is gone is taken over at once.
        try "owner dead\ngeneration 2\nhost \(LeaseKeeper.hostName)\npid 999999\n".write(
            toFile: (dir as NSString).appendingPathComponent("t3.lease"), atomically: true, encoding: .utf8)
        XCTAssertEqual(b.acquire("t3"), 3)

        // Fencing: an owner whose lease was taken over sees it no longer owns the trial.
        let slow = try LeaseKeeper(directory: dir, owner: "slow", leaseSeconds: 0.3)
        XCTAssertEqual(slow.acquire("t4"), 1)
        let fast = try LeaseKeeper(directory: dir, owner: "fast", leaseSeconds: 0.3)
        utimes(
            (dir as NSString).appendingPathComponent("t4.lease"),
            [timeval(tv_sec: 1, tv_usec: 0), timeval(tv_sec: 1, tv_usec: 0)])
        XCTAssertEqual(fast.acquire("t4"), 2, "looked dead: taken over")
        XCTAssertFalse(slow.owns("t4", generation: 1), "the old owner is fenced out")
        slow.release("t4")
        XCTAssertTrue(fast.owns("t4", generation: 2), "and its release does not remove the new owner's lease")
    }
}

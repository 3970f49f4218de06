import Foundation
import HeliosCore
import HeliosTestSupport
import Testing

/// Ctrl-C while waiting: exit 130, the run id printed with how to resume, and journaled.
struct InterruptCLITests {
    @Test func sigintDuringWaitExits130WithTheRunJournaled() throws {
        let h = try RunHarness(processingTime: "60s")
        let path = try h.recording()
        // Interrupt once the run is journaled as uploaded and helios is waiting for it.
        let r = try h.interrupt(["submit", path, "--poll-interval", "1s"] + RunHarness.userArgs) {
            (try? h.journal().last?.status) == "UPLOADED"
        }
        let stderr = r.stderr
        #expect(r.status == 130)
        let id = try #require(try h.journal().last?.runId)
        #expect(stderr.contains("interrupted"))
        #expect(stderr.contains("helios poll \(id)"))
        let pending = try h.helios(["runs", "--pending"])
        #expect(pending.stdout.contains(id))
    }
}

import Foundation
import HeliosCore
import HeliosTestSupport
import Testing

/// Ctrl-C while waiting: exit 130, the run id printed with how to resume, and journaled.
struct InterruptCLITests {
    @Test func sigintDuringWaitExits130WithTheRunJournaled() throws {
        let h = try RunHarness(processingTime: "60s")
        let path = try h.recording()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: TestPaths.binDir + "/helios")
        process.arguments = ["submit", path, "--poll-interval", "1s"] + RunHarness.userArgs
        var env = h.environment
        env["NO_COLOR"] = "1"
        process.environment = env
        let err = Pipe(), out = Pipe()
        process.standardError = err
        process.standardOutput = out
        try process.run()
        // Wait until the run is journaled as uploaded, then interrupt.
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline, (try? h.journal().last?.status) != "UPLOADED" { Thread.sleep(forTimeInterval: 0.1) }
        Thread.sleep(forTimeInterval: 0.5)
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 130)
        let id = try #require(try h.journal().last?.runId)
        #expect(stderr.contains("interrupted"))
        #expect(stderr.contains("helios poll \(id)"))
        let pending = try h.helios(["runs", "--pending"])
        #expect(pending.stdout.contains(id))
    }
}

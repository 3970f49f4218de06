import Foundation
import Synchronization
import Testing
@testable import HeliosCore
import HeliosTestSupport

/// Issue 12: batches a person can follow. The live line's counts, width and ETA, the counts line
/// off a terminal, true counts on resume, and no per-run lines for routine steps.
@Suite(.blocking) struct BatchProgressTests {
    final class Clock: Sendable {
        private let seconds = Mutex(1_800_000_000.0)
        var now: Date { seconds.withLock { Date(timeIntervalSince1970: $0) } }
        func advance(_ s: Double) { seconds.withLock { $0 += s } }
    }

    /// The last live line drawn (what follows the last clear sequence).
    static func lastLive(_ stderr: String) -> String {
        String(stderr.components(separatedBy: "\r\u{1B}[2K").last ?? "")
    }

    @Test func theLiveLineCountsFitsTheWidthAndGivesAnETA() {
        let captured = CapturedOutput()
        let clock = Clock()
        let console = Console(output: captured.output, json: false)
        let progress = BatchProgress(console: console, isTerminal: true, total: 200, now: { clock.now }, width: { 40 })
        for job in 0..<8 { progress.jobStarted(job) }
        progress.tick()
        var line = Self.lastLive(captured.stderr)
        #expect(line.count <= 39, "\(line)")
        #expect(line.hasPrefix("[------------] 0/200 done · 8 running"), "\(line)")
        clock.advance(60)
        progress.ended(0)
        progress.ended(1, failed: true)
        let counts = progress.counts
        #expect(counts == ProgressCounts(total: 200, done: 1, failed: 1, running: 6, queued: 192))
        progress.tick()
        line = Self.lastLive(captured.stderr)
        #expect(line.count <= 39 && line.hasSuffix("…"), "\(line)")
        // At 200 columns the whole line shows: failed, elapsed and the ETA from this run's pace.
        let full = CapturedOutput()
        let roomy = BatchProgress(console: Console(output: full.output, json: false), isTerminal: true, total: 4, now: { clock.now }, width: { 200 })
        roomy.jobStarted(0)
        roomy.jobStarted(1)
        clock.advance(30)
        roomy.ended(0)
        roomy.ended(1, failed: true)
        roomy.tick()
        #expect(Self.lastLive(full.stderr) == "[######------] 1/4 done · 0 running · 2 queued · 1 failed · 30s · ETA 30s", "\(full.stderr)")
    }

    @Test func aResumedBatchStartsWithItsTrueCounts() {
        let captured = CapturedOutput()
        let progress = BatchProgress(console: Console(output: captured.output, json: false), isTerminal: true, total: 200,
                                     alreadyDone: Set(0..<184), width: { 120 })
        progress.tick()
        #expect(Self.lastLive(captured.stderr).contains("184/200 done · 0 running · 16 queued"), "\(captured.stderr)")
        // A finished job that is walked through again (its result reprinted) is not counted twice.
        progress.jobStarted(3)
        progress.ended(3)
        #expect(progress.counts.done == 184)
    }

    @Test func offATerminalACountsLineEveryTenSecondsAsJSONEventsUnderJSON() throws {
        let clock = Clock()
        let text = CapturedOutput()
        let plain = BatchProgress(console: Console(output: text.output, json: false), isTerminal: false, total: 50, now: { clock.now })
        plain.jobStarted(0)
        for _ in 1...5 {
            clock.advance(5)
            plain.tick()
        }
        let lines = text.stderr.split(separator: "\n")
        #expect(lines == ["progress: 0/50 done, 1 running, 49 queued, 10s", "progress: 0/50 done, 1 running, 49 queued, 20s"], "\(text.stderr)")

        let json = CapturedOutput()
        let events = BatchProgress(console: Console(output: json.output, json: true), isTerminal: true, total: 50, now: { clock.now })
        clock.advance(10)
        events.tick()
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stderr.utf8)) as? [String: Any])
        #expect(object["event"] as? String == "progress")
        #expect((object["counts"] as? [String: Int]) == ["total": 50, "done": 0, "failed": 0, "running": 0, "queued": 50])
    }

    @Test func aBatchPrintsNoLinePerRoutineStepUnlessVerbose() throws {
        let (world, files) = try LifecycleRuleTests.world(3)
        let quietish = world.run(["submit"] + files + LifecycleRuleTests.person + LifecycleRuleTests.wait)
        #expect(quietish.status == 0)
        #expect(!quietish.stderr.contains("created run"), "\(quietish.stderr)")
        #expect(quietish.stderr.contains("3 recordings: 3 COMPLETE_OK"))
        let (other, more) = try LifecycleRuleTests.world(3)
        let verbose = other.run(["submit"] + more + LifecycleRuleTests.person + LifecycleRuleTests.wait + ["-v"])
        #expect(verbose.stderr.components(separatedBy: "created run").count == 4, "\(verbose.stderr)")
        // One recording: its run id is shown as it is created, as before.
        let (single, one) = try LifecycleRuleTests.world()
        #expect(single.run(["submit"] + one + LifecycleRuleTests.person + LifecycleRuleTests.wait).stderr.contains("created run"))
    }

    @Test(arguments: [(42.0, "42s"), (65.0, "1m05s"), (3780.0, "1h03m")] as [(Double, String)])
    func clockReadsLikeAClock(seconds: Double, text: String) {
        #expect(BatchProgress.clock(seconds) == text)
    }
}

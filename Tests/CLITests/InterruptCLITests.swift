import Foundation
import HeliosCore
import HeliosTestSupport
import Testing

/// Ctrl-C while waiting: exit 130, the run id printed with how to resume, and journaled.
@Suite(.blocking) struct InterruptCLITests {
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

/// The create POST is where a run starts to cost money: signals there, with the real binary.
@Suite(.blocking) struct CreateInterruptCLITests {
    /// Ctrl-C while the create is in flight waits for the answer and journals the run id.
    @Test func sigintDuringASlowCreateJournalsTheRunAndExits130() throws {
        let h = try RunHarness(emulatorArguments: ["--fault", "slow:create:2s"])
        let path = try h.recording()
        let r = try h.interrupt(["submit", path, "--poll-interval", "1s"] + RunHarness.userArgs) {
            (try? h.journal().last?.state) == .creating
        }
        #expect(r.status == 130, "\(r.stderr)")
        let runs = try h.emulator.runs()
        #expect(runs.count == 1)
        let id = try #require(runs.first?.id)
        #expect(try h.journal().contains { $0.runId == id && $0.state == .created })
        #expect(r.stderr.contains(id))
        #expect(r.stderr.contains("resume with: helios submit --resume"))
        #expect(try h.uploads().isEmpty, "nothing is sent after the Ctrl-C")
        // The hint finishes that very run.
        let resumed = try h.helios(["submit", "--resume", path, "--poll-interval", "1s"] + RunHarness.userArgs)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try h.emulator.runs().count == 1)
    }

    /// SIGKILL mid-create leaves the intent on disk; `runs` shows it, and the resume says a run
    /// may exist for it before making one of its own.
    @Test func sigkillDuringACreateLeavesATraceThatRunsShows() throws {
        let h = try RunHarness(emulatorArguments: ["--fault", "slow:create:1s:1"])
        let path = try h.recording()
        let r = try h.interrupt(["submit", path, "--poll-interval", "1s"] + RunHarness.userArgs, signal: SIGKILL) {
            (try? h.journal().last?.state) == .creating
        }
        #expect(r.status == 9 || r.status == 137 || r.status == -9 || r.status != 0)
        let listed = try h.helios(["runs"])
        #expect(listed.stdout.contains("CREATING"), "\(listed.stdout)")
        Thread.sleep(forTimeInterval: 1.2)  // let the emulator finish the create it was given
        let resumed = try h.helios(["submit", "--resume", path, "--poll-interval", "1s"] + RunHarness.userArgs)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("never confirmed"))
        #expect(try h.uploads().filter { $0.status == 200 }.count == 1)
        #expect(try h.journal().contains { $0.runId == nil && $0.state == .createUnconfirmed && $0.replacedBy != nil })
    }

    /// `| head -c 10`: no death by SIGPIPE (141), no new runs once the reader is gone, a summary
    /// and the resume hint on stderr.
    @Test func aClosedPipeStopsTheBatchWithTheResumeHint() throws {
        let h = try RunHarness()
        let files = try (0..<3).map { try h.recording(seconds: 12 + Double($0) * 0.3, name: "p\($0).wav") }
        let helios = TestPaths.binDir + "/helios"
        let command = ([helios, "submit"] + files + RunHarness.userArgs + ["--json", "--concurrency", "1", "--poll-interval", "1s"])
            .joined(separator: " ")
        let r = try CommandRunner.run("/bin/bash", ["-c", "\(command) | head -c 10 >/dev/null; echo \"helios-exit=${PIPESTATUS[0]}\" >&2"],
                                      environment: h.environment)
        #expect(r.stderr.contains("helios-exit=130"), "\(r.stderr)")
        #expect(r.stderr.contains("standard output was closed"))
        #expect(r.stderr.contains(#""resume":"helios submit --resume"#))
        let runs = try h.emulator.runs()
        #expect(runs.count < 3, "no run is started once the reader has gone")
        let journaled = Set(try h.journal().compactMap(\.runId))
        #expect(runs.allSatisfy { journaled.contains($0.id) })
    }
}

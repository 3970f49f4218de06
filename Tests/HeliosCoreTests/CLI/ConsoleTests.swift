import Foundation
import Testing
@testable import HeliosCore
import HeliosTestSupport

/// Issue 12: one console prints everything; under `--json` every stderr line is a JSON object
/// (events, warnings, the resume command, the final error), so CI logs parse line by line.
@Suite(.blocking) struct ConsoleTests {
    static let person = LifecycleRuleTests.person
    static let wait = LifecycleRuleTests.wait

    /// Each stderr line decoded; records an issue for any line that is not one JSON object.
    static func objects(_ stderr: String) -> [[String: Any]] {
        stderr.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                Issue.record("not a JSON object on stderr: \(line)")
                return nil
            }
            return object
        }
    }

    @Test func twoMissingFilesUnderJSONAreTwoObjectsAndNoText() {
        let world = RunWorld()
        let r = world.run(["submit", world.dir + "/missing1.wav", world.dir + "/missing2.wav", "--json"] + Self.person)
        #expect(r.status == ExitCode.recordingRejected.rawValue)
        let lines = Self.objects(r.stderr)
        #expect(lines.count == 2, "\(r.stderr)")
        #expect(lines.first?["event"] as? String == "rejected")
        #expect(lines.first?["file"] as? String == world.dir + "/missing1.wav")
        #expect(((lines.first?["problems"] as? [[String: Any]])?.first?["code"]) as? String == "NOT_FOUND")
        let error = lines.last?["error"] as? [String: Any]
        #expect(error?["exitCode"] as? Int == 3 && (error?["message"] as? String)?.contains("missing2.wav") == true, "\(r.stderr)")
        #expect(r.stdout.isEmpty)
    }

    @Test func aSubmitWithNotesAndRetriesPrintsOnlyJSONOnStderr() throws {
        let (world, files) = try LifecycleRuleTests.world()
        world.server.rewrite = { route, nth, honest in
            route == "get" && nth == 0 ? HTTPResponse(status: 503, headers: ["retry-after": "1"]) : honest
        }
        let r = world.run(["submit"] + files + Self.person + Self.wait + ["--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = Self.objects(r.stderr)
        let events = Set(lines.compactMap { $0["event"] as? String })
        #expect(events.isSuperset(of: ["note", "retry"]), "\(events)")
        let retry = try #require(lines.first { $0["event"] as? String == "retry" })
        #expect(retry["attempt"] as? Int == 1 && retry["delaySeconds"] as? Double == 1, "\(retry)")
        // The key never reaches stderr, in any form.
        #expect(!r.stderr.contains(FakeThymia.key))
        // Results stay on stdout, one object per run.
        #expect(try r.stdout.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) }.count == 1)
    }

    @Test func anInterruptedSubmitUnderJSONEndsInOneErrorObjectWithItsResumeCommand() throws {
        let (world, files) = try LifecycleRuleTests.world()
        let cancellation = Cancellation()
        world.server.rewrite = { route, _, honest in
            if route == "get" { cancellation.request() }
            return honest
        }
        let r = world.run(["submit"] + files + Self.person + Self.wait + ["--json"], cancellation: cancellation)
        #expect(r.status == ExitCode.interrupted.rawValue, "\(r.stderr)")
        let lines = Self.objects(r.stderr)
        let error = try #require(lines.last?["error"] as? [String: Any])
        let runId = try #require(world.server.runs.first?.id)
        #expect(error["runId"] as? String == runId)
        #expect((error["resume"] as? String)?.hasPrefix("helios ") == true, "\(error)")
        #expect(lines.dropLast().allSatisfy { $0["error"] == nil }, "one error object, last: \(r.stderr)")
    }

    @Test func quietDropsNotesAndRetriesButNotWarningsOrErrors() throws {
        let (world, files) = try LifecycleRuleTests.world()
        world.server.rewrite = { route, nth, honest in
            route == "get" && nth == 0 ? HTTPResponse(status: 503, headers: ["retry-after": "1"]) : honest
        }
        let quiet = world.run(["submit"] + files + Self.person + Self.wait + ["--json", "--quiet"])
        #expect(quiet.status == 0)
        #expect(quiet.stderr.isEmpty, "\(quiet.stderr)")
        let usage = world.run(["submit", "--json", "--quiet", "--bogus"])
        #expect(usage.status == ExitCode.usage.rawValue)
        #expect(Self.objects(usage.stderr).count == 1)
    }

    @Test func textModeKeepsItsLinesAndTheLiveLineIsClearedBeforeEachWrite() {
        let captured = CapturedOutput()
        let console = Console(output: captured.output, json: false)
        console.drawLive("uploading a.wav [####----] 50%")
        console.note("created run x")
        console.warn("low level", file: "a.wav", code: "LOW_LEVEL")
        console.drawLive("waiting for 1 run")
        console.result("result\n")
        console.clearLive()
        #expect(captured.stderr == "uploading a.wav [####----] 50%\r\u{1B}[2Kcreated run x\nwarning: a.wav: LOW_LEVEL: low level\nwaiting for 1 run\r\u{1B}[2K")
        #expect(captured.stdout == "result\n")
        // Under --json the live line is never drawn: stderr stays JSON Lines.
        let json = CapturedOutput()
        let quietLive = Console(output: json.output, json: true)
        quietLive.drawLive("uploading")
        quietLive.note("created run \u{1B}[31mx")
        #expect(json.stderr == "{\"event\":\"note\",\"message\":\"created run \\u001b[31mx\"}\n")
        // -v's HTTP lines (from libcurl's transport) are events too; without -v, none.
        let verbose = CapturedOutput()
        Console(output: verbose.output, json: true, verbose: true).http("> GET /v1/models/mental-wellness/x")
        Console(output: verbose.output, json: true, verbose: false).http("> GET /v1/models/mental-wellness/y")
        #expect(verbose.stderr == "{\"event\":\"http\",\"message\":\"> GET /v1/models/mental-wellness/x\"}\n", "\(verbose.stderr)")
    }
}

import Foundation
import Testing
@testable import HeliosCore
import HeliosTestSupport

/// Issue 10: a server that answers wrongly, slowly or with hostile text, driven through
/// `HeliosCLI.run` against the in-process fake. Each case was reproduced before its fix.
@Suite(.blocking) struct HostileServerTests {
    static let person = LifecycleRuleTests.person
    static let wait = LifecycleRuleTests.wait

    static func json(_ object: [String: Any]) -> HeliosCore.HTTPResponse {
        HTTPResponse(status: 200, body: (try? JSONSerialization.data(withJSONObject: object)) ?? Data())
    }

    static func object(_ response: HeliosCore.HTTPResponse) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: response.body) as? [String: Any]) ?? [:]
    }

    // MARK: a poll that fails once is polled again

    @Test(arguments: ["malformed", "503", "foreign"])
    func oneBadPollAnswerIsPolledAgainAndTheRunFinishes(kind: String) throws {
        let (world, files) = try LifecycleRuleTests.world()
        world.server.rewrite = { route, nth, honest in
            guard route == "get", nth == 0 else { return honest }
            switch kind {
            case "malformed": return HTTPResponse(status: 200, body: Data("{\"id\": ".utf8))
            case "503": return HTTPResponse(status: 503, headers: ["retry-after": "99999"])
            default:
                var object = Self.object(honest)
                object["id"] = UUID().uuidString.lowercased()
                object["status"] = "COMPLETE_OK"
                object["results"] = ["sections": [["distress": ["value": 0.99]]]]
                return Self.json(object)
            }
        }
        let r = world.run(["submit"] + files + Self.person + Self.wait)
        #expect(r.status == 0, "\(r.stderr)")
        // A 503's Retry-After is obeyed up to the 60 s cap; the others wait for the next poll.
        #expect(r.stderr.contains(kind == "503" ? "retrying in 60.0s after 503" : "polling run"), "\(r.stderr)")
        // The foreign answer's scores never reach the result.
        #expect(!r.stdout.contains("0.99"), "\(r.stdout)")
        #expect(r.stdout.contains("COMPLETE_OK"))
    }

    @Test func anAnswerForAnotherRunIsNeverTakenForThisOne() throws {
        let (world, files) = try LifecycleRuleTests.world()
        let foreign = UUID().uuidString.lowercased()
        world.server.rewrite = { route, _, honest in
            guard route == "get" else { return honest }
            var object = Self.object(honest)
            object["id"] = foreign
            return Self.json(object)
        }
        let r = world.run(["submit"] + files + Self.person + Self.wait)
        #expect(r.status == ExitCode.networkFailed.rawValue, "\(r.stderr)")
        #expect(r.stderr.contains("answered with run '\(foreign)'"), "\(r.stderr)")
        let runId = try #require(world.server.runs.first?.id)
        #expect(r.stderr.contains(runId))
        // Polled a bounded number of times, not forever.
        #expect(world.server.requests.filter { $0 == "GET get" }.count == RunLifecycle.maxPollFailures)
    }

    @Test func completeOKWithoutResultsIsNotASilentSuccess() throws {
        let (world, files) = try LifecycleRuleTests.world()
        world.server.rewrite = { route, _, honest in
            guard route == "get" else { return honest }
            var object = Self.object(honest)
            object["results"] = NSNull()
            return Self.json(object)
        }
        let r = world.run(["submit"] + files + Self.person + Self.wait + ["--json"])
        #expect(r.status == ExitCode.networkFailed.rawValue, "\(r.stderr)")
        #expect(r.stderr.contains("COMPLETE_OK but its answer holds no results"), "\(r.stderr)")
        #expect(!r.stdout.contains("COMPLETE_OK"))
    }

    @Test func aPollNeverOutlastsTheTimeoutWhateverRetryAfterSays() throws {
        let (world, files) = try LifecycleRuleTests.world()
        world.server.rewrite = { route, _, honest in
            route == "get" ? HTTPResponse(status: 503, headers: ["retry-after": "99999"]) : honest
        }
        let started = world.clock.now
        let r = world.run(["submit"] + files + Self.person + Self.wait + ["--timeout", "5s"])
        let waited = world.clock.now.timeIntervalSince(started)
        #expect(r.status == ExitCode.timedOut.rawValue, "\(r.stderr)")
        #expect(waited <= 5 + RunLifecycle.lastLookGrace, "waited \(waited)s under --timeout 5s")
        #expect(r.stderr.contains("helios poll"), "\(r.stderr)")
    }

    @Test(arguments: ["create", "put"])
    func noRetryWaitBeforeACreateOrUploadOutlastsTheTimeout(route: String) throws {
        let (world, files) = try LifecycleRuleTests.world()
        world.server.rewrite = { r, _, honest in
            r == route ? HTTPResponse(status: 503, headers: ["retry-after": "99999"]) : honest
        }
        let started = world.clock.now
        let r = world.run(["submit"] + files + Self.person + Self.wait + ["--timeout", "5s"])
        let waited = world.clock.now.timeIntervalSince(started)
        #expect(r.status == ExitCode.networkFailed.rawValue, "\(r.stderr)")
        #expect(waited <= 5, "waited \(waited)s under --timeout 5s")
        if route == "create" {
            // A 503 says the server did not act: nothing was created, and nothing is unconfirmed.
            #expect(try world.latest().first?.state == .abandoned)
        } else {
            // Every byte went and the answer was a 503: it may be stored, so it is unconfirmed.
            #expect(try world.latest().first?.state == .uploadUnconfirmed)
            #expect(r.stderr.contains(try #require(world.server.runs.first?.id)))
        }
    }

    // MARK: a create answer that names a run is never thrown away

    @Test(arguments: [false, true])
    func aCreateAnswerWithoutAUsableUploadURLKeepsTheRunIdAndResumeReplacesIt(httpToAnotherHost: Bool) throws {
        let (world, files) = try LifecycleRuleTests.world()
        world.server.rewrite = { route, nth, honest in
            guard route == "create", nth == 0 else { return honest }
            var object = Self.object(honest)
            if httpToAnotherHost { object["recordingUploadUrl"] = "http://storage.example/upload?sig=1" } else { object.removeValue(forKey: "recordingUploadUrl") }
            return Self.json(object)
        }
        let r = world.run(["submit"] + files + Self.person + Self.wait)
        #expect(r.status == ExitCode.networkFailed.rawValue, "\(r.stderr)")
        let first = try #require(world.server.runs.first?.id)
        #expect(r.stderr.contains(first), "\(r.stderr)")
        let entry = try #require(world.latest().first)
        #expect(entry.runId == first)
        #expect(entry.state == .created)
        #expect(!world.server.requests.contains { $0.hasPrefix("PUT") })

        // The API still says CREATED and no URL was kept: resuming makes one fresh run, once.
        let again = world.run(["submit", "--resume"] + files + Self.person + Self.wait)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(world.server.runs.count == 2)
        #expect(world.server.runs.filter { $0.storedSha256 != nil }.count == 1)
        #expect(again.stderr.contains(first))
    }

    // MARK: wording: what happened, not what might have

    @Test func aFailureThatWasNotRetriedDoesNotSayAfterRetries() throws {
        let (world, files) = try LifecycleRuleTests.world()
        world.server.rewrite = { route, _, honest in route == "create" ? HTTPResponse(status: 500) : honest }
        let r = world.run(["submit"] + files + Self.person + Self.wait)
        #expect(r.status == ExitCode.networkFailed.rawValue)
        #expect(r.stderr.contains("the API failed (HTTP 500)"), "\(r.stderr)")
        #expect(!r.stderr.contains("retries"), "\(r.stderr)")
        #expect(!r.stderr.contains("attempts"), "\(r.stderr)")
    }

    @Test func aRetriedFailureSaysHowManyAttempts() throws {
        let (world, files) = try LifecycleRuleTests.world()
        world.server.rewrite = { route, _, honest in
            route == "create" ? HTTPResponse(status: 503, headers: ["retry-after": "1"]) : honest
        }
        let r = world.run(["submit"] + files + Self.person + Self.wait)
        #expect(r.status == ExitCode.networkFailed.rawValue)
        #expect(r.stderr.contains("the API kept failing (HTTP 503, 5 attempts)"), "\(r.stderr)")
    }

    @Test(arguments: [302, 400])
    func aStorageRefusalIsReportedAsStorageNotTheAPI(status: Int) throws {
        let (world, files) = try LifecycleRuleTests.world()
        world.server.rewrite = { route, _, honest in
            route == "put" ? HTTPResponse(status: status, headers: ["location": "https://elsewhere.test/"]) : honest
        }
        let r = world.run(["submit"] + files + Self.person + Self.wait)
        #expect(r.status == ExitCode.apiRefused.rawValue, "\(r.stderr)")
        #expect(r.stderr.contains("storage refused the upload (HTTP \(status))"), "\(r.stderr)")
        #expect(!r.stderr.contains("the API refused"), "\(r.stderr)")
    }

    // MARK: secrets stay on the right host

    @Test(arguments: ["sk-fake\r\nX-Injected: 1", "sk-fake\n", "sk\u{1B}fake"])
    func aKeyWithControlCharactersIsRefusedBeforeAnythingIsSent(key: String) throws {
        let (world, files) = try LifecycleRuleTests.world()
        world.key = key
        let r = world.run(["submit"] + files + Self.person + Self.wait)
        if key == "sk-fake\n" {
            // A trailing newline (a key file's) is trimmed, not refused; the fake refuses the key.
            #expect(r.status == ExitCode.authFailed.rawValue)
            #expect(r.stderr.contains("refused the key"), "\(r.stderr)")
            return
        }
        #expect(r.status == ExitCode.authFailed.rawValue)
        #expect(r.stderr.contains("control characters"), "\(r.stderr)")
        #expect(world.server.requests.isEmpty)
    }

    // MARK: text from outside is escaped on a terminal

    @Test func serverTextAndFileNamesReachTheTerminalEscaped() throws {
        let world = RunWorld()
        let file = try LifecycleSweepTests.recording(12, into: world.dir, name: "evil\u{1B}[2Jname.ogg")
        world.server.rewrite = { route, _, honest in
            guard route == "get" else { return honest }
            var object = Self.object(honest)
            if object["status"] as? String == "COMPLETE_OK" {
                object["results"] = ["sections": [["transcript": "hi\u{1B}]0;owned\u{07}\r there", "distress": ["value": 0.5]]]]
                object["warnings"] = ["quality\u{1B}[31m low", "bidi \u{202E}txt"]
            }
            return Self.json(object)
        }
        let r = world.run(["submit", file] + Self.person + Self.wait)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(!r.stdout.contains("\u{1B}"), "\(r.stdout.debugDescription)")
        #expect(!r.stderr.contains("\u{1B}"), "\(r.stderr.debugDescription)")
        #expect(!r.stdout.contains("\r") && !r.stdout.contains("\u{202E}"))
        #expect(r.stdout.contains(#"hi\x1b]0;owned\x07\r there"#), "\(r.stdout)")
        #expect(r.stdout.contains(#"evil\x1b[2Jname.ogg"#), "\(r.stdout)")
        #expect(r.stdout.contains(#"bidi \u{202e}txt"#), "\(r.stdout)")
    }

    @Test func anErrorReasonAndA422MessageReachTheTerminalEscaped() throws {
        let (world, files) = try LifecycleRuleTests.world()
        world.server.rewrite = { route, _, honest in
            guard route == "create" else { return honest }
            return HTTPResponse(status: 422, body: Data(#"{"detail":[{"loc":["body","user"],"msg":"bad\u001b]52;c;ZXZpbA==\u0007"}]}"#.utf8))
        }
        let r = world.run(["submit"] + files + Self.person + Self.wait)
        #expect(r.status == ExitCode.apiRefused.rawValue, "\(r.stderr)")
        #expect(!r.stderr.contains("\u{1B}"), "\(r.stderr.debugDescription)")
        #expect(r.stderr.contains(#"bad\x1b]52;c;ZXZpbA==\x07"#), "\(r.stderr)")
    }

    @Test func terminalSafeEscapesControlsAndKeepsText() {
        #expect(Text.terminalSafe("plain ünïcödé ✓") == "plain ünïcödé ✓")
        #expect(Text.terminalSafe("a\u{1B}[31mb") == #"a\x1b[31mb"#)
        #expect(Text.terminalSafe("\u{9B}2J\u{7F}") == #"\x9b2J\x7f"#)
        #expect(Text.terminalSafe("x\ny\tz\r") == #"x\ny\tz\r"#)
        #expect(Text.terminalSafe("\u{202E}\u{2066}\u{2028}") == #"\u{202e}\u{2066}\u{2028}"#)
        #expect(Text.terminalSafe("\u{0}") == #"\x00"#)
    }
}

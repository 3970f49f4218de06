import Foundation
import Testing
@testable import HeliosCore
import HeliosTestSupport

/// Issue 12: `helios doctor` checks a setup without a paid run; in process against the fake.
@Suite(.blocking) struct DoctorTests {
    @Test func aGoodSetupIsReadyAndSaysWhy() throws {
        let world = RunWorld()
        let r = world.run(["doctor"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.hasPrefix("helios doctor: ready\n"), "\(r.stdout)")
        #expect(r.stdout.contains("accepted: account acct-fake, features data-export (from THYMIA_API_KEY)"))
        #expect(r.stdout.contains("https://api.fake.test"))
        #expect(r.stdout.contains("clock      in step with the server (fine)"), "\(r.stdout)")
        #expect(r.stdout.contains("journal    \(world.journalPath) (writable)"))
        #expect(r.stdout.contains("libcurl/") && r.stdout.contains("libsndfile-") && r.stdout.contains("libopus ") && r.stdout.contains("FAAD2 "))
        #expect(!r.stdout.contains(FakeThymia.key) && !r.stderr.contains(FakeThymia.key))
        // Nothing was created: one GET of the account.
        #expect(world.server.requests == ["GET account"])
        #expect(world.server.runs.isEmpty)
    }

    @Test func aRefusedOrMissingKeyExits4() throws {
        let world = RunWorld()
        world.key = "not-the-key"
        let refused = world.run(["doctor", "--json"])
        #expect(refused.status == ExitCode.authFailed.rawValue)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(refused.stdout.utf8)) as? [String: Any])
        #expect(report["ok"] as? Bool == false)
        #expect((report["key"] as? [String: Any])?["accepted"] as? Bool == false)
        world.key = nil
        let missing = world.run(["doctor"])
        #expect(missing.status == ExitCode.authFailed.rawValue)
        #expect(missing.stdout.contains("not ready") && missing.stdout.contains("THYMIA_API_KEY"), "\(missing.stdout)")
    }

    @Test func anUnreachableAPIExits6() throws {
        let world = RunWorld()
        world.server.rewrite = { route, _, honest in route == "account" ? HTTPResponse(status: 503) : honest }
        let r = world.run(["doctor"])
        #expect(r.status == ExitCode.networkFailed.rawValue, "\(r.stderr)")
        #expect(r.stdout.contains("not checked (no answer from the API)"))
    }

    @Test func aSkewedClockIsNamedWithItsFix() throws {
        let world = RunWorld()
        world.server.accountDate = "Fri, 15 Jan 2027 08:10:00 GMT"  // the server is 10 minutes ahead
        let r = world.run(["doctor", "--json"])
        #expect(r.status == 0)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let clock = try #require(report["clock"] as? [String: Any])
        #expect(clock["offsetSeconds"] as? Double == 600 && clock["ok"] as? Bool == false, "\(clock)")
        #expect(report["ok"] as? Bool == false)
        #expect(r.stderr.contains("600 s off the server's") && r.stderr.contains("NTP"), "\(r.stderr)")
    }

    @Test func theProxyIsShownWithoutItsPasswordAndNoProxyIsHonoured() throws {
        let target = try URLPolicy.check("https://api.thymia.ai")
        #expect(DoctorCommand.proxy(for: target, environment: ["https_proxy": "http://ann:s3cret@proxy.corp:3128"])
                == "http://ann:[redacted]@proxy.corp:3128 (from https_proxy)")
        #expect(DoctorCommand.proxy(for: target, environment: ["HTTPS_PROXY": "ann:s3cret@proxy.corp:3128"]) == "[redacted]@proxy.corp:3128 (from HTTPS_PROXY)")
        #expect(DoctorCommand.proxy(for: target, environment: ["https_proxy": "http://p:1", "no_proxy": "localhost, .thymia.ai"]) == nil)
        #expect(DoctorCommand.proxy(for: target, environment: ["http_proxy": "http://p:1"]) == nil)  // not for https
        #expect(DoctorCommand.proxy(for: try URLPolicy.check("http://127.0.0.1:8080"), environment: ["all_proxy": "http://p:1"]) == nil)
    }

    @Test func httpDatesAreReadStrictly() {
        #expect(DoctorCommand.httpDate("Fri, 15 Jan 2027 08:00:00 GMT") == Date(timeIntervalSince1970: 1_800_000_000))
        #expect(DoctorCommand.httpDate("Fri, 15 Jan 2027 08:00:00 PST") == nil)
        #expect(DoctorCommand.httpDate("15 Jan 2027") == nil)
        #expect(DoctorCommand.httpDate("Fri, 32 Jan 2027 08:00:00 GMT") == nil)
    }
}

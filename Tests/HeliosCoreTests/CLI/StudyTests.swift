import Foundation
import Testing
@testable import HeliosCore
import HeliosTestSupport

/// Issue 12: studies that survive bad rows. `validate --manifest`, `--dry-run`, `--skip-invalid`
/// and `--retry-failed`, driven through `HeliosCLI.run` against the fake thymia.
@Suite(.blocking) struct StudyTests {
    static let wait = LifecycleRuleTests.wait

    /// Rows: 2 good, 3 a date of birth in the future, 4 a missing file, 5 good and without a dob
    /// of its own (`--dob` fills it).
    static func study() throws -> (RunWorld, manifest: String, files: [String]) {
        let (world, files) = try LifecycleRuleTests.world(3)
        let manifest = world.dir + "/study.csv"
        let csv = "file,userLabel,dob,sex\n"
            + "\(files[0]),p1,1980,MALE\n"
            + "\(files[1]),p2,2999,FEMALE\n"
            + "\(world.dir)/gone.ogg,p3,1982,MALE\n"
            + "\(files[2]),p4,,UNKNOWN\n"
        try csv.write(toFile: manifest, atomically: true, encoding: .utf8)
        return (world, manifest, files)
    }

    static func objects(_ text: String) throws -> [[String: Any]] {
        try text.split(separator: "\n").map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
    }

    @Test func validateManifestListsEveryRowInOrderBadRowsIncluded() throws {
        let (world, manifest, _) = try Self.study()
        let r = world.run(["validate", "--manifest", manifest, "--dob", "1970", "--json"])
        #expect(r.status == ExitCode.usage.rawValue, "\(r.stderr)")
        let verdicts = try Self.objects(r.stdout)
        #expect(verdicts.map { $0["manifestLine"] as? Int } == [2, 3, 4, 5])
        #expect(verdicts.map { $0["ok"] as? Bool } == [true, false, false, true])
        let codes = verdicts.map { (($0["problems"] as? [[String: Any]])?.first?["code"] as? String) ?? "" }
        #expect(codes == ["", "INVALID_ROW", "NOT_FOUND", ""], "\(codes)")
        #expect(((verdicts[1]["problems"] as? [[String: Any]])?.first?["message"] as? String)?.contains("study.csv:3:") == true)
        // Without --dob, row 5 is a bad row too; without the bad rows, a missing file is exit 3.
        let noDefault = world.run(["validate", "--manifest", manifest])
        #expect(noDefault.stdout.split(separator: "\n").filter { $0.contains("INVALID_ROW") }.count == 2, "\(noDefault.stdout)")
        let good = world.dir + "/good.csv"
        try "file,dob,sex\n\(world.dir)/gone.ogg,1980,MALE\n".write(toFile: good, atomically: true, encoding: .utf8)
        #expect(world.run(["validate", "--manifest", good]).status == ExitCode.recordingRejected.rawValue)
        #expect(world.server.runs.isEmpty)
    }

    @Test func dryRunChecksEverythingSendsNothingAndCountsThePaidRuns() throws {
        let (world, files) = try LifecycleRuleTests.world(2)
        world.key = nil  // a dry run needs no key
        let args = ["submit"] + files + LifecycleRuleTests.person + Self.wait
        let dry = world.run(args + ["--dry-run"])
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.stdout.split(separator: "\n").filter { $0.hasSuffix("would create a run") }.count == 2, "\(dry.stdout)")
        #expect(dry.stderr.contains("2 new runs would be created (2 paid)"), "\(dry.stderr)")
        #expect(world.server.runs.isEmpty && world.server.requests.isEmpty)
        #expect(try world.journal().isEmpty)
        // After the real thing, a dry run of the resume says they are finished: no new cost.
        world.key = FakeThymia.key
        #expect(world.run(args).status == 0)
        let again = world.run(args + ["--resume", "--dry-run", "--json"])
        #expect(try Self.objects(again.stdout).map { $0["action"] as? String } == ["done", "done"], "\(again.stdout)")
        #expect(again.stderr.contains("0 new runs would be created (0 paid)"), "\(again.stderr)")
        #expect(world.server.runs.count == 2)
    }

    @Test func dryRunStillRefusesWhatTheRealRunWouldRefuse() throws {
        let (world, manifest, _) = try Self.study()
        let r = world.run(["submit", "--manifest", manifest, "--dry-run"] + Self.wait)
        #expect(r.status == ExitCode.usage.rawValue)
        #expect(r.stderr.contains("study.csv:3:"), "\(r.stderr)")
        #expect(world.server.requests.isEmpty)
    }

    @Test func skipInvalidGoesOnWithTheValidRowsAndExitsOne() throws {
        let (world, manifest, _) = try Self.study()
        // Without it, the first bad row stops everything before anything is sent.
        let strict = world.run(["submit", "--manifest", manifest, "--dob", "1970"] + Self.wait)
        #expect(strict.status == ExitCode.usage.rawValue)
        #expect(world.server.runs.isEmpty)

        let r = world.run(["submit", "--manifest", manifest, "--dob", "1970", "--skip-invalid", "--json"] + Self.wait)
        #expect(r.status == ExitCode.runFailed.rawValue, "\(r.stderr)")
        #expect(world.server.runs.count == 2)
        let results = try Self.objects(r.stdout)
        #expect(Set(results.compactMap { $0["manifestLine"] as? Int }) == [2, 5])
        #expect(results.allSatisfy { $0["status"] as? String == "COMPLETE_OK" })
        let skipped = try Self.objects(r.stderr).filter { $0["event"] as? String == "skipped" }
        #expect(skipped.map { $0["manifestLine"] as? Int } == [3, 4], "\(r.stderr)")
        #expect(r.stderr.contains("2 rows skipped as invalid"))
    }

    @Test func retryFailedMakesNewRunsOnlyForRetryableErrors() throws {
        let (world, files) = try LifecycleRuleTests.world(3)
        let manifest = world.dir + "/study.csv"
        try ("file,userLabel,dob,sex\n" + files.enumerated().map { "\($1),p\($0 + 1),1980,MALE" }.joined(separator: "\n") + "\n")
            .write(toFile: manifest, atomically: true, encoding: .utf8)
        // p1's run ends ERR_INTERNAL (thymia: "create a new run"), p2's ERR_RECORDING_TOO_SHORT.
        let failing: [String: String] = ["p1": "ERR_INTERNAL", "p2": "ERR_RECORDING_TOO_SHORT"]
        world.server.rewrite = { route, _, honest in
            guard route == "get", var object = try? JSONSerialization.jsonObject(with: honest.body) as? [String: Any],
                  object["status"] as? String == "COMPLETE_OK", let label = object["userLabel"] as? String, let code = failing[label] else { return honest }
            object["status"] = "COMPLETE_ERROR"
            object["errorCode"] = code
            object["errorReason"] = "because"
            object["results"] = nil
            return HTTPResponse(status: 200, body: (try? JSONSerialization.data(withJSONObject: object)) ?? Data())
        }
        let first = world.run(["submit", "--manifest", manifest] + Self.wait)
        #expect(first.status == ExitCode.runFailed.rawValue, "\(first.stderr)")
        #expect(world.server.runs.count == 3)
        // A plain resume reprints them: nothing new.
        _ = world.run(["submit", "--manifest", manifest] + Self.wait)
        #expect(world.server.runs.count == 3)
        // --retry-failed: one new run, for p1 only; it succeeds this time.
        world.server.rewrite = nil
        let retried = world.run(["submit", "--manifest", manifest, "--retry-failed", "--json"] + Self.wait)
        #expect(world.server.runs.count == 4, "\(retried.stderr)")
        #expect(world.server.runs.last?.userLabel == "p1")
        let statuses = Dictionary(uniqueKeysWithValues: try Self.objects(retried.stdout).map { ($0["userLabel"] as? String ?? "", $0["status"] as? String ?? "") })
        #expect(statuses == ["p1": "COMPLETE_OK", "p2": "COMPLETE_ERROR", "p3": "COMPLETE_OK"], "\(statuses)")
        #expect(retried.stderr.contains("ended with a retryable error"), "\(retried.stderr)")
        // And --retry-failed on a plain submit is refused: it would mean nothing there.
        let plain = world.run(["submit", files[0], "--dob", "1980", "--sex", "male", "--retry-failed"])
        #expect(plain.status == ExitCode.usage.rawValue)
    }
}

import Foundation
import Testing
@testable import HeliosCore
import HeliosTestSupport

/// Issue 9's rules, one test each, driven through `HeliosCLI.run` against the in-process fake.
@Suite(.blocking) struct LifecycleRuleTests {
    static let person = ["--dob", "1990-08", "--sex", "female"]
    static let wait = ["--poll-interval", "3s"]

    /// A world with `count` recordings; `args` submits them (concurrency 1, so boundaries are in order).
    static func world(_ count: Int = 1) throws -> (RunWorld, [String]) {
        let world = RunWorld()
        let files = try (0..<count).map { try LifecycleSweepTests.recording(12 + Double($0) * 0.5, into: world.dir, name: "r\($0).ogg") }
        return (world, files)
    }

    /// The 1-based index of the `occurrence`-th boundary named `name` in an uninterrupted run of
    /// `args` (measured in a world of its own).
    static func boundary(_ name: String, occurrence: Int = 1, files: Int = 1, extra: [String] = []) throws -> Int {
        let (world, paths) = try world(files)
        let faults = Faults(at: nil, .signal, cancellation: Cancellation())
        let r = world.run(["submit"] + paths + person + wait + ["--concurrency", "1"] + extra, faults: faults)
        #expect(r.status == 0, "\(r.stderr)")
        let hits = r.boundaries.enumerated().filter { $0.element == name }
        return try #require(hits.dropFirst(occurrence - 1).first).offset + 1
    }

    // MARK: a returned run id is journaled before anything else happens

    @Test func signalDuringTheCreateWaitsForTheAnswerJournalsItAndExits130() throws {
        let at = try Self.boundary("create>")
        let (world, files) = try Self.world()
        let r = world.run(["submit"] + files + Self.person + Self.wait, faults: Faults(at: at, .signal, cancellation: Cancellation()))
        #expect(r.status == 130)
        let run = try #require(world.server.runs.first)
        #expect(world.server.runs.count == 1)
        #expect(run.storedSha256 == nil, "nothing is sent after the Ctrl-C")
        let entry = try #require(try world.latest().first)
        #expect(entry.runId == run.id && entry.state == .created)
        #expect(r.stderr.contains(run.id))
        #expect(r.stderr.contains("resume with: helios submit --resume"))
        // The resume finishes that very run.
        let resumed = world.run(r.resumeHint ?? [])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(world.server.runs.count == 1)
        #expect(world.server.runs.first?.status == "COMPLETE_OK")
    }

    @Test func secondSignalDuringTheCreateRecordsAnUnconfirmedCreateThatRunsShows() throws {
        let at = try Self.boundary("create>")
        let (world, files) = try Self.world()
        let r = world.run(["submit"] + files + Self.person + Self.wait, faults: Faults(at: at, .doubleSignal, cancellation: Cancellation()))
        #expect(r.status == 130)
        #expect(r.stderr.contains("got no answer") && r.stderr.contains(files[0]))
        // Under --json the one error object says it too.
        let (jsonWorld, jsonFiles) = try Self.world()
        let j = jsonWorld.run(["submit"] + jsonFiles + Self.person + Self.wait + ["--json"],
                              faults: Faults(at: at, .doubleSignal, cancellation: Cancellation()))
        let last = try #require(j.stderr.split(separator: "\n").last.map(String.init))
        #expect(last.hasPrefix("{") && last.contains("got no answer") && last.contains("r0.ogg"))
        let entry = try #require(try world.latest().first)
        #expect(entry.state == .createUnconfirmed && entry.runId == nil)
        #expect(entry.sha256 != nil && entry.userLabel != nil && entry.file == files[0] && !entry.time.isEmpty)
        let runs = world.run(["runs"])
        #expect(runs.stdout.contains("CREATE_UNCONFIRMED") && runs.stdout.contains("r0.ogg"))
        let pending = world.run(["runs", "--pending", "--json"])
        #expect(pending.stdout.contains("create-unconfirmed"))
        // Resuming makes one run of its own, and says a run may exist for the old attempt.
        let resumed = world.run(r.resumeHint ?? [])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("never confirmed"))
        #expect(world.server.runs.filter { $0.storedSha256 != nil }.count == 1)
        #expect(try world.latest().filter(\.isPending).isEmpty)
    }

    @Test func theIntentIsOnDiskBeforeThePostSoAKillLeavesATrace() throws {
        let at = try Self.boundary("create<")  // the server created it; the process dies before hearing
        let (world, files) = try Self.world()
        let r = world.run(["submit"] + files + Self.person + Self.wait, faults: Faults(at: at, .crash, cancellation: Cancellation()))
        _ = r
        #expect(world.server.runs.count == 1)
        let entry = try #require(try world.latest().first)
        #expect(entry.state == .creating && entry.runId == nil && entry.sha256 != nil && entry.file == files[0])
        #expect(world.run(["runs"]).stdout.contains("CREATING"))
    }

    // MARK: upload URLs of pending runs are kept, privately, and reused

    @Test func theUploadURLIsKeptPrivatelyReusedAndDeletedOnceConfirmed() throws {
        let at = try Self.boundary("put>")
        let (world, files) = try Self.world()
        let first = world.run(["submit"] + files + Self.person + Self.wait, faults: Faults(at: at, .crash, cancellation: Cancellation()))
        let uploads = world.state + "/uploads"
        let names = try FileManager.default.contentsOfDirectory(atPath: uploads).filter { $0.hasSuffix(".json") }
        #expect(names.count == 1)
        let attributes = try FileManager.default.attributesOfItem(atPath: uploads + "/" + names[0])
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect(((try FileManager.default.attributesOfItem(atPath: uploads))[.posixPermissions] as? Int) == 0o700)
        // The signature is nowhere else: not in the journal, not on screen.
        let journalText = try String(contentsOfFile: world.journalPath, encoding: .utf8)
        #expect(!journalText.contains("signature=") && !first.stderr.contains("signature=") && !first.stdout.contains("signature="))

        let resumed = world.run(["submit", "--resume"] + files + Self.person + Self.wait + ["--verbose"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(world.server.runs.count == 1, "the same run took the recording")
        #expect(world.server.runs.first?.storedSha256 != nil)
        #expect(!resumed.stderr.contains("signature="))
        #expect(try FileManager.default.contentsOfDirectory(atPath: uploads).filter { $0.hasSuffix(".json") }.isEmpty)
    }

    @Test func anExpiredURLOfARunStillCreatedGetsOneFreshRun() throws {
        let at = try Self.boundary("put>")
        let (world, files) = try Self.world()
        _ = world.run(["submit"] + files + Self.person + Self.wait, faults: Faults(at: at, .crash, cancellation: Cancellation()))
        world.clock.advance(2 * 3600)
        let resumed = world.run(["submit", "--resume"] + files + Self.person + Self.wait)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("expired"))
        #expect(world.server.runs.count == 2)
        #expect(world.server.runs.filter { $0.storedSha256 != nil }.count == 1)
        let old = try #require(try world.latest().first { $0.runId == world.server.runs[0].id })
        #expect(old.state == .abandoned && old.replacedBy != nil)
    }

    // MARK: all bytes sent, answer lost: unconfirmed, never "not uploaded"

    @Test func everyByteSentWithTheAnswerLostIsUnconfirmedAndResumesTheSameRun() throws {
        let at = try Self.boundary("put<")
        let (world, files) = try Self.world()
        let r = world.run(["submit"] + files + Self.person + Self.wait, faults: Faults(at: at, .signal, cancellation: Cancellation()))
        #expect(r.status == 130)
        #expect(try world.latest().first?.state == .uploadUnconfirmed)
        #expect(world.run(["runs", "--pending"]).stdout.contains("UPLOAD_UNCONFIRMED"))
        // poll --pending carries it on like runs --pending lists it.
        let polled = world.run(["poll", "--pending"] + Self.wait)
        #expect(polled.status == 0, "\(polled.stderr)")
        #expect(world.server.runs.count == 1)
        #expect(try world.latest().first?.state == .finished)
    }

    @Test func resumingWhileTheUploadIsStillLandingNeverCreatesASecondRun() throws {
        let at = try Self.boundary("put>")
        let (world, files) = try Self.world()
        _ = world.run(["submit"] + files + Self.person + Self.wait, faults: Faults(at: at, .crash, cancellation: Cancellation()))
        let run = try #require(world.server.runs.first)
        world.server.setLanding(run.id, sha256: try SHA256.hexDigest(ofFileAt: files[0]))
        let resumed = world.run(["submit", "--resume"] + files + Self.person + Self.wait)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(world.server.runs.count == 1)
        #expect(world.server.runs.first?.status == "COMPLETE_OK")
    }

    /// A retry refused as expired after an attempt that delivered every byte (its answer lost):
    /// the recording may be stored, so no fresh run; the next resume finds it arrived.
    @Test func anExpiredRetryAfterEveryByteWasSentNeverRecreates() throws {
        let at = try Self.boundary("put>")
        let (world, files) = try Self.world()
        _ = world.run(["submit"] + files + Self.person + Self.wait, faults: Faults(at: at, .crash, cancellation: Cancellation()))
        // 60.3 s left: past the 60 s margin, so the upload starts; storage keeps every byte, the
        // answer is lost, and by the retry the URL has expired.
        world.clock.advance(3600 - 60.3)
        let faults = Faults(at: nil, .failure, cancellation: Cancellation())
        faults.targetName = "put<"
        let clock = world.clock
        faults.perform = { _ in clock.advance(61) }
        faults.performThenFire = true
        let first = world.run(["submit", "--resume"] + files + Self.person + Self.wait, faults: faults)
        #expect(first.status != 0)
        #expect(world.server.runs.count == 1, "no fresh run while the first may hold the recording")
        #expect(try world.latest().first?.state == .uploadUnconfirmed)
        let second = world.run(["submit", "--resume"] + files + Self.person + Self.wait)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(world.server.runs.count == 1)
        #expect(world.server.runs.first?.status == "COMPLETE_OK")
    }

    @Test func aTimeoutShorterThanThePollIntervalStillLooksOnce() throws {
        let (world, files) = try Self.world()
        world.server.pollsToFinish = 1
        let r = world.run(["submit"] + files + Self.person + ["--poll-interval", "3s", "--timeout", "1s"])
        #expect(r.status == 0, "\(r.stderr)")
    }

    @Test func aClosedStdoutNeverMakesAStopUrgent() {
        let c = Cancellation()
        for _ in 0..<5 { c.request(.brokenPipe) }
        #expect(c.isRequested && !c.isUrgent && c.reason == .brokenPipe)
        c.request(.signal)
        #expect(c.isUrgent)
        let signals = Cancellation()
        signals.request()
        #expect(!signals.isUrgent)
        signals.request()
        #expect(signals.isUrgent && signals.reason == .signal)
    }

    // MARK: one command resumes without duplicates; plain submits refuse unfinished recordings

    @Test func theHintAfterAStopResumesNamedFilesAndNeverKeepsForce() throws {
        let at = try Self.boundary("create>", occurrence: 2, files: 3)
        let (world, files) = try Self.world(3)
        let r = world.run(["submit"] + files + Self.person + Self.wait + ["--force", "--concurrency", "1"],
                          faults: Faults(at: at, .signal, cancellation: Cancellation()))
        #expect(r.status == 130)
        let hint = try #require(r.resumeHint)
        #expect(hint.prefix(2) == ["submit", "--resume"])
        #expect(!hint.contains("--force"))
        let resumed = world.run(hint)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(world.server.runs.count == 3)
        #expect(Set(world.server.runs.compactMap(\.storedSha256)).count == 3)
    }

    @Test func aPlainSubmitRefusesARecordingWithAnUnfinishedRun() throws {
        let at = try Self.boundary("put>")
        let (world, files) = try Self.world()
        _ = world.run(["submit"] + files + Self.person + Self.wait, faults: Faults(at: at, .crash, cancellation: Cancellation()))
        let before = world.server.requests.count
        let plain = world.run(["submit"] + files + Self.person + Self.wait)
        #expect(plain.status == 2)
        #expect(plain.stderr.contains("--resume") && plain.stderr.contains("--force") && plain.stderr.contains("unfinished"))
        #expect(world.server.requests.count == before, "nothing was sent")
        // A different person is a different recording.
        let other = world.run(["submit"] + files + ["--dob", "1971", "--sex", "male"] + Self.wait)
        #expect(other.status == 0, "\(other.stderr)")
        let forced = world.run(["submit"] + files + Self.person + Self.wait + ["--force"])
        #expect(forced.status == 0, "\(forced.stderr)")
    }

    @Test(arguments: [false, true])
    func theSameFileTwiceOnOneCommandLineIsRefused(relative: Bool) throws {
        let (world, files) = try Self.world()
        let second = relative ? world.dir + "/./r0.ogg" : files[0]
        let r = world.run(["submit", files[0], second] + Self.person + Self.wait)
        #expect(r.status == 2)
        #expect(r.stderr.contains("given twice"))
        #expect(world.server.requests.isEmpty)
    }

    @Test func theSameRecordingUnderTwoNamesForTheSamePersonIsRefused() throws {
        let (world, files) = try Self.world()
        let copy = world.dir + "/copy.ogg"
        try FileManager.default.copyItem(atPath: files[0], toPath: copy)
        let r = world.run(["submit", files[0], copy] + Self.person + Self.wait)
        #expect(r.status == 2)
        #expect(r.stderr.contains("same recording for the same person"))
        #expect(world.server.requests.isEmpty)
    }

    // MARK: one process at a time

    @Test func aSecondProcessOnTheSameManifestRefusesNamingTheFirst() throws {
        let (world, files) = try Self.world()
        let manifest = world.dir + "/study.csv"
        try "file,userLabel,dob,sex\n\(files[0]),p1,1980,MALE\n".write(toFile: manifest, atomically: true, encoding: .utf8)
        let other = RunLocks(besideJournal: world.journalPath)
        try other.acquire(key: "manifest:" + RunCommands.realPath(manifest), what: "it")
        let r = world.run(["submit", "--manifest", manifest] + Self.wait)
        #expect(r.status == 2)
        #expect(r.stderr.contains("pid \(getpid())") && r.stderr.contains("study.csv"))
        #expect(world.server.requests.isEmpty)
        other.releaseAll()
        #expect(world.run(["submit", "--manifest", manifest] + Self.wait).status == 0)
    }

    @Test func aSecondProcessOnTheSameRecordingRefuses() throws {
        let (world, files) = try Self.world()
        // Hold the lock the way a running `helios submit` of this recording would.
        let first = Faults(at: nil, .signal, cancellation: Cancellation())
        let holder = RunLocks(besideJournal: world.journalPath)
        first.perform = nil
        let digest = RunLifecycle.digest(CreateRunRequest(person: Person(dateOfBirth: "1990-08-01", birthSex: .FEMALE), userLabel: "", deletion: .keep))
        let sha = try SHA256.hexDigest(ofFileAt: files[0])
        try holder.acquire(key: "recording:" + sha + " " + digest + " https://api.fake.test", what: files[0])
        let r = world.run(["submit"] + files + Self.person + Self.wait)
        #expect(r.status == 2, "\(r.stderr)")
        #expect(r.stderr.contains("already working on") && r.stderr.contains("pid \(getpid())"))
        holder.releaseAll()
    }

    // MARK: a closed stdout

    @Test func aClosedStdoutStopsNewRunsAndExits130WithTheHint() throws {
        let (world, files) = try Self.world(3)
        let cancellation = Cancellation()
        let output = CapturedOutput()
        output.onOut = { _ in cancellation.request(.brokenPipe) }
        let r = world.run(["submit"] + files + Self.person + Self.wait + ["--concurrency", "1", "--json"],
                          cancellation: cancellation, output: output)
        #expect(r.status == 130)
        #expect(r.stderr.contains("standard output was closed"))
        #expect(r.resumeHint?.prefix(2) == ["submit", "--resume"])
        #expect(world.server.runs.count == 1, "no run is started after the reader went away")
        let resumed = world.run(try #require(r.resumeHint))
        #expect(resumed.status == 0)
        #expect(world.server.runs.count == 3)
    }

    // MARK: checks before any work

    @Test func aMissingKeyIsReportedBeforeAnyRecordingIsRead() throws {
        let (world, _) = try Self.world()
        world.key = nil
        let r = world.run(["submit", world.dir + "/missing.wav"] + Self.person)
        #expect(r.status == 4, "the key comes before the recording (which would be exit 3): \(r.stderr)")
    }

    @Test func anUnwritableStateDirIsReportedBeforeAnythingIsSentOrRead() throws {
        let (world, _) = try Self.world()
        let blocker = world.dir + "/blocker"
        #expect(FileManager.default.createFile(atPath: blocker, contents: Data("x".utf8)))
        let r = world.run(["submit", world.dir + "/missing.wav"] + Self.person, environment: ["HELIOS_STATE_DIR": blocker + "/state"])
        #expect(r.status == 2, "\(r.stderr)")
        #expect(r.stderr.contains("cannot write the journal") && r.stderr.contains("HELIOS_STATE_DIR"))
        #expect(world.server.requests.isEmpty)
    }

    @Test func aStateDirThatIsASymlinkIsUsedAndItsFilesArePrivate() throws {
        let (world, files) = try Self.world()
        let link = world.dir + "/state-link"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: world.state)
        let at = try Self.boundary("put>")
        _ = world.run(["submit"] + files + Self.person + Self.wait, faults: Faults(at: at, .crash, cancellation: Cancellation()),
                      environment: ["HELIOS_STATE_DIR": link + "/nested"])
        let uploads = world.state + "/nested/uploads"
        #expect(((try FileManager.default.attributesOfItem(atPath: world.state + "/nested"))[.posixPermissions] as? Int) == 0o700)
        #expect(try FileManager.default.contentsOfDirectory(atPath: uploads).count == 1)
        let resumed = world.run(["submit", "--resume"] + files + Self.person + Self.wait, environment: ["HELIOS_STATE_DIR": link + "/nested"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(world.server.runs.count == 1)
    }

    @Test func aFailedJournalWriteStopsNewRunsAndShowsTheRunId() throws {
        let at = try Self.boundary("journal", occurrence: 3, files: 3)  // "uploading" of the first run
        let (world, files) = try Self.world(3)
        let r = world.run(["submit"] + files + Self.person + Self.wait + ["--concurrency", "1"],
                          faults: Faults(at: at, .failure, cancellation: Cancellation()))
        #expect(r.status == 1, "\(r.stderr)")
        let run = try #require(world.server.runs.first)
        #expect(world.server.runs.count == 1, "no new run after the journal failed")
        #expect(run.storedSha256 == nil, "nothing uploaded that the journal could not record")
        #expect(r.stderr.contains("cannot write the journal") && r.stderr.contains(run.id))
    }

    @Test func ctrlCBeforeTheLocalCheckEndsSendsNothing() throws {
        let (world, files) = try Self.world(2)
        let cancellation = Cancellation()
        cancellation.request()
        let r = world.run(["submit"] + files + Self.person, cancellation: cancellation)
        #expect(r.status == 130)
        #expect(r.stderr.contains("local check"))
        #expect(r.resumeHint?.first == "submit")
        #expect(world.server.requests.isEmpty)
        #expect(try world.journal().isEmpty)
    }

    // MARK: each run at its own host, and status records what it sees

    @Test func pollPendingAndStatusAskEachRunsOwnHostAndStatusJournals() throws {
        let (world, files) = try Self.world(2)
        let a = world.run(["upload", files[0]] + Self.person)
        let b = world.run(["upload", files[1]] + Self.person, environment: ["THYMIA_BASE_URL": "https://ca.api.fake.test"])
        #expect(a.status == 0 && b.status == 0, "\(a.stderr)\(b.stderr)")
        let idB = Text.trimmed(b.stdout)
        let status = world.run(["status", idB])
        #expect(status.status == 0)
        #expect(world.server.requestHosts.last == "ca.api.fake.test")
        #expect(try world.latest().first { $0.runId == idB }?.apiStatus == "RUNNING")
        let polled = world.run(["poll", "--pending"] + Self.wait)
        #expect(polled.status == 0, "\(polled.stderr)")
        let gets = world.server.requestHosts.suffix(4)
        #expect(Set(gets) == ["api.fake.test", "ca.api.fake.test"])
        #expect(try world.latest().allSatisfy { $0.state == .finished })
    }

    // MARK: the recording paid for is the recording checked

    @Test func aFileChangedAfterTheCheckIsNotStoredAndTheRunStaysResumable() throws {
        let at = try Self.boundary("put>")
        let (world, files) = try Self.world()
        let original = try Data(contentsOf: URL(fileURLWithPath: files[0]))
        let faults = Faults(at: at, .signal, cancellation: Cancellation())
        faults.perform = { _ in
            var changed = original
            changed[changed.count - 1] ^= 0xFF  // same size, other bytes
            try? changed.write(to: URL(fileURLWithPath: files[0]))
        }
        let r = world.run(["submit"] + files + Self.person + Self.wait, faults: faults)
        #expect(r.status == 3, "\(r.stderr)")
        #expect(r.stderr.contains("changed after it was checked"))
        #expect(world.server.runs.count == 1)
        #expect(world.server.runs.first?.storedSha256 == nil)
        #expect(try world.latest().first?.state == .created)
        try original.write(to: URL(fileURLWithPath: files[0]))
        let resumed = world.run(["submit", "--resume"] + files + Self.person + Self.wait)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(world.server.runs.count == 1)
    }
}

/// The resume command built from argv.
@Suite(.blocking) struct ResumeCommandTests {
    @Test(arguments: [
        (["submit", "a.wav", "--dob", "1990", "--sex", "male"], false, "helios submit --resume a.wav --dob 1990 --sex male"),
        (["submit", "a.wav", "--force", "--dob", "1990"], false, "helios submit --resume a.wav --dob 1990"),
        (["--force", "--base-url", "http://127.0.0.1:1", "submit", "a.wav"], false, "helios --base-url http://127.0.0.1:1 submit --resume a.wav"),
        (["--api-key-file", "upload", "submit", "a.wav"], false, "helios --api-key-file upload submit --resume a.wav"),
        (["submit", "--resume", "a.wav"], false, "helios submit --resume a.wav"),
        (["submit", "--manifest", "s.csv", "--force"], true, "helios submit --manifest s.csv"),
        (["upload", "a.wav", "--", "--force"], false, "helios upload --resume a.wav -- --force"),
        (["submit", "it's.wav"], false, "helios submit --resume 'it'\\''s.wav'"),
        (["--base-url", "https://me:pw@proxy.example/x", "submit", "a.wav"], false, "helios --base-url 'https://me:[redacted]@proxy.example/x' submit --resume a.wav"),
    ] as [([String], Bool, String)])
    func resumeCommand(args: [String], manifest: Bool, expected: String) {
        #expect(RunCommands.resumeCommand(args, manifest: manifest) == expected)
    }
}

@Suite(.blocking) struct PollHintTests {
    @Test func thePollHintKeepsTheOptionsPollShares() {
        let args = ["submit", "a.wav", "--json", "--dob", "1990", "--poll-interval", "2s", "--timeout=5m", "-q",
                    "--api-key-file", "/k", "--tag", "x=y", "--", "--json"]
        #expect(RunCommands.pollOptions(args) == ["--json", "--poll-interval", "2s", "--timeout=5m", "-q", "--api-key-file", "/k"])
    }
}

/// The outcomes-to-exit-code function, as a table.
@Suite(.blocking) struct RunExitTests {
    static func run(_ status: String) -> ModelRun {
        try! ModelRun(json: .object(["id": .string("3f2b8c1e-6a4d-4e7b-9c0a-1d2e3f4a5b6c"), "status": .string(status)]))
    }

    static let ok = RunOutcome.finished(run("COMPLETE_OK"))
    static let runError = RunOutcome.finished(run("COMPLETE_ERROR"))
    static let auth = RunOutcome.failed(RunFailure(.api(.auth(status: 401)), "x"))
    static let network = RunOutcome.failed(RunFailure(.api(.network("x")), "x"))
    static let journal = RunOutcome.failed(RunFailure(.journal, "x"))
    static let interrupted = RunOutcome.pending(runId: "r", uploaded: true, why: .interrupted)
    static let timedOut = RunOutcome.pending(runId: "r", uploaded: true, why: .timedOut)

    @Test(arguments: [
        ([ok, ok], nil, ExitCode.success),
        ([ok, runError], nil, .runFailed),
        ([auth, auth], nil, .authFailed),
        ([auth, network], nil, .runFailed),
        ([ok, network], nil, .runFailed),
        ([network], nil, .networkFailed),
        ([journal], nil, .runFailed),
        ([ok, timedOut], nil, .timedOut),
        ([ok, interrupted], .signal, .interrupted),
        ([ok, .notStarted], .signal, .interrupted),
        ([ok, ok], .signal, .success),
        ([ok, network], .signal, .interrupted),
        ([ok, ok], .brokenPipe, .interrupted),
        ([.unconfirmedCreate(file: "a", failure: nil)], nil, .interrupted),
        ([.unconfirmedCreate(file: "a", failure: RunFailure(.api(.timedOut("x")), "x"))], nil, .networkFailed),
        ([.uploaded(runId: "r")], nil, .success),
        ([ok, .notStarted], nil, .runFailed),
    ] as [([RunOutcome], StopReason?, ExitCode)])
    func exitCode(outcomes: [RunOutcome], stopped: StopReason?, expected: ExitCode) {
        #expect(RunExit.code(for: outcomes, stopped: stopped) == expected)
    }
}

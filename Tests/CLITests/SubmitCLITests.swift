import Foundation
import HeliosCore
import HeliosTestSupport
import Testing

/// `helios submit` end to end: the real binary, libcurl, and the real emulator on loopback.
@Suite(.blocking) struct SubmitCLITests {
    enum Source: String, CaseIterable, Sendable {
        case wav, flac, ogg, opus, mp3, webm, liveWebm, m4a, fragmentedMP4
    }

    static let mime: [Source: String] = [
        .wav: "audio/wav", .flac: "audio/flac", .ogg: "audio/ogg", .opus: "audio/ogg", .mp3: "audio/mpeg",
        .webm: "audio/webm", .liveWebm: "audio/webm", .m4a: "audio/mp4", .fragmentedMP4: "audio/mp4",
    ]

    func file(_ source: Source, _ h: RunHarness) throws -> String {
        switch source {
        case .wav: return try h.recording(.wav)
        case .flac: return try h.recording(.flac)
        case .ogg: return try h.recording(.ogg)
        case .opus: return try h.recording(.opus)
        case .mp3: return try h.recording(.mp3)
        case .webm: return TestPaths.fixture("ok-12s.webm")
        case .liveWebm: return TestPaths.fixture("live-12s.webm")
        case .m4a: return TestPaths.fixture("ok-12s.m4a")
        case .fragmentedMP4: return TestPaths.fixture("fragmented-12s.mp4")
        }
    }

    /// Every accepted format: the emulator receives exactly the file's bytes, sized, typed, keyless.
    @Test(arguments: Source.allCases)
    func everyFormatEndToEnd(source: Source) throws {
        let h = try RunHarness()
        let path = try file(source, h)
        let r = try h.helios(["submit", path, "--json", "--poll-interval", "1s"] + RunHarness.userArgs)
        #expect(r.status == 0, "\(r.stderr)")
        let lines = try r.jsonLines()
        #expect(lines.count == 1)
        let result = try #require(lines.first)
        #expect(result["status"] as? String == "COMPLETE_OK")
        #expect(result["schemaVersion"] as? Int == 1)
        #expect(result["file"] as? String == path)
        let scores = try #require(result["scores"] as? [String: Double])
        #expect(scores.count == 11)
        let audio = try #require(result["audio"] as? [String: Any])
        #expect(audio["sha256"] as? String == (try sha256(path)))

        let put = try #require(try h.uploads().first)
        #expect(put.bodyBytes == fileSize(path))
        #expect(put.contentLength == String(fileSize(path)))
        #expect(put.transferEncoding == nil)
        #expect(put.bodySha256 == (try sha256(path)))
        #expect(put.hasApiKey == false)
        #expect(put.contentType == Self.mime[source])
        #expect(try h.emulator.log().filter { $0.method != "PUT" && $0.route != nil }.allSatisfy(\.hasApiKey))
    }

    @Test func textOutputShowsScoresAndRunOnStdoutOnly() throws {
        let h = try RunHarness()
        let path = try h.recording()
        let r = try h.helios(["submit", path, "--poll-interval", "1s", "-u", "participant-7"] + RunHarness.userArgs)
        #expect(r.status == 0)
        #expect(r.stdout.contains("COMPLETE_OK"))
        #expect(r.stdout.contains("participant-7"))
        #expect(r.stdout.contains("mentalStrain"))
        #expect(!r.stdout.contains("uploading"))
        #expect(!r.stdout.contains("warning"), "a clean 16 kHz recording earns no warning")
        #expect(r.stderr.contains("uploading"))
        let run = try #require(try h.emulator.runs().first)
        #expect(run.userLabel == "participant-7")
        #expect(run.dateOfBirth == "1990-08-01")
        #expect(run.birthSex == "FEMALE")
    }

    /// Each ERR_ outcome the emulator can produce → exit 1 with the code and thymia's advice.
    @Test(arguments: [
        ("ERR_RECORDING_TOO_SHORT", 4.0, false),
        ("ERR_RECORDING_TOO_LONG", 200.0, false),
        ("ERR_INTERNAL", 12.0, true),
        ("ERR_RECORDING_INVALID_FORMAT", 0.0, false),
    ])
    func runErrorsExit1(code: String, seconds: Double, marker: Bool) throws {
        let h = try RunHarness()
        var path: String
        if seconds == 0 {
            path = h.dir + "/noise.wav"
            try Data((0..<40_000).map { UInt8(truncatingIfNeeded: $0 &* 7919 >> 3) }).write(to: URL(fileURLWithPath: path))
        } else {
            path = try h.recording(.wav, seconds: seconds)
        }
        if marker {
            // The emulator's test hook: this marker in the first 64 KiB ends the run in ERR_INTERNAL.
            let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
            try handle.seek(toOffset: 1000)
            handle.write(Data("HELIOS_EMULATOR_ERR_INTERNAL".utf8))
            try handle.close()
        }
        let r = try h.helios(["submit", path, "--json", "--skip-validation", "--poll-interval", "1s"] + RunHarness.userArgs)
        #expect(r.status == 1, "\(r.stderr)")
        let result = try #require(try r.jsonLines().first)
        #expect(result["status"] as? String == "COMPLETE_ERROR")
        let error = try #require(result["error"] as? [String: Any])
        #expect(error["code"] as? String == code)
        #expect(result["scores"] is NSNull)

        let text = try h.helios(["poll", result["runId"] as! String])
        #expect(text.status == 1)
        #expect(text.stdout.contains(code))
        #expect(text.stdout.contains("action"))
    }

    /// A recording with no speech: refused locally (exit 3), and if forced, ERR_TRANSCRIPTION_FAILED.
    @Test func noSpeechIsCaughtBeforeSendingOrFailsTranscription() throws {
        let h = try RunHarness()
        let tone = try TestRecordings.write(.wav, seconds: 12, signal: .tone(hertz: 220), to: h.dir, name: "tone.wav")
        let local = try h.helios(["submit", tone] + RunHarness.userArgs)
        #expect(local.status == 3)
        #expect(local.stderr.contains("NO_SPEECH"))
        #expect(try h.emulator.log().filter { $0.route != nil }.isEmpty)
        let forced = try h.helios(["submit", tone, "--skip-validation", "--json", "--poll-interval", "1s"] + RunHarness.userArgs)
        #expect(forced.status == 1)
        let error = try #require(try forced.jsonLines().first?["error"] as? [String: Any])
        #expect(error["code"] as? String == "ERR_TRANSCRIPTION_FAILED")
    }

    /// helios opens libcurl only when it first talks to a server (Sources/CCurl). When that fails
    /// nothing has been sent: a plain "could not connect" error, and no run left to wonder about.
    @Test func withoutLibcurlNothingIsSentAndNoRunMayExist() throws {
        let h = try RunHarness()
        let fake = h.dir + "/no-curl"
        try FileManager.default.createDirectory(atPath: fake, withIntermediateDirectories: true)
        try Data("not a shared library".utf8).write(to: URL(fileURLWithPath: fake + "/libcurl.so.4"))
        let env = ["LD_LIBRARY_PATH": fake]
        let r = try h.helios(["submit", try h.recording()] + RunHarness.userArgs, env: env)
        #expect(r.status == 6, "\(r.stderr)")
        #expect(r.stderr.contains("libcurl could not be loaded"), "\(r.stderr)")
        #expect(!r.stderr.contains("may exist"), "\(r.stderr)")
        #expect(try h.emulator.log().filter { $0.route != nil }.isEmpty)
        #expect(try h.journal().last.map { $0.state != .creating && $0.state != .createUnconfirmed } ?? true)
        // Validation needs no libcurl; the version report says why it is missing.
        #expect(try h.helios(["validate", try h.recording()], env: env).status == 0)
        let version = try h.helios(["version", "--verbose"], env: env)
        #expect(version.stdout.contains("libcurl:    not loaded: "), "\(version.stdout)")
    }

    @Test func localRejectionSendsNothingAndExits3() throws {
        let h = try RunHarness()
        let path = try h.recording(.wav, seconds: 4)
        let r = try h.helios(["submit", path] + RunHarness.userArgs)
        #expect(r.status == 3)
        #expect(r.stdout.isEmpty)
        #expect(r.stderr.contains("TOO_SHORT"))
        #expect(try h.emulator.log().filter { $0.route != nil }.isEmpty)
    }

    @Test(arguments: [[], ["--fault", "auth:403"]])
    func badKeyExits4(faults: [String]) throws {
        let h = try RunHarness(emulatorArguments: faults)
        let r = try h.helios(["submit", try h.recording()] + RunHarness.userArgs, env: ["THYMIA_API_KEY": "wrong-key"])
        #expect(r.status == 4)
        #expect(r.stdout.isEmpty)
        #expect(r.stderr.contains("refused the key"))
    }

    @Test func missingKeySaysHowToProvideOne() throws {
        let h = try RunHarness()
        let r = try CommandRunner.helios(["submit", try h.recording()] + RunHarness.userArgs,
                                         environment: ["THYMIA_BASE_URL": h.emulator.baseURL, "HELIOS_STATE_DIR": h.state])
        #expect(r.status == 4)
        #expect(r.stderr.contains("THYMIA_API_KEY") && r.stderr.contains("--api-key-file") && r.stderr.contains("--api-key-stdin"))
        #expect(try h.emulator.log().filter { $0.route != nil }.isEmpty)
    }

    @Test func keyFromFileAndFromStdin() throws {
        let h = try RunHarness()
        let keyFile = h.dir + "/key"
        try (RunHarness.key + "\n").write(toFile: keyFile, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: keyFile)
        let path = try h.recording()
        let fromFile = try h.helios(["upload", path, "--api-key-file", keyFile] + RunHarness.userArgs, env: ["THYMIA_API_KEY": ""])
        #expect(fromFile.status == 0, "\(fromFile.stderr)")
        #expect(fromFile.stderr.contains("readable by other users"))
        // Another recording: the first is uploaded and unfinished, so a plain upload would refuse it.
        let fromStdin = try h.helios(["upload", try h.recording(seconds: 13), "--api-key-stdin"] + RunHarness.userArgs, env: ["THYMIA_API_KEY": ""],
                                     stdin: RunHarness.key + "\n")
        #expect(fromStdin.status == 0, "\(fromStdin.stderr)")
        #expect(RunID.isValid(fromStdin.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
    }

    @Test func refusedRequestExits5WithTheAPIsReasons() throws {
        let h = try RunHarness()
        let r = try h.helios(["submit", try h.recording(), "--language", "xx-XX"] + RunHarness.userArgs)
        #expect(r.status == 5)
        #expect(r.stderr.contains("HTTP 422"))
        #expect(r.stderr.contains("language"))
        #expect(r.stderr.contains("en-GB"))
    }

    @Test func unknownRunExits5() throws {
        let h = try RunHarness()
        let r = try h.helios(["poll", "3f2b8c1e-6a4d-4e7b-9c0a-1d2e3f4a5b6c", "--json"])
        #expect(r.status == 5)
        #expect(r.stdout.isEmpty)
        let error = try #require((try JSONSerialization.jsonObject(with: Data(r.stderr.utf8)) as? [String: Any])?["error"] as? [String: Any])
        #expect(error["exitCode"] as? Int == 5)
        #expect(error["runId"] as? String == "3f2b8c1e-6a4d-4e7b-9c0a-1d2e3f4a5b6c")
    }

    /// Transient failures are retried to success, on every route.
    @Test(arguments: [
        ["--fault", "status:create:503:2"],
        ["--fault", "status:get:500:2"],
        ["--fault", "status:upload:502:2"],
        ["--fault", "status:get:429:2", "--fault", "retry-after:1"],
        ["--fault", "drop:get:1"],
    ])
    func transientFailuresAreRetried(faults: [String]) throws {
        let h = try RunHarness(emulatorArguments: faults)
        let r = try h.helios(["submit", try h.recording(), "--json", "--poll-interval", "1s"] + RunHarness.userArgs)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("retrying"))
        #expect(try h.emulator.runs().count == 1, "a retried create must not make a second run")
    }

    @Test func persistentServerFailureExits6() throws {
        let h = try RunHarness(emulatorArguments: ["--fault", "status:create:500"])
        let r = try h.helios(["submit", try h.recording()] + RunHarness.userArgs)
        #expect(r.status == 6)
        #expect(r.stderr.contains("HTTP 500"))
        // A 500 may mean the server acted: the POST is sent once, never blindly again.
        #expect(try h.emulator.log().filter { $0.route == "create" }.count == 1)
    }

    @Test func persistentUnavailableGetExits6AfterRetries() throws {
        let h = try RunHarness(emulatorArguments: ["--fault", "status:get:503"])
        let r = try h.helios(["submit", try h.recording(), "--poll-interval", "1s"] + RunHarness.userArgs)
        #expect(r.status == 6)
        #expect(try h.emulator.log().filter { $0.route == "get" }.count == 5)
        let id = try #require(try h.journal().last?.runId)
        #expect(r.stderr.contains(id))
    }

    @Test(arguments: ["create", "get"])
    func malformedJSONExits6(route: String) throws {
        let h = try RunHarness(emulatorArguments: ["--fault", "malformed:\(route)"])
        let r = try h.helios(["submit", try h.recording(), "--poll-interval", "1s"] + RunHarness.userArgs)
        #expect(r.status == 6)
        #expect(r.stderr.contains("malformed JSON"))
        let errors = r.stderr.split(separator: "\n").filter { $0.hasPrefix("error: ") }
        #expect(errors.count == 1 && errors[0].contains("malformed JSON"))
    }

    @Test func expiredUploadURLGetsOneFreshRun() throws {
        let h = try RunHarness(emulatorArguments: ["--fault", "expired-upload:1"])
        let r = try h.helios(["submit", try h.recording(), "--json", "--poll-interval", "1s"] + RunHarness.userArgs)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("expired"))
        let runs = try h.emulator.runs()
        #expect(runs.count == 2)
        let journal = try Journal(path: h.state + "/runs.jsonl").latest()
        #expect(journal.map(\.status) == ["ABANDONED", "COMPLETE_OK"])
        #expect(try r.jsonLines().first?["runId"] as? String == journal[1].runId)
    }

    @Test func timeoutExits7AndPollResumes() throws {
        let h = try RunHarness(processingTime: "4s")
        let r = try h.helios(["submit", try h.recording(), "--timeout", "1s", "--poll-interval", "1s"] + RunHarness.userArgs)
        #expect(r.status == 7)
        let id = try #require(try h.journal().last?.runId)
        #expect(r.stderr.contains("helios poll \(id)"))
        #expect(r.stdout.isEmpty)
        let resumed = try h.helios(["poll", id, "--json", "--poll-interval", "1s"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try resumed.jsonLines().first?["status"] as? String == "COMPLETE_OK")
        #expect(try h.journal().last?.status == "COMPLETE_OK")
    }

    @Test func uploadPipesIntoPoll() throws {
        let h = try RunHarness()
        let a = try h.recording(.wav, name: "a.wav"), b = try h.recording(.flac, name: "b.flac")
        let up = try h.helios(["upload", a, b] + RunHarness.userArgs)
        #expect(up.status == 0, "\(up.stderr)")
        let ids = up.stdout.split(separator: "\n").map(String.init)
        #expect(ids.count == 2 && ids.allSatisfy(RunID.isValid))
        let polled = try h.helios(["poll", "-", "--json", "--poll-interval", "1s"], stdin: up.stdout)
        #expect(polled.status == 0, "\(polled.stderr)")
        let results = try polled.jsonLines()
        #expect(Set(results.compactMap { $0["runId"] as? String }) == Set(ids))
        #expect(results.allSatisfy { $0["file"] is NSNull && $0["audio"] is NSNull })
        let status = try h.helios(["status", ids[0]])
        #expect(status.status == 0 && status.stdout.contains("COMPLETE_OK"))
    }

    /// A run made by someone else (curl here), for `upload --url`: its id and upload URL.
    private func runCreatedElsewhere(_ h: RunHarness) throws -> (id: String, url: String) {
        let create = try CommandRunner.run("/usr/bin/curl", [
            "-sS", "-H", "x-api-key: \(RunHarness.key)", "-H", "Content-Type: application/json",
            "-d", #"{"user":{"userLabel":"x","dateOfBirth":"1990-01-01","birthSex":"MALE"},"language":"en-GB"}"#,
            h.emulator.baseURL + "/v1/models/mental-wellness",
        ])
        let created = try #require(try JSONSerialization.jsonObject(with: Data(create.stdout.utf8)) as? [String: Any])
        return (try #require(created["id"] as? String), try #require(created["recordingUploadUrl"] as? String))
    }

    @Test func uploadToAPresignedURLCreatesNothing() throws {
        let h = try RunHarness()
        let path = try h.recording()
        let (_, url) = try runCreatedElsewhere(h)
        let r = try h.helios(["upload", path, "--url", url, "--json"], env: ["THYMIA_API_KEY": ""])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(!r.stderr.contains("signature="))
        #expect(try h.uploads().first?.bodySha256 == (try sha256(path)))
        #expect(try h.emulator.runs().count == 1)
        // The speech pass ran beside the upload, and its figure is in the result.
        let audio = try #require(try r.jsonLines().first?["audio"] as? [String: Any])
        #expect((audio["speechSeconds"] as? Double ?? 0) > 6.5)
    }

    /// The speech pass runs while the file uploads; a recording it rejects is cut off before its
    /// last bytes, so the run is left without a recording and its URL still takes a good one.
    @Test func uploadToURLWithholdsWhatTheSpeechCheckRejects() throws {
        let h = try RunHarness()
        // 30 s of 48 kHz stereo noise: 5.8 MB, many reads of curl's buffer, and no speech.
        let noise = try TestRecordings.write(.wav, seconds: 30, sampleRate: 48_000, channels: 2, signal: .noise, to: h.dir, name: "noise.wav")
        let (id, url) = try runCreatedElsewhere(h)
        let r = try h.helios(["upload", noise, "--url", url], env: ["THYMIA_API_KEY": ""])
        #expect(r.status == 3, "\(r.stderr)")
        #expect(r.stderr.contains("NO_SPEECH"))
        #expect(r.stderr.contains("stopped short of its last bytes"))
        // The storage side sees the body end short of its Content-Length and keeps nothing.
        let size = try #require(try FileManager.default.attributesOfItem(atPath: noise)[.size] as? Int)
        var cut: EmulatorLogEntry?
        for _ in 0..<100 where cut == nil {
            cut = try h.uploads().first
            if cut == nil { Thread.sleep(forTimeInterval: 0.05) }
        }
        let entry = try #require(cut)
        #expect(entry.status == 400 && entry.bodyBytes > 0 && entry.bodyBytes < size, "\(entry)")
        let run = try #require(try h.emulator.runs().first { $0.id == id })
        #expect(run.uploadSha256 == nil && run.status == "CREATED")

        let good = try h.recording()
        let retry = try h.helios(["upload", good, "--url", url], env: ["THYMIA_API_KEY": ""])
        #expect(retry.status == 0, "\(retry.stderr)")
        #expect(try h.emulator.runs().first { $0.id == id }?.uploadSha256 == (try sha256(good)))
    }

    /// The header pass's warnings print before the upload, the speech pass's during it: each once.
    @Test func uploadToURLPrintsTheWarningsOfBothPassesOnce() throws {
        let h = try RunHarness()
        let voice = TestRecordings.samples(.speechLike, seconds: 12, sampleRate: 16_000).map { Float($0) / 32_768 }
        // WAV named .mp3 (EXTENSION_MISMATCH, from the header) with a silent second channel
        // (SILENT_CHANNEL, from the speech pass).
        let path = try TestRecordings.write(.wav, channels: [voice, [Float](repeating: 0, count: voice.count)], sampleRate: 16_000,
                                            to: h.dir, name: "one-sided.mp3")
        let (_, url) = try runCreatedElsewhere(h)
        let r = try h.helios(["upload", path, "--url", url, "--json"], env: ["THYMIA_API_KEY": "", "NO_COLOR": "1"])
        #expect(r.status == 0, "\(r.stderr)")
        // Under --json every stderr line is a JSON object; the warnings carry their file and code.
        let warnings = try r.stderrJSONLines().filter { $0["event"] as? String == "warning" }
        #expect(warnings.map { $0["code"] as? String } == ["EXTENSION_MISMATCH", "SILENT_CHANNEL"], "\(r.stderr)")
        #expect(warnings.allSatisfy { $0["file"] as? String == path }, "\(r.stderr)")
        // And in text, the same warnings as lines.
        let text = try h.helios(["validate", path], env: ["NO_COLOR": "1"])
        #expect(text.stdout.contains("EXTENSION_MISMATCH"), "\(text.stdout)")
        let result = try #require(try r.jsonLines().first)
        #expect((result["warnings"] as? [String])?.count == 2, "\(result)")
    }

    @Test func uploadToURLWithSkipValidationSendsWhatTheSpeechCheckRejects() throws {
        let h = try RunHarness()
        let noise = try TestRecordings.write(.wav, seconds: 30, sampleRate: 48_000, channels: 2, signal: .noise, to: h.dir, name: "noise.wav")
        let (id, url) = try runCreatedElsewhere(h)
        let r = try h.helios(["upload", noise, "--url", url, "--skip-validation"], env: ["THYMIA_API_KEY": "", "NO_COLOR": "1"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("warning: \(noise): sent despite the local check (--skip-validation): NO_SPEECH"))
        #expect(try h.emulator.runs().first { $0.id == id }?.uploadSha256 == (try sha256(noise)))
    }

    /// A recording the quick header pass rejects is never sent at all.
    @Test func uploadToURLSendsNothingWhenTheHeaderCheckFails() throws {
        let h = try RunHarness()
        let short = try h.recording(seconds: 4)
        let (id, url) = try runCreatedElsewhere(h)
        let r = try h.helios(["upload", short, "--url", url], env: ["THYMIA_API_KEY": ""])
        #expect(r.status == 3)
        #expect(r.stderr.contains("TOO_SHORT") && r.stderr.contains("nothing was sent"))
        #expect(try h.uploads().isEmpty)
        #expect(try h.emulator.runs().first { $0.id == id }?.status == "CREATED")
    }

    @Test func severalFilesGiveOneJSONLineEach() throws {
        let h = try RunHarness()
        let files = [try h.recording(.wav, name: "one.wav"), try h.recording(.ogg, name: "two.ogg")]
        let r = try h.helios(["submit"] + files + ["--json", "--poll-interval", "1s"] + RunHarness.userArgs)
        #expect(r.status == 0)
        let lines = try r.jsonLines()
        // Results print as each run finishes, so their order is the finishing order.
        #expect(Set(lines.compactMap { $0["file"] as? String }) == Set(files))
        // A batch prints no line per routine step (the runs are in the results); its summary, yes.
        #expect(!r.stderr.contains("created run"), "\(r.stderr)")
        #expect(r.stderr.contains("2 recordings: 2 COMPLETE_OK"))
    }

    /// Under -v every exchange is logged, with the key and the upload URL's query redacted.
    @Test func verboseNeverShowsTheKeyOrTheSignature() throws {
        let h = try RunHarness()
        let r = try h.helios(["submit", try h.recording(), "-v", "--poll-interval", "1s"] + RunHarness.userArgs)
        #expect(r.status == 0)
        #expect(r.stderr.contains("> POST"))
        #expect(r.stderr.contains("> PUT"))
        #expect(r.stderr.contains("[redacted]"))
        let journal = try String(contentsOfFile: h.state + "/runs.jsonl", encoding: .utf8)
        for text in [r.stdout, r.stderr, journal] {
            #expect(!text.contains(RunHarness.key))
            #expect(!text.contains("signature="))
            #expect(text.range(of: "[0-9a-f]{64}", options: .regularExpression).map { text[$0] } == nil || !text.contains("expires="))
        }
    }

    @Test func quietPrintsOnlyResults() throws {
        let h = try RunHarness()
        let r = try h.helios(["submit", try h.recording(), "-q", "--poll-interval", "1s"] + RunHarness.userArgs)
        #expect(r.status == 0)
        #expect(r.stderr.isEmpty)
        #expect(r.stdout.contains("COMPLETE_OK"))
    }

    @Test func plainHTTPToARemoteHostIsRefused() throws {
        let r = try CommandRunner.helios(["status", "3f2b8c1e-6a4d-4e7b-9c0a-1d2e3f4a5b6c"],
                                         environment: ["THYMIA_BASE_URL": "http://api.example.com", "THYMIA_API_KEY": "k"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("THYMIA_BASE_URL"))
    }

    @Test func journalIsPrivateAndListed() throws {
        let h = try RunHarness()
        let path = try h.recording()
        let r = try h.helios(["submit", path, "-u", "p-42", "--poll-interval", "1s"] + RunHarness.userArgs)
        #expect(r.status == 0)
        let mode = try FileManager.default.attributesOfItem(atPath: h.state + "/runs.jsonl")[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let statuses = try h.journal().map(\.status)
        #expect(statuses.first == "CREATING")
        #expect(statuses.contains("CREATED") && statuses.contains("UPLOADING") && statuses.contains("UPLOADED"))
        #expect(statuses.last == "COMPLETE_OK")
        let runs = try h.helios(["runs"])
        #expect(runs.stdout.contains("p-42") && runs.stdout.contains("COMPLETE_OK"))
        let pending = try h.helios(["runs", "--pending", "--json"])
        #expect(pending.stdout.isEmpty)
    }
}

import Foundation
import HeliosCore
import HeliosTestSupport
import Testing

/// `helios validate` through the built binary: one verdict per file, stdout/stderr/exit apart.
@Suite(.blocking) struct ValidateCLITests {
    let dir = TestPaths.makeTempDir("helios-validate")

    @Test(arguments: [TestRecordings.Format.wav, .flac, .ogg, .opus, .mp3])
    func acceptedFormatsPassWithExit0(format: TestRecordings.Format) throws {
        let path = try TestRecordings.write(format, seconds: 12, to: dir)
        let r = try CommandRunner.helios(["validate", path])
        #expect(r.status == 0, "\(r.stdout)")
        #expect(r.stderr.isEmpty)
        let expected = format == .opus ? "opus" : format.rawValue
        let line = try #require(r.stdout.split(separator: "\n").first.map(String.init))
        #expect(line.hasPrefix("\(path): ok (\(expected), 12.0s, speech "))
        #expect(line.hasSuffix("s, 16000 Hz, mono)"))
        #expect(r.stdout.hasSuffix("\n") && r.stdout.split(separator: "\n").count == 1)
    }

    @Test(arguments: ["ok-12s.webm", "live-12s.webm", "ok-12s.m4a", "fragmented-12s.mp4"])
    func containerFixturesPass(name: String) throws {
        let r = try CommandRunner.helios(["validate", "--json", TestPaths.fixture(name)])
        #expect(r.status == 0)
        let report = try #require(try r.jsonLines().first)
        #expect(report["ok"] as? Bool == true)
        let audio = try #require(report["audio"] as? [String: Any])
        let seconds = try #require(audio["durationSeconds"] as? Double)
        #expect(abs(seconds - 12) < 0.2)
    }

    /// Every rejection reason, with its code, and exit 3 when any file fails.
    @Test func mixedFilesGiveOneLineEachAndExit3() throws {
        let good = try TestRecordings.write(.wav, seconds: 12, to: dir, name: "good.wav")
        let short = try TestRecordings.write(.flac, seconds: 4, to: dir, name: "short.flac")
        let long = try TestRecordings.write(.wav, seconds: 181, sampleRate: 8000, to: dir, name: "long.wav")
        let aiff = try TestRecordings.write(.aiff, seconds: 12, to: dir, name: "take.aiff")
        let empty = dir + "/empty.wav"
        _ = FileManager.default.createFile(atPath: empty, contents: Data())
        let text = dir + "/notes.wav"
        try "not audio at all\n".write(toFile: text, atomically: true, encoding: .utf8)
        let missing = dir + "/missing.wav"
        let r = try CommandRunner.helios(["validate", "--json", good, short, long, aiff, empty, text, missing, dir])
        #expect(r.status == 3)
        #expect(r.stderr.isEmpty)
        let reports = try r.jsonLines()
        #expect(reports.count == 8)
        let codes = reports.map { (($0["problems"] as? [[String: Any]]) ?? []).compactMap { $0["code"] as? String } }
        #expect(codes == [[], ["TOO_SHORT"], ["TOO_LONG"], ["INVALID_FORMAT"], ["EMPTY"], ["INVALID_FORMAT"], ["NOT_FOUND"], ["NOT_A_FILE"]])
        #expect(reports.map { $0["ok"] as? Bool } == [true, false, false, false, false, false, false, false])
        #expect(reports.allSatisfy { $0["schemaVersion"] as? Int == 1 })
        let longWarnings = (reports[2]["warnings"] as? [[String: Any]])?.compactMap { $0["code"] as? String }
        #expect(longWarnings == ["LOW_SAMPLE_RATE"])
    }

    /// libmpg123 prints its diagnostics on stderr unless it is told to be quiet, which libsndfile
    /// does not do: a damaged MP3 must still leave helios' stderr to helios.
    @Test func damagedMP3PrintsNothingOfLibmpg123() throws {
        let path = try TestRecordings.write(.mp3, seconds: 12, to: dir, name: "intact.mp3")
        let intact = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        var garbled = intact
        var state: UInt64 = 7
        for i in intact.count / 3..<intact.count / 3 + 256 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            garbled[i] = UInt8(truncatingIfNeeded: state >> 33)
        }
        let garbledPath = dir + "/garbled.mp3", cutPath = dir + "/cut.mp3"
        try Data(garbled).write(to: URL(fileURLWithPath: garbledPath))
        // Cut after the Xing header's count, which libmpg123 warns about on opening.
        try Data(intact.prefix(intact.count * 2 / 3)).write(to: URL(fileURLWithPath: cutPath))
        let r = try CommandRunner.helios(["validate", "-q", "--json", garbledPath, cutPath])
        #expect(r.stderr.isEmpty, "\(r.stderr)")
        let reports = try r.jsonLines()
        #expect(reports.count == 2)
        #expect((reports.first?["audio"] as? [String: Any])?["format"] as? String == "mp3")
    }

    /// A WAV file holding MP3 frames (format tag 0x55) and damaged: libsndfile would hand it to
    /// libmpg123 unquieted, so helios reads its header only and leaves speech unknown.
    @Test func damagedMP3InsideAWAVPrintsNothingOfLibmpg123() throws {
        let mp3 = [UInt8](try Data(contentsOf: URL(fileURLWithPath: try TestRecordings.write(.mp3, seconds: 12, to: dir, name: "inner.mp3"))))
        var frames = mp3
        for i in stride(from: frames.count / 3, to: frames.count / 3 + 400, by: 3) { frames[i] ^= 0x5A }
        func le(_ v: Int, _ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        // MPEGLAYER3WAVEFORMAT: tag 0x55, mono, 16 kHz, 4000 B/s, align 1, 0 bits, 12 extra bytes.
        let fmt = le(0x55, 2) + le(1, 2) + le(16_000, 4) + le(4_000, 4) + le(1, 2) + le(0, 2) + le(12, 2)
            + le(1, 2) + le(2, 4) + le(144, 2) + le(1, 2) + le(0, 2)
        let fact = le(12 * 16_000, 4)
        var body = Array("WAVE".utf8) + Array("fmt ".utf8) + le(fmt.count, 4) + fmt
        body += Array("fact".utf8) + le(4, 4) + fact + Array("data".utf8) + le(frames.count, 4) + frames
        if frames.count % 2 == 1 { body.append(0) }
        let path = dir + "/mp3-in.wav"
        try Data(Array("RIFF".utf8) + le(body.count, 4) + body).write(to: URL(fileURLWithPath: path))
        let r = try CommandRunner.helios(["validate", "-q", "--json", path])
        #expect(r.stderr.isEmpty, "\(r.stderr)")
        let report = try #require(try r.jsonLines().first)
        #expect((report["audio"] as? [String: Any])?["format"] as? String == "wav")
    }

    @Test func extensionThatLiesIsAWarningNotARejection() throws {
        let path = try TestRecordings.write(.wav, seconds: 12, to: dir, name: "really-a-wav.mp3")
        let r = try CommandRunner.helios(["validate", path])
        #expect(r.status == 0)
        #expect(r.stdout.contains("ok (wav"))
        #expect(r.stdout.contains("warning EXTENSION_MISMATCH"))
    }

    @Test func textVerdictNamesTheFigure() throws {
        let path = try TestRecordings.write(.wav, seconds: 4, to: dir, name: "short.wav")
        let r = try CommandRunner.helios(["validate", path])
        #expect(r.status == 3)
        #expect(r.stdout.hasPrefix("\(path): rejected, TOO_SHORT: recording is 4.0s long; thymia needs at least 10 seconds (wav, 4.0s, 16000 Hz, mono)\n"))
    }

    @Test func colourOnlyWhenAskedOrOnATerminalWithoutNoColor() throws {
        let path = try TestRecordings.write(.wav, seconds: 12, to: dir, name: "c.wav")
        let plain = try CommandRunner.helios(["validate", path])
        #expect(!plain.stdout.contains("\u{1B}["))
        let forced = try CommandRunner.helios(["validate", path, "--color", "always"])
        #expect(forced.stdout.contains("\u{1B}[32mok\u{1B}[0m"))
        let never = try CommandRunner.helios(["validate", path, "--color=never"], environment: ["NO_COLOR": ""])
        #expect(!never.stdout.contains("\u{1B}["))
    }
}

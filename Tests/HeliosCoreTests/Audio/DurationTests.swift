import Foundation
import HeliosTestSupport
import Testing
@testable import HeliosCore

struct Generated: CustomStringConvertible, Sendable {
    var format: TestRecordings.Format
    var seconds: Double
    var rate: Int
    var channels: Int
    var description: String { "\(format) \(seconds)s \(rate)Hz \(channels)ch" }
}

private let generated: [Generated] = [
    Generated(format: .wav, seconds: 12, rate: 16_000, channels: 1),
    Generated(format: .wav, seconds: 25.5, rate: 48_000, channels: 2),
    Generated(format: .wav, seconds: 11, rate: 8000, channels: 1),
    Generated(format: .wav, seconds: 30, rate: 44_100, channels: 6),
    Generated(format: .rf64, seconds: 12.5, rate: 48_000, channels: 2),
    Generated(format: .flac, seconds: 20, rate: 16_000, channels: 1),
    Generated(format: .flac, seconds: 12.25, rate: 44_100, channels: 2),
    Generated(format: .ogg, seconds: 15, rate: 22_050, channels: 1),
    Generated(format: .ogg, seconds: 12, rate: 48_000, channels: 2),
    Generated(format: .opus, seconds: 13, rate: 48_000, channels: 1),
    Generated(format: .opus, seconds: 12, rate: 16_000, channels: 2),
    Generated(format: .mp3, seconds: 14, rate: 44_100, channels: 2),
    Generated(format: .mp3, seconds: 12, rate: 16_000, channels: 1),
    Generated(format: .mp3, seconds: 11, rate: 8000, channels: 1),
]

@Test(.blocking, arguments: generated)
func generatedDurationsRateAndChannels(g: Generated) throws {
    let path = try TestRecordings.write(g.format, seconds: g.seconds, sampleRate: g.rate, channels: g.channels, to: AudioScratch.dir)
    let report = RecordingValidator.validate(path: path)
    let audio = try #require(report.audio)
    #expect(abs((audio.durationSeconds ?? -1) - g.seconds) <= 0.05, "\(audio)")
    #expect(audio.sampleRate == g.rate)
    #expect(audio.channels == g.channels)
    #expect(audio.bytes == Int64((try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? -1))
    #expect(audio.sha256 == nil)
    // The synthetic voice is about 95% speech in every format libsndfile decodes.
    let speech = try #require(audio.speechSeconds)
    #expect(speech >= g.seconds * 0.85 && speech <= g.seconds, "\(speech)")
    #expect(report.problems.isEmpty, "\(report.problems)")
    #expect(report.warnings.map(\.code) == (g.rate < 16_000 ? ["LOW_SAMPLE_RATE"] : []))
}

@Test(.blocking, arguments: Fixture.all)
func fixtureDurationsMatchFFprobe(fixture: Fixture) throws {
    let report = RecordingValidator.validate(path: TestPaths.fixture(fixture.name))
    let audio = try #require(report.audio)
    #expect(audio.format == fixture.format)
    #expect(abs((audio.durationSeconds ?? -1) - fixture.seconds) <= 0.05, "\(audio)")
    #expect(audio.sampleRate == fixture.sampleRate)
    #expect(audio.channels == fixture.channels)
    #expect(report.problems.map(\.code) == (fixture.verdict.map { [$0] } ?? []))
}

@Test(.blocking, arguments: [
    (TestRecordings.Format.wav, 9.5, "TOO_SHORT"), (.wav, 10.5, nil), (.flac, 179.5, nil), (.flac, 181, "TOO_LONG"),
    (.opus, 4, "TOO_SHORT"), (.ogg, 185, "TOO_LONG"), (.mp3, 5, "TOO_SHORT"),
] as [(TestRecordings.Format, Double, String?)])
func durationVerdicts(format: TestRecordings.Format, seconds: Double, verdict: String?) throws {
    let path = try TestRecordings.write(format, seconds: seconds, sampleRate: 16_000, to: AudioScratch.dir)
    let report = RecordingValidator.validate(path: path)
    #expect(report.problems.map(\.code) == (verdict.map { [$0] } ?? []))
    #expect(report.ok == (verdict == nil))
}

@Test(.blocking) func verdictMessagesNameTheFigure() throws {
    let long = try TestRecordings.write(.wav, seconds: 192.4, sampleRate: 8000, signal: .silence, to: AudioScratch.dir)
    #expect(RecordingValidator.validate(path: long).problems.first?.message
        == "recording is 3m12.4s long; thymia accepts at most 3 minutes")
    let short = try TestRecordings.write(.wav, seconds: 4, to: AudioScratch.dir)
    #expect(RecordingValidator.validate(path: short).problems.first?.message
        == "recording is 4.0s long; thymia needs at least 10 seconds")
}

@Test(.blocking, arguments: [(192.4, "3m12.4s"), (4, "4.0s"), (59.96, "1m0.0s"), (180, "3m0.0s"), (0.04, "0.0s")])
func durationFormatting(seconds: Double, text: String) {
    #expect(RecordingValidator.formatDuration(seconds) == text)
}

@Test(.blocking, arguments: [
    (TestRecordings.Format.wav, "speech.mp3", true), (.wav, "speech.WAV", false), (.wav, "speech", false),
    (.opus, "speech.ogg", false), (.ogg, "speech.opus", false), (.flac, "speech.wav", true), (.mp3, "speech.m4a", true),
] as [(TestRecordings.Format, String, Bool)])
func extensionMismatchIsAWarningOnly(format: TestRecordings.Format, name: String, warns: Bool) throws {
    let path = try TestRecordings.write(format, seconds: 12, to: AudioScratch.dir, name: "\(format)-\(name)")
    let report = RecordingValidator.validate(path: path)
    #expect(report.ok)
    #expect(report.warnings.map(\.code) == (warns ? ["EXTENSION_MISMATCH"] : []))
}

@Test(.blocking) func validateJSONHasTheContractShape() throws {
    let path = try TestRecordings.write(.wav, seconds: 12, to: AudioScratch.dir, name: "shape.wav")
    let data = try JSONEncoder().encode(RecordingValidator.validate(path: path, displayName: "shape.wav"))
    let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    #expect(Set(object.keys) == ["schemaVersion", "file", "ok", "audio", "problems", "warnings"])
    let audio = try #require(object["audio"] as? [String: Any])
    #expect(audio["format"] as? String == "wav")
    #expect(audio["sha256"] is NSNull)
}

@Test(.blocking, arguments: [("north-wind-and-the-sun.flac", 20.96, nil), ("too-short.flac", 3.83, "TOO_SHORT")] as [(String, Double, String?)])
func bundledSamplesGetTheirDocumentedVerdicts(name: String, seconds: Double, verdict: String?) throws {
    let path = TestPaths.packageRoot.appendingPathComponent("samples").appendingPathComponent(name).path
    let report = RecordingValidator.validate(path: path)
    let audio = try #require(report.audio)
    #expect(audio.format == .flac && audio.sampleRate == 16_000 && audio.channels == 1)
    #expect(abs((audio.durationSeconds ?? 0) - seconds) <= 0.05)
    #expect(report.problems.map(\.code) == (verdict.map { [$0] } ?? []))
}

/// The speech figure exists only when the speech pass decoded every sample: a recording whose
/// length the header pass already rejects (a 48-minute WAV among them) must not be decoded.
@Test(.blocking, arguments: [
    (TestRecordings.Format.wav, 181.0, "TOO_LONG"), (.flac, 4, "TOO_SHORT"), (.mp3, 5, "TOO_SHORT"),
] as [(TestRecordings.Format, Double, String)])
func aRecordingTheHeaderRejectsIsNotDecoded(format: TestRecordings.Format, seconds: Double, verdict: String) throws {
    let path = try TestRecordings.write(format, seconds: seconds, sampleRate: 16_000, to: AudioScratch.dir, name: "rejected-\(seconds).\(format)")
    let staged = RecordingValidator.stage(path: path)
    #expect(staged.header.problems.map(\.code) == [verdict])
    let report = staged.finish()
    #expect(report == staged.header, "the speech pass ran: \(report)")
    #expect(report.audio?.speechSeconds == nil)
}

/// A copy of a WebM fixture whose `Info/Duration` (an 8-byte float of timecode ticks, 1 ms each)
/// says `seconds` instead; its blocks are untouched.
private func webm(_ fixture: String, statingDuration seconds: Double) throws -> String {
    var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture(fixture))))
    let head = Array(bytes.prefix(4096))
    let at = try #require((0..<head.count - 11).first { head[$0] == 0x44 && head[$0 + 1] == 0x89 && head[$0 + 2] == 0x88 })
    bytes.replaceSubrange(at + 3..<at + 11, with: withUnsafeBytes(of: (seconds * 1000).bitPattern.bigEndian, Array.init))
    return AudioScratch.write("stated-\(seconds)-\(fixture)", bytes)
}

/// A Duration header that contradicts the blocks loses: 12 s of speech stated as 1 ms is not
/// TOO_SHORT, and 200 s stated as 12 s is not let through. One that agrees within half a second
/// is kept (it is exact where the blocks' last frame is an estimate).
@Test(.blocking, arguments: [
    ("ok-12s.webm", 0.001, 12.02, nil), ("ok-12s.webm", 1000, 12.02, nil), ("ok-12s.webm", 12.3, 12.3, nil),
    ("long-200s.webm", 12, 200.0, "TOO_LONG"),
] as [(String, Double, Double, String?)])
func webmDurationThatContradictsTheBlocksLoses(fixture: String, stated: Double, measured: Double, verdict: String?) throws {
    let report = RecordingValidator.validate(path: try webm(fixture, statingDuration: stated))
    let duration = try #require(report.audio?.durationSeconds)
    #expect(abs(duration - measured) <= 0.05, "Duration says \(stated) s, measured \(duration) s")
    #expect(report.problems.map(\.code) == (verdict.map { [$0] } ?? []), "\(report)")
}

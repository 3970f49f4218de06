import Foundation
import HeliosTestSupport
import Testing
@testable import HeliosCore

private func sniff(_ path: String) throws -> AudioFormat {
    guard let file = FileBytes(path: path) else { throw AudioProblem.notReadable(path) }
    return try FormatSniffer.sniff(file).format
}

private let expectedFormat: [TestRecordings.Format: AudioFormat] = [
    .wav: .wav, .rf64: .wav, .flac: .flac, .ogg: .ogg, .opus: .opus, .mp3: .mp3,
]

@Test(.blocking, arguments: [TestRecordings.Format.wav, .rf64, .flac, .ogg, .opus, .mp3])
func generatedRecordingsAreSniffedByContent(format: TestRecordings.Format) throws {
    // A neutral extension: the content alone must decide.
    let path = try TestRecordings.write(format, seconds: 1, sampleRate: 48_000, to: AudioScratch.dir, name: "sniff-\(format).bin")
    #expect(try sniff(path) == expectedFormat[format])
    if format == .rf64 {
        let magic = try FileHandle(forReadingFrom: URL(fileURLWithPath: path)).read(upToCount: 4)
        #expect(magic == Data("RF64".utf8))
    }
}

@Test(.blocking, arguments: Fixture.all)
func fixturesAreSniffedByContent(fixture: Fixture) throws {
    #expect(try sniff(TestPaths.fixture(fixture.name)) == fixture.format)
}

@Test(.blocking) func mp3AfterID3TagAndFlacAfterID3Tag() throws {
    let mp3 = try TestRecordings.write(.mp3, seconds: 1, to: AudioScratch.dir, name: "plain.mp3")
    let flac = try TestRecordings.write(.flac, seconds: 1, to: AudioScratch.dir, name: "plain.flac")
    // ID3v2.4 header with a 100-byte (syncsafe) body of padding.
    let id3: [UInt8] = Array("ID3".utf8) + [4, 0, 0, 0, 0, 0, 100] + [UInt8](repeating: 0, count: 100)
    for (source, format) in [(mp3, AudioFormat.mp3), (flac, .flac)] {
        let tagged = AudioScratch.write("tagged-\(format).bin", id3 + [UInt8](try Data(contentsOf: URL(fileURLWithPath: source))))
        #expect(try sniff(tagged) == format)
    }
}

/// Byte strings that must not be taken for audio, with the phrase their message must contain.
@Test(.blocking, arguments: [
    ("text", Array("hello, this is a plain text file\nwith two lines\n".utf8), "text"),
    ("zeros", [UInt8](repeating: 0, count: 2000), "not a recognised"),
    ("matroska", [0x1A, 0x45, 0xDF, 0xA3, 0x8B, 0x42, 0x82, 0x88] + Array("matroska".utf8), "Matroska"),
    ("ogg-flac", Array("OggS".utf8) + [UInt8](repeating: 0, count: 22) + [1, 0x13, 0x7F] + Array("FLAC".utf8) + [0, 0, 0], "FLAC"),
    ("quicktime", [0, 0, 0, 20] + Array("ftypqt  ".utf8) + [0, 0, 0, 0] + Array("qt  ".utf8), "QuickTime"),
    ("riff-avi", Array("RIFF".utf8) + [0, 0, 0, 0] + Array("AVI LIST".utf8), "not WAVE"),
    ("lone-sync", [0xFF, 0xFB, 0x90, 0x00] + [UInt8](repeating: 0x55, count: 2000), "not a recognised"),
    ("id3-only", Array("ID3".utf8) + [3, 0, 0, 0, 0, 0, 10] + [UInt8](repeating: 0, count: 10), "ID3"),
] as [(String, [UInt8], String)])
func nonAudioBytesAreInvalidFormat(name: String, bytes: [UInt8], phrase: String) {
    let report = RecordingValidator.validate(path: AudioScratch.write("reject-\(name).wav", bytes))
    #expect(report.problems.map(\.code) == ["INVALID_FORMAT"])
    #expect(report.problems.first?.message.contains(phrase) == true, "\(report.problems)")
    #expect(!report.ok)
}

@Test(.blocking) func randomBytesAreInvalidFormat() {
    var generator = SystemRandomNumberGenerator()
    for i in 0..<20 {
        let bytes = (0..<4096).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let report = RecordingValidator.validate(path: AudioScratch.write("random-\(i).mp3", bytes))
        #expect(report.problems.map(\.code) == ["INVALID_FORMAT"], "\(bytes.prefix(16))")
    }
}

@Test(.blocking) func aiffWrittenByLibsndfileIsRejected() throws {
    let path = try TestRecordings.write(.aiff, seconds: 12, to: AudioScratch.dir)
    let report = RecordingValidator.validate(path: path)
    #expect(report.problems.map(\.code) == ["INVALID_FORMAT"])
    #expect(report.problems.first?.message.contains("AIFF") == true)
}

@Test(.blocking) func fileSystemProblemsHaveTheirOwnCodes() {
    let empty = AudioScratch.write("empty.wav", [])
    #expect(RecordingValidator.validate(path: empty).problems.map(\.code) == ["EMPTY"])
    #expect(RecordingValidator.validate(path: AudioScratch.dir + "/no-such.wav").problems.map(\.code) == ["NOT_FOUND"])
    #expect(RecordingValidator.validate(path: AudioScratch.dir).problems.map(\.code) == ["NOT_A_FILE"])
    #expect(RecordingValidator.validate(path: "/dev/null").problems.map(\.code) == ["NOT_A_FILE"])
    let missing = RecordingValidator.validate(path: AudioScratch.dir + "/no-such.wav", displayName: "shown.wav")
    #expect(missing.file == "shown.wav")
    #expect(missing.audio == nil)
}

@Test(.blocking, .enabled(if: getuid() != 0, "root can read any file"))
func unreadableFileIsNotReadable() throws {
    let path = try TestRecordings.write(.wav, seconds: 1, to: AudioScratch.dir, name: "locked.wav")
    chmod(path, 0)
    #expect(RecordingValidator.validate(path: path).problems.map(\.code) == ["NOT_READABLE"])
}

import Foundation
import HeliosTestSupport
import Testing
@testable import HeliosCore

private let acceptableRejections: Set<String> = ["INVALID_FORMAT", "TOO_SHORT", "EMPTY"]

/// Checks one cut-down copy: rejected with a format/length code, or measured no longer than the
/// whole file. Anything else (a crash, a hang, a longer duration) fails the test.
private func checkTruncations(of path: String, wholeSeconds: Double) throws {
    let size = Int((try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0)
    for cut in Set([10, 100, 1000, 4000, size / 2, size - 1].filter { $0 > 0 && $0 < size }).sorted() {
        let copy = try TestRecordings.truncatedCopy(of: path, bytes: cut, to: AudioScratch.dir)
        let report = RecordingValidator.validate(path: copy)
        if let duration = report.audio?.durationSeconds {
            #expect(duration >= 0 && duration <= wholeSeconds + 0.15, "cut at \(cut): \(duration) s")
        } else {
            #expect(!report.problems.isEmpty && report.problems.allSatisfy { acceptableRejections.contains($0.code) },
                "cut at \(cut): \(report.problems)")
        }
        if cut <= 100 { #expect(!report.ok, "cut at \(cut) bytes cannot be a whole recording") }
        try? FileManager.default.removeItem(atPath: copy)
    }
}

// Limits catch a hang, not slowness: the CLI tests in the same process hold the test pool's
// threads while they wait for their child processes, so a case may wait long for a thread.
@Test(.blocking, .timeLimit(.minutes(10)), arguments: [TestRecordings.Format.wav, .flac, .ogg, .opus, .mp3])
func truncatedGeneratedRecordingsAreHandled(format: TestRecordings.Format) throws {
    let path = try TestRecordings.write(format, seconds: 12, sampleRate: 16_000, signal: .noise, to: AudioScratch.dir, name: "whole-\(format).\(format)")
    try checkTruncations(of: path, wholeSeconds: 12)
}

@Test(.blocking, .timeLimit(.minutes(10)), arguments: Fixture.all)
func truncatedFixturesAreHandled(fixture: Fixture) throws {
    try checkTruncations(of: TestPaths.fixture(fixture.name), wholeSeconds: fixture.seconds)
}

@Test(.blocking) func truncatedFlacIsRejectedNotTrustedFromItsHeader() throws {
    // FLAC's STREAMINFO states the full length; only decoding the tail shows it is missing.
    let path = try TestRecordings.write(.flac, seconds: 30, signal: .noise, to: AudioScratch.dir, name: "whole-30.flac")
    let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
    let cut = try TestRecordings.truncatedCopy(of: path, bytes: size / 2, to: AudioScratch.dir)
    #expect(RecordingValidator.validate(path: cut).problems.map(\.code) == ["INVALID_FORMAT"])
}

// MARK: - Hostile containers

private func box(_ type: String, _ payload: [UInt8], size: UInt32? = nil) -> [UInt8] {
    let length = size ?? UInt32(8 + payload.count)
    return withUnsafeBytes(of: length.bigEndian, Array.init) + Array(type.utf8) + payload
}

private let ftyp = box("ftyp", Array("M4A ".utf8) + [0, 0, 0, 0] + Array("isomM4A ".utf8))

@Test(.blocking, arguments: [
    ("largesize-too-small", ftyp + [0, 0, 0, 1] + Array("moov".utf8) + [0, 0, 0, 0, 0, 0, 0, 4]),
    ("size-below-header", ftyp + [0, 0, 0, 3] + Array("moov".utf8)),
    ("huge-moov", ftyp + box("moov", box("mvhd", [0, 0, 0]), size: 0xFFFF_FFF0)),
    ("size-zero-moov-without-audio", ftyp + box("moov", [], size: 0) + box("mvhd", [UInt8](repeating: 0, count: 100))),
    ("child-overruns-parent", ftyp + box("moov", box("trak", [], size: 4000))),
    ("huge-largesize", ftyp + [0, 0, 0, 1] + Array("moov".utf8) + [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xF0] + box("trak", [])),
    ("deep-nesting", ftyp + box("moov", (0..<200).reduce(box("hdlr", [UInt8](repeating: 0, count: 8) + Array("soun".utf8))) { inner, _ in box("trak", inner) })),
    ("no-moov", ftyp + box("mdat", [UInt8](repeating: 0, count: 500))),
    ("trun-count-overruns", ftyp + box("moov", box("trak", box("tkhd", [0, 0, 0, 0] + [UInt8](repeating: 0, count: 8) + [0, 0, 0, 1])
        + box("mdia", box("mdhd", [UInt8](repeating: 0, count: 12) + [0, 0, 0x1F, 0x40, 0, 0, 0, 0]) + box("hdlr", [UInt8](repeating: 0, count: 8) + Array("soun".utf8))))
        + box("mvex", box("trex", [0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 4, 0])))
        + box("moof", box("traf", box("tfhd", [0, 0, 0, 0, 0, 0, 0, 1]) + box("trun", [0, 0, 1, 0, 0xFF, 0xFF, 0xFF, 0xFF])))),
] as [(String, [UInt8])])
func hostileMP4IsInvalidFormat(name: String, bytes: [UInt8]) {
    let report = RecordingValidator.validate(path: AudioScratch.write("hostile-\(name).m4a", bytes))
    #expect(report.problems.map(\.code) == ["INVALID_FORMAT"], "\(report)")
    #expect(report.audio?.format == .mp4)
}

private func element(_ id: [UInt8], _ payload: [UInt8]) -> [UInt8] {
    id + [0x01] + withUnsafeBytes(of: UInt64(payload.count).bigEndian) { Array($0.dropFirst()) } + payload
}
private let unknownSize: [UInt8] = [0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
private let ebmlHeader = element([0x1A, 0x45, 0xDF, 0xA3], element([0x42, 0x82], Array("webm".utf8)))
private let segmentID: [UInt8] = [0x18, 0x53, 0x80, 0x67]
private let clusterID: [UInt8] = [0x1F, 0x43, 0xB6, 0x75]
private func tracksElement(codec: String?) -> [UInt8] {
    element([0x16, 0x54, 0xAE, 0x6B], element([0xAE],
        element([0xD7], [1]) + element([0x83], [2]) + (codec.map { element([0x86], Array($0.utf8)) } ?? [])
        + element([0xE1], element([0xB5], withUnsafeBytes(of: Double(48_000).bitPattern.bigEndian, Array.init)) + element([0x9F], [1]))))
}
private let tracks = tracksElement(codec: nil)

/// A live recording as browsers write it: unknown-size Segment and Clusters, no Duration, 20 ms
/// blocks (each a tiny mono Opus packet). `lacedBlock`: that block (counted over the whole file)
/// says it is Xiph-laced.
private func liveWebM(
    clusters: [(timecode: UInt16, blocks: Int)], codec: String? = nil, lacedBlock: Int? = nil, badPackets: Range<Int> = 0..<0
) -> [UInt8] {
    var bytes = ebmlHeader + segmentID + unknownSize
    bytes += element([0x15, 0x49, 0xA9, 0x66], element([0x2A, 0xD7, 0xB1], [0x0F, 0x42, 0x40]))
    bytes += tracksElement(codec: codec)
    var count = 0
    for cluster in clusters {
        bytes += clusterID + unknownSize + element([0xE7], withUnsafeBytes(of: cluster.timecode.bigEndian, Array.init))
        for i in 0..<cluster.blocks {
            let t = UInt16(i * 20)
            let flags: UInt8 = count == lacedBlock ? 0x82 : 0x80
            // A bad packet: code 3 (several frames) with a frame count of 0, which libopus refuses.
            let packet: [UInt8] = badPackets.contains(count) ? [0x7B, 0x00] : [0x78, 0xFF, 0xFE]
            bytes += element([0xA3], [0x81, UInt8(t >> 8), UInt8(t & 0xFF), flags] + packet)
            count += 1
        }
    }
    return bytes
}

/// The WebM speech pass runs on a second thread: what stops it there (a laced block, which
/// neither browsers nor ffmpeg write for audio) must come back as the reason, not be lost.
@Test(.blocking) func aLacedWebMBlockMidStreamMakesSpeechUnknownWithItsReason() throws {
    let plain = RecordingValidator.validate(path: AudioScratch.write("live-opus.webm", liveWebM(clusters: [(0, 500), (10_000, 100)], codec: "A_OPUS")))
    #expect(plain.audio?.speechSeconds != nil, "\(plain)")
    let laced = RecordingValidator.validate(path: AudioScratch.write("live-laced.webm", liveWebM(clusters: [(0, 500), (10_000, 100)], codec: "A_OPUS", lacedBlock: 450)))
    #expect(laced.audio?.speechSeconds == nil)
    #expect(laced.warnings == [ValidationFinding(code: "SPEECH_UNKNOWN", message: "speech not estimated: the WebM file laces its Opus blocks")], "\(laced)")
}

/// Packets libopus refuses are counted once each, whichever segment decodes them (the priming
/// before a segment decodes some twice): over a tenth of them makes the estimate unknown, as in
/// the single stream; a few are passed over.
@Test(.blocking) func undecodableWebMPacketsAreCountedOnceAcrossSegments() throws {
    let many = AudioScratch.write("live-bad.webm", liveWebM(clusters: [(0, 500), (10_000, 100)], codec: "A_OPUS", badPackets: 100..<600))
    let message = "speech not estimated: 500 of 600 Opus packets could not be decoded"
    let report = RecordingValidator.validate(path: many)
    #expect(report.audio?.speechSeconds == nil)
    #expect(report.warnings == [ValidationFinding(code: "SPEECH_UNKNOWN", message: message)], "\(report)")
    let file = try #require(FileBytes(path: many))
    for segmentPackets in [nil, 16, 256] as [Int?] {
        let error = #expect(throws: SpeechNotEstimated.self) { try OpusWebMDecoder.analyse(file, segmentPackets: segmentPackets) }
        #expect(error?.note == message, "\(String(describing: segmentPackets)) packets a segment")
    }
    let few = AudioScratch.write("live-few-bad.webm", liveWebM(clusters: [(0, 500), (10_000, 100)], codec: "A_OPUS", badPackets: 70..<100))
    #expect(RecordingValidator.validate(path: few).audio?.speechSeconds != nil)
}

@Test(.blocking) func liveWebMWithUnknownSizesIsMeasuredFromItsLastBlock() throws {
    // Blocks at 0…9.98 s and 10…11.98 s; one 20 ms frame after the last: 12.0 s.
    let path = AudioScratch.write("live-synthetic.webm", liveWebM(clusters: [(0, 500), (10_000, 100)]))
    let report = RecordingValidator.validate(path: path)
    let audio = try #require(report.audio)
    #expect(abs((audio.durationSeconds ?? 0) - 12.0) < 0.001, "\(audio)")
    #expect(audio.sampleRate == 48_000 && audio.channels == 1)
    #expect(report.ok)
}

@Test(.blocking, arguments: [
    ("info-overruns", ebmlHeader + segmentID + unknownSize + element([0x15, 0x49, 0xA9, 0x66], []).dropLast(0) + [0x15, 0x49, 0xA9, 0x66, 0x08, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF]),
    ("unknown-size-child", ebmlHeader + segmentID + unknownSize + [0x15, 0x49, 0xA9, 0x66] + unknownSize + [0xEC, 0x80]),
    ("nested-unknown-sizes", ebmlHeader + segmentID + unknownSize + clusterID + unknownSize + [0xA0] + unknownSize + [0xA0] + unknownSize),
    ("zero-vint", ebmlHeader + segmentID + unknownSize + [0x00, 0x00, 0x00, 0x00]),
    ("no-segment", ebmlHeader + [0xEC, 0x80]),
    ("blocks-without-timecode", ebmlHeader + segmentID + unknownSize + tracks + clusterID + unknownSize + element([0xA3], [0x81, 0, 0, 0x80])),
    ("tracks-huge", ebmlHeader + segmentID + unknownSize + [0x16, 0x54, 0xAE, 0x6B, 0x08, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]),
    // A Duration but no Tracks: nothing says there is audio.
    ("no-tracks", ebmlHeader + segmentID + unknownSize + element([0x15, 0x49, 0xA9, 0x66], element([0x44, 0x89], withUnsafeBytes(of: Double(12_000).bitPattern.bigEndian, Array.init)))),
] as [(String, [UInt8])])
func hostileWebMIsInvalidFormat(name: String, bytes: [UInt8]) {
    let report = RecordingValidator.validate(path: AudioScratch.write("hostile-\(name).webm", bytes))
    #expect(report.problems.map(\.code) == ["INVALID_FORMAT"], "\(report)")
    #expect(report.audio?.format == .webm)
}

@Test(.blocking) func videoOnlyWebMIsInvalidFormat() {
    // VP8 video and no audio track (Tests/Fixtures/README.md); MP4 and Ogg without audio are rejected too.
    let report = RecordingValidator.validate(path: TestPaths.fixture("video-only-12s.webm"))
    #expect(report.problems == [ValidationFinding(code: "INVALID_FORMAT", message: "WebM file has no audio track (video only)")], "\(report)")
    #expect(report.audio?.format == .webm)
}

@Test(.blocking) func mp3FrameHeaderRejectsReservedFields() {
    #expect(MP3FrameHeader([0xFF, 0xFB, 0x90, 0x64]) != nil)  // MPEG-1 layer III 128 kbps 44.1 kHz
    #expect(MP3FrameHeader([0xFF, 0xFB, 0xF0, 0x64]) == nil)  // bitrate index 15
    #expect(MP3FrameHeader([0xFF, 0xFB, 0x9C, 0x64]) == nil)  // sample-rate index 3
    #expect(MP3FrameHeader([0xFF, 0xEB, 0x90, 0x64]) == nil)  // reserved MPEG version
    #expect(MP3FrameHeader([0xFF, 0xFD, 0x90, 0x64]) == nil)  // layer II
    #expect(MP3FrameHeader([0xFF, 0xFB, 0x90, 0x66]) == nil)  // reserved emphasis
    #expect(MP3FrameHeader([0xFF, 0xFB, 0x90, 0x64])?.frameLength == 417)
}

@Test(.blocking) func mp3WithJunkBetweenFramesCountsOnlyRealFrames() throws {
    // 12 s of MP3, then 200 KB of zeros and an ID3v1-style tail: the scan skips the junk quickly.
    let path = try TestRecordings.write(.mp3, seconds: 12, to: AudioScratch.dir, name: "junk-source.mp3")
    let audio = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    let junked = AudioScratch.write("junk.mp3", audio + [UInt8](repeating: 0, count: 200_000) + Array("TAG".utf8) + [UInt8](repeating: 0x20, count: 125))
    let report = RecordingValidator.validate(path: junked)
    #expect(abs((report.audio?.durationSeconds ?? 0) - 12) <= 0.1, "\(report)")
    #expect(report.ok)
}

/// Deterministic byte corruption of every fixture and generated format: whatever the damage,
/// the header pass returns a report (no crash, no hang) with a finite, non-negative duration if
/// any. Only the header pass: decoding is covered by `corruptedAudioIsDecodedWithoutCrashing`.
@Test(.blocking, .timeLimit(.minutes(10)))
func corruptedRecordingsNeverCrash() throws {
    var sources = Fixture.all.map { TestPaths.fixture($0.name) }
    for format in [TestRecordings.Format.wav, .flac, .ogg, .opus, .mp3] {
        sources.append(try TestRecordings.write(format, seconds: 11, signal: .noise, to: AudioScratch.dir, name: "fuzz-\(format).\(format)"))
    }
    var random = SeededBytes(seed: 42)
    for source in sources {
        let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: source)))
        for round in 0..<60 {
            var bytes = original
            // Headers live at the start: aim most damage there, some anywhere.
            for _ in 0..<(1 + random.next() % 8) {
                let span = round % 2 == 0 ? min(bytes.count, 512) : bytes.count
                bytes[Int(random.next() % UInt64(span))] = UInt8(truncatingIfNeeded: random.next())
            }
            let path = AudioScratch.write("fuzz-\(round)-" + (source as NSString).lastPathComponent, bytes)
            let report = RecordingValidator.stage(path: path).header
            if let d = report.audio?.durationSeconds { #expect(d.isFinite && d >= 0, "\(path): \(d)") }
            if report.ok {
                let d = report.audio?.durationSeconds ?? -1
                #expect(d >= RecordingValidator.minimumSeconds && d <= RecordingValidator.maximumSeconds, "\(path): ok with \(d) s")
            }
            try? FileManager.default.removeItem(atPath: path)
        }
    }
}

/// The speech pass over damaged audio: bytes garbled in the middle of each decodable format,
/// where the header pass does not look. Every decoder must come back with a figure no longer
/// than the recording, or say why it has none.
/// (9 s in a debug build; 20 to 40 times that under ThreadSanitizer, hence the 10-minute hang guard.)
@Test(.blocking, .timeLimit(.minutes(10)))
func corruptedAudioIsDecodedWithoutCrashing() throws {
    var sources = [TestPaths.fixture("ok-12s.webm"), TestPaths.fixture("live-12s.webm")]
    for format in [TestRecordings.Format.wav, .flac, .ogg, .opus, .mp3] {
        sources.append(try TestRecordings.write(format, seconds: 12, to: AudioScratch.dir, name: "garble-\(format).\(format)"))
    }
    var random = SeededBytes(seed: 7)
    for source in sources {
        let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: source)))
        for round in 0..<3 {
            var bytes = original
            let start = bytes.count / 3 + round * bytes.count / 9
            for i in start..<min(bytes.count, start + 64 << round) { bytes[i] = UInt8(truncatingIfNeeded: random.next()) }
            let path = AudioScratch.write("garbled-\(round)-" + (source as NSString).lastPathComponent, bytes)
            let staged = RecordingValidator.stage(path: path)
            let report = staged.finish()
            if staged.header.ok {
                let duration = try #require(report.audio?.durationSeconds)
                if let speech = report.audio?.speechSeconds {
                    #expect(speech >= 0 && speech <= duration + 0.1, "\(path): \(speech) s of speech in \(duration) s")
                } else {
                    #expect(report.warnings.contains { $0.code == "SPEECH_UNKNOWN" }, "\(path): no figure and no reason: \(report)")
                }
            } else {
                #expect(report == staged.header)
            }
            try? FileManager.default.removeItem(atPath: path)
        }
    }
}

private struct SeededBytes {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return state >> 33
    }
}

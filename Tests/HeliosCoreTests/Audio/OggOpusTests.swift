import Foundation
import HeliosTestSupport
import Testing
@testable import HeliosCore

// Ogg Opus has its own speech pass (OggOpusDecoder: OggPackets + libopus at 16 kHz); libsndfile
// still gives its duration.

@Test(.blocking, arguments: [1, 2])
func oggOpusGetsTheSameEstimateAsItsSourceFLAC(channels: Int) throws {
    let source = try TestRecordings.read(SpeechClip.all[2].path)
    let first = Array(source.samples.prefix(12 * source.sampleRate))
    let layout = [[Float]](repeating: first, count: channels)
    let flac = try TestRecordings.write(.flac, channels: layout, sampleRate: source.sampleRate, to: AudioScratch.dir, name: "ogg-source-\(channels).flac")
    let opus = try TestRecordings.write(.opus, channels: layout, sampleRate: source.sampleRate, to: AudioScratch.dir, name: "ogg-source-\(channels).opus")
    let expected = try #require(RecordingValidator.validate(path: flac).audio?.speechSeconds)
    let report = RecordingValidator.validate(path: opus)
    #expect(report.audio?.format == .opus)
    let speech = try #require(report.audio?.speechSeconds, "\(report)")
    #expect(abs(speech - expected) <= 0.5, "Opus \(speech) s, FLAC \(expected) s")
    #expect(report.ok && report.warnings.isEmpty, "\(report)")
    // The pre-skip is dropped and the whole stream decoded: the pass covers the stated length.
    var partial: AudioInfo?
    let staged = try AudioProbe.stage(path: opus, partial: &partial)
    guard case .measured(let analysis) = staged.speech() else { Issue.record("\(staged.speech())"); return }
    #expect(abs(analysis.analysedSeconds - staged.duration) < 0.03, "decoded \(analysis.analysedSeconds) s of \(staged.duration) s")
}

// MARK: - Pages and packets, built by hand

/// One Ogg page: `segments` are the lacing values' payloads in order (a segment of 255 bytes
/// continues a packet), with a correct CRC unless `badCRC`.
private func page(serial: UInt32, sequence: UInt32, flags: UInt8, lacing: [UInt8], body: [UInt8], badCRC: Bool = false) -> [UInt8] {
    var header: [UInt8] = Array("OggS".utf8) + [0, flags] + [UInt8](repeating: 0, count: 8)
    for v in [serial, sequence, 0] { header += withUnsafeBytes(of: v.littleEndian, Array.init) }
    header.append(UInt8(lacing.count))
    var crc = OggPackets.crc(header, lacing, body)
    if badCRC { crc ^= 1 }
    header.replaceSubrange(22..<26, with: withUnsafeBytes(of: crc.littleEndian, Array.init))
    return header + lacing + body
}

private let opusHead: [UInt8] = Array("OpusHead".utf8) + [1, 1, 0x38, 0x01, 0x80, 0x3E, 0, 0, 0, 0, 0]

private func packets(_ bytes: [UInt8]) -> (packets: [[UInt8]], damaged: Bool) {
    let reader = OggPackets(FileBytes(bytes: bytes), head: Array("OpusHead".utf8))
    var out: [[UInt8]] = []
    while let p = reader.next() { out.append(p) }
    return (out, reader.damaged)
}

@Test(.blocking) func oggPacketsAreReassembledAcrossPagesAndOtherStreamsSkipped() {
    let big = (0..<600).map { UInt8(truncatingIfNeeded: $0 * 7) }
    let small: [UInt8] = [1, 2, 3]
    var file: [UInt8] = []
    // Another stream opens first (a skeleton or video track): never ours.
    file += page(serial: 9, sequence: 0, flags: 0x02, lacing: [9], body: Array("OtherHead".utf8))
    file += page(serial: 5, sequence: 0, flags: 0x02, lacing: [UInt8(opusHead.count)], body: opusHead)
    // 600 bytes: 255 + 255 on this page, 90 on the next, which continues it and adds 3 more.
    file += page(serial: 5, sequence: 1, flags: 0, lacing: [255, 255], body: Array(big[0..<510]))
    file += page(serial: 9, sequence: 1, flags: 0, lacing: [4], body: [9, 9, 9, 9])
    file += page(serial: 5, sequence: 2, flags: 0x01 | 0x04, lacing: [90, 3], body: Array(big[510...]) + small)
    // After the end of stream, nothing more is read.
    file += page(serial: 5, sequence: 3, flags: 0, lacing: [1], body: [7])
    let read = packets(file)
    #expect(read.packets == [opusHead, big, small])
    #expect(!read.damaged)
}

@Test(.blocking) func aPageThatFailsItsCRCEndsTheStreamThere() {
    var file = page(serial: 5, sequence: 0, flags: 0x02, lacing: [UInt8(opusHead.count)], body: opusHead)
    file += page(serial: 5, sequence: 1, flags: 0, lacing: [2], body: [1, 1])
    file += page(serial: 5, sequence: 2, flags: 0, lacing: [2], body: [2, 2], badCRC: true)
    file += page(serial: 5, sequence: 3, flags: 0, lacing: [2], body: [3, 3])
    let read = packets(file)
    #expect(read.packets == [opusHead, [1, 1]])
    #expect(read.damaged)
    // Not a page at all where one should start: the same.
    let junk = packets(Array(file.prefix(opusHead.count + 28)) + Array("junk, not a page at all.....".utf8))
    #expect(junk.packets == [opusHead])
    #expect(junk.damaged)
}

@Test(.blocking) func aContinuedPacketWithoutItsStartIsDroppedNotJoined() {
    var file = page(serial: 5, sequence: 0, flags: 0x02, lacing: [UInt8(opusHead.count)], body: opusHead)
    // The first audio page claims to continue a packet this reader never saw the start of.
    file += page(serial: 5, sequence: 1, flags: 0x01, lacing: [4, 2], body: [8, 8, 8, 8, 5, 5])
    #expect(packets(file).packets == [opusHead, [5, 5]])
}

@Test(.blocking) func anOversizedPacketIsDamageNotMemory() {
    var file = page(serial: 5, sequence: 0, flags: 0x02, lacing: [UInt8(opusHead.count)], body: opusHead)
    let chunk = [UInt8](repeating: 0xAA, count: 255 * 255)
    var sequence: UInt32 = 1
    // Pages of 255 segments of 255 bytes, never ending the packet, past the 1 MiB bound.
    while Int(sequence - 1) * chunk.count <= OggPackets.maximumPacket {
        file += page(serial: 5, sequence: sequence, flags: sequence == 1 ? 0 : 0x01, lacing: [UInt8](repeating: 255, count: 255), body: chunk)
        sequence += 1
    }
    let read = packets(file)
    #expect(read.packets == [opusHead])
    #expect(read.damaged)
}

@Test(.blocking, arguments: [
    (6, 1, "speech not estimated for Opus with 6 channels"),
    (2, 255, "speech not estimated for Opus with channel mapping family 255"),
    (0, 0, "speech not estimated for Opus with 0 channels"),
])
func oggOpusLayoutsItCannotDecodeAreSpeechUnknown(channels: UInt8, family: UInt8, note: String) {
    var head: [UInt8] = Array("OpusHead".utf8) + [1, channels, 0x38, 0x01, 0x80, 0x3E, 0, 0, 0, 0, family]
    if family != 0 { head += [2, 1] + (0..<channels).map { $0 } }
    var file = page(serial: 5, sequence: 0, flags: 0x02, lacing: [UInt8(head.count)], body: head)
    file += page(serial: 5, sequence: 1, flags: 0x04, lacing: [1], body: [0xFC])
    #expect(throws: SpeechNotEstimated.self) { try OggOpusDecoder.analyse(FileBytes(bytes: file)) }
    do {
        _ = try OggOpusDecoder.analyse(FileBytes(bytes: file))
    } catch let error as SpeechNotEstimated {
        #expect(error.note == note)
    } catch {
        Issue.record("\(error)")
    }
}

@Test(.blocking) func familyOneWrittenLonghandIsDecodedAsFamilyZero() throws {
    // One stream, two coupled channels in order: what some encoders write for plain stereo.
    let head: [UInt8] = Array("OpusHead".utf8) + [1, 2, 0x38, 0x01, 0x80, 0x3E, 0, 0, 0, 0, 1, 1, 1, 0, 1]
    let header = try OggOpusDecoder.Header(head)
    #expect(header.channels == 2 && header.preSkip == 312)
}

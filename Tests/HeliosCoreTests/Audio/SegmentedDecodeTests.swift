import Foundation
import HeliosTestSupport
import Testing
@testable import HeliosCore

/// AAC is decoded in segments on two threads, each running the front over its own (level figures,
/// downmix, resampling); these check that the result is the single stream's.
@Suite(.blocking) struct SegmentedDecodeTests {
    /// The same figures. Without PNS everything from the analysis-rate samples is exactly the
    /// single stream's (so the samples were); the sums of squares agree to their adding order
    /// (per block in Floats). A PNS band is random noise from the decoder's own generator, which
    /// a segment's fresh decoder starts anew: such a file agrees in its estimate, and its levels
    /// to within the noise.
    private func expectSame(_ got: SpeechAnalysis, _ expected: SpeechAnalysis, pns: Bool = false, _ what: String) {
        #expect(got.speechSeconds == expected.speechSeconds, "\(what): \(got.speechSeconds) s, single stream \(expected.speechSeconds) s")
        #expect(got.analysedSeconds == expected.analysedSeconds, "\(what)")
        #expect(got.leadingSilence == expected.leadingSilence && got.trailingSilence == expected.trailingSilence, "\(what)")
        let level = (got.speechLevel ?? 0) - (expected.speechLevel ?? 0)
        #expect((got.speechLevel == nil) == (expected.speechLevel == nil) && (pns ? abs(level) < 0.01 : level == 0), "\(what): level differs by \(level) dB")
        #expect(got.channelPeaks.count == expected.channelPeaks.count, "\(what)")
        for (a, b) in zip(got.channelPeaks, expected.channelPeaks) {
            #expect(pns ? abs(a - b) <= 0.05 * b : a == b, "\(what): peak \(a), single stream \(b)")
        }
        #expect(pns ? abs(got.clippedShare - expected.clippedShare) < 1e-4 : got.clippedShare == expected.clippedShare, "\(what)")
        #expect(got.channelRMS.count == expected.channelRMS.count, "\(what)")
        for (a, b) in zip(got.channelRMS, expected.channelRMS) {
            #expect(abs(a - b) < (pns ? 0.01 : 0.001), "\(what): RMS \(a) dB, single stream \(b) dB")
        }
    }

    /// AAC-LC at 44.1 kHz (resampled 441/80 to 8 kHz; speech without PNS), at 16 kHz (with PNS)
    /// and at 8 kHz (not resampled; a tone and silence), moov before and after the data,
    /// fragmented; segments of the default size (a single one for the 4 s file), of 8
    /// frames, of one; two workers, one and three.
    @Test(arguments: [("lc-44k-6s.m4a", false), ("ok-12s.m4a", true), ("fragmented-12s.mp4", true), ("short-4s.m4a", false), ("long-200s.m4a", false)])
    func segmentsGiveTheSingleStreamsAnalysis(name: String, pns: Bool) throws {
        let (file, config, units) = try aacFrames(name)
        let single = try AACDecoder.analyse(file, config: config, units: units, segmentFrames: nil, workers: 1)
        #expect(single.analysedSeconds > 3.5, "\(single.analysedSeconds) s decoded")
        let cases: [(segment: Int, workers: Int)] = name == "long-200s.m4a"
            ? [(AACDecoder.segmentFrames, 2), (8, 2)]
            : [(AACDecoder.segmentFrames, 2), (8, 2), (1, 2), (8, 1), (5, 3)]
        for (segment, workers) in cases {
            let split = try AACDecoder.analyse(file, config: config, units: units, segmentFrames: segment, workers: workers)
            expectSame(split, single, pns: pns, "\(name), \(segment) frames a segment, \(workers) workers")
        }
    }

    /// For AAC-LC a frame's output depends on that frame and the one before only: a fresh decoder
    /// that has decoded the frame before a segment (and given nothing for it, as FAAD2 does for
    /// its first) gives the segment's frames exactly as the single stream does. (short-4s.m4a has
    /// no PNS, whose noise would differ.)
    @Test func oneFrameBeforeASegmentPrimesFAAD2Exactly() throws {
        let (file, config, units) = try aacFrames("short-4s.m4a")
        let whole = try #require(AACDecoder.FrameDecoder(file: file, config: config, units: units))
        var outputs: [[Float]] = []
        while whole.next < units.count {
            if case .samples(let s, _, _) = whole.decodeOne() { outputs.append(Array(s)) } else { outputs.append([]) }
        }
        #expect(outputs.count == units.count && outputs[0].isEmpty && !outputs[1].isEmpty)
        let part = try #require(AACDecoder.FrameDecoder(file: file, config: config, units: units))
        for start in [1, 2, 9, units.count / 2, units.count - 3] {
            #expect(part.restart(at: start - 1))
            guard case .none = part.decodeOne() else { Issue.record("a fresh decoder's first frame gave samples"); continue }
            for k in start..<min(units.count, start + 3) {
                guard case .samples(let s, _, _) = part.decodeOne() else { Issue.record("frame \(k) gave nothing"); continue }
                #expect(Array(s) == outputs[k], "frame \(k) after a restart at \(start - 1)")
            }
        }
    }

    /// The whole path `validate` takes (the default segments) agrees with the single stream.
    @Test func theDefaultPathIsSegmented() throws {
        let file = try #require(FileBytes(path: TestPaths.fixture("ok-12s.m4a")))
        let segmented = try AACDecoder.analyse(file)
        let single = try AACDecoder.analyse(#require(FileBytes(path: TestPaths.fixture("ok-12s.m4a"))), segmentFrames: nil)
        expectSame(segmented, single, pns: true, "default")
    }

    /// HE-AAC (the fixture's frames under a configuration that signals SBR, as in SpeechTests):
    /// SBR keeps state over several frames, so segments are primed with more of them and the
    /// estimate is the single stream's to within SBR's settling.
    @Test func heAACSegmentsGiveNearlyTheSingleStreamsAnalysis() throws {
        let (file, _, units) = try aacFrames("ok-12s.m4a")
        let sbr: [UInt8] = [0x2C, 0x0A, 0x88, 0x00]
        let single = try AACDecoder.analyse(file, config: sbr, units: units, segmentFrames: nil, workers: 1)
        for segment in [AACDecoder.segmentFrames, 16] {
            let split = try AACDecoder.analyse(file, config: sbr, units: units, segmentFrames: segment, workers: 2)
            #expect(split.analysedSeconds == single.analysedSeconds)
            #expect(abs(split.speechSeconds - single.speechSeconds) <= 0.1, "\(segment): \(split.speechSeconds) s, single stream \(single.speechSeconds) s")
            #expect(abs((split.speechLevel ?? 0) - (single.speechLevel ?? 0)) < 0.1)
        }
    }

    /// Damaged frames: each decode skips them and starts a fresh decoder, so the samples decoded
    /// are the same; the resampler's history before a segment can differ when the damage sits in
    /// the frames just before it, so the estimate is compared to within a frame.
    @Test(arguments: [8, 256])
    func damagedFramesCostTheSameInSegments(segment: Int) throws {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture("ok-12s.m4a"))))
        let (_, config, units) = try aacFrames("ok-12s.m4a")
        // Two mid-file, and (with short segments) the last frame before a segment and one inside it.
        let damaged = [units.count / 3, units.count / 2, segment - 1, segment + 3].filter { $0 < units.count }
        for (index, unit) in damaged.map({ units[$0] }).enumerated() {
            var state: UInt32 = 0x9E37_79B9 &+ UInt32(index)
            for i in Int(unit.offset)..<(Int(unit.offset) + unit.size) {
                state ^= state << 13; state ^= state >> 17; state ^= state << 5
                bytes[i] = UInt8(truncatingIfNeeded: state)
            }
        }
        let file = FileBytes(bytes: bytes)
        let single = try AACDecoder.analyse(file, config: config, units: units, segmentFrames: nil, workers: 1)
        let split = try AACDecoder.analyse(file, config: config, units: units, segmentFrames: segment, workers: 2)
        #expect(split.analysedSeconds == single.analysedSeconds, "\(split.analysedSeconds) s decoded, single stream \(single.analysedSeconds) s")
        #expect(abs(split.speechSeconds - single.speechSeconds) <= 0.033, "\(split.speechSeconds) s, single stream \(single.speechSeconds) s")
    }

    /// A file cut short: the frames past its end cannot be read, which ends the stream in the
    /// segment that meets them; later segments count for nothing.
    @Test func aTruncatedFileEndsWhereTheSingleStreamEnds() throws {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture("ok-12s.m4a"))))
        let (_, config, units) = try aacFrames("ok-12s.m4a")
        // ok-12s.m4a keeps its moov after the data: cut inside the data, the table still lists every frame.
        let cut = Int(units[units.count * 2 / 3].offset) + 5
        let file = FileBytes(bytes: Array(bytes[..<cut]))
        let single = try AACDecoder.analyse(file, config: config, units: units, segmentFrames: nil, workers: 1)
        #expect(single.analysedSeconds < 9, "\(single.analysedSeconds) s decoded")
        for segment in [8, 64] {
            let split = try AACDecoder.analyse(file, config: config, units: units, segmentFrames: segment, workers: 2)
            expectSame(split, single, pns: true, "cut, \(segment) frames a segment")
        }
    }
}

/// `SegmentedDecode` over a synthetic stream whose segments are not all the nominal size (as when
/// frames are skipped): a worker that went on from the nominal start has its segment's front run
/// again from the true one, so the analysis is the single stream's whatever the workers' timing.
@Suite(.blocking) struct SegmentedStartTests {
    /// A voice-like tone (harmonics of 140 Hz) gated on and off, over faint noise.
    private func signal(_ frames: Int, rate: Int, channels: Int) -> [Float] {
        var state: UInt32 = 0x1357_9BDF
        var out = [Float](repeating: 0, count: frames * channels)
        for i in 0..<frames {
            let t = Double(i) / Double(rate)
            let on = Int(t / 0.45) % 3 != 2
            var v = 0.0
            if on { for h in 1...12 { v += sin(2 * Double.pi * 140 * Double(h) * t) / Double(h) } }
            state ^= state << 13; state ^= state >> 17; state ^= state << 5
            let noise = Double(Int32(bitPattern: state)) / 2e11
            for c in 0..<channels { out[i * channels + c] = Float(0.2 * v * (c == 0 ? 1 : 0.7) + noise) }
        }
        return out
    }

    @Test(arguments: [(44_100, 1, true), (48_000, 2, true), (16_000, 1, true), (44_100, 1, false)])
    func segmentsOfOtherSizesGiveTheSingleStreamsAnalysis(rate: Int, channels: Int, alwaysNominal: Bool) throws {
        let nominal = rate * 3 / 2
        // Segments 2 and 5 came out short; the last is what is left.
        let sizes = [nominal, nominal, nominal - 1024, nominal, nominal, nominal - 1, nominal, nominal / 3]
        let frames = sizes.reduce(0, +)
        let input = signal(frames, rate: rate, channels: channels)
        var offsets = [0]
        for size in sizes { offsets.append(offsets.last! + size) }

        var single = try #require(SpeechEstimator(sampleRate: rate, channels: channels))
        // In blocks, as the decoders hand them over: a Float sum over the whole would round worse.
        for at in Swift.stride(from: 0, to: input.count, by: 8192 * channels) {
            input[at..<min(input.count, at + 8192 * channels)].withUnsafeBufferPointer { single.consume($0) }
        }
        let expected = single.finish()
        #expect(expected.speechSeconds > 5, "\(expected.speechSeconds) s of speech in the reference")

        for workers in [1, 2, 3] {
            let got = try #require(SegmentedDecode.speech(
                sampleRate: rate, channels: channels, segments: sizes.count, workers: workers, alwaysNominal: alwaysNominal,
                nominalStart: { $0 * nominal }
            ) { historyFrames in
                { k, history, samples in
                    let from = max(0, offsets[k] - historyFrames)
                    history = Array(input[(from * channels)..<(offsets[k] * channels)])
                    samples = Array(input[(offsets[k] * channels)..<(offsets[k + 1] * channels)])
                    return true
                }
            })
            let what = "\(rate) Hz, \(channels) channels, \(workers) workers"
            #expect(got.speechSeconds == expected.speechSeconds, "\(what): \(got.speechSeconds) s, single stream \(expected.speechSeconds) s")
            #expect(got.analysedSeconds == expected.analysedSeconds && got.leadingSilence == expected.leadingSilence, "\(what)")
            #expect(got.speechLevel == expected.speechLevel, "\(what)")
            #expect(got.channelPeaks == expected.channelPeaks && got.clippedShare == expected.clippedShare, "\(what)")
            for (a, b) in zip(got.channelRMS, expected.channelRMS) { #expect(abs(a - b) < 0.001, "\(what): RMS \(a), \(b)") }
        }
    }
}

/// WebM Opus is decoded in segments too, each by a fresh libopus decoder primed with 120 ms of
/// the packets before it. libopus carries a little state from packet to packet, so the samples
/// are the single stream's to within its settling, not bit for bit: the same length and speech
/// to within a frame or two per segment boundary, levels to within a few hundredths of a dB.
@Suite(.blocking) struct SegmentedOpusTests {
    @Test(arguments: ["ok-12s.webm", "live-12s.webm", "long-200s.webm"])
    func segmentsGiveTheSingleStreamsAnalysisWithinLibopusSettling(name: String) throws {
        let file = try #require(FileBytes(path: TestPaths.fixture(name)))
        let single = try OpusWebMDecoder.analyse(file, segmentPackets: nil)
        #expect(single.analysedSeconds > 10, "\(single.analysedSeconds) s decoded")
        let cases: [(packets: Int, workers: Int)] = name == "long-200s.webm"
            ? [(OpusWebMDecoder.segmentPackets, 2), (64, 2)]
            : [(OpusWebMDecoder.segmentPackets, 2), (16, 2), (16, 1), (7, 3)]
        for (packets, workers) in cases {
            let what = "\(name), \(packets) packets a segment, \(workers) workers"
            let split = try OpusWebMDecoder.analyse(file, segmentPackets: packets, workers: workers)
            #expect(split.analysedSeconds == single.analysedSeconds, "\(what)")
            let boundaries = Double(max(1, Int(single.analysedSeconds / 0.02) / packets))
            #expect(abs(split.speechSeconds - single.speechSeconds) <= max(0.1, 0.05 * boundaries),
                    "\(what): \(split.speechSeconds) s, single stream \(single.speechSeconds) s")
            #expect(abs((split.speechLevel ?? 0) - (single.speechLevel ?? 0)) < 0.05, "\(what)")
            for (a, b) in zip(split.channelRMS, single.channelRMS) { #expect(abs(a - b) < 0.02, "\(what): RMS \(a), \(b)") }
            for (a, b) in zip(split.channelPeaks, single.channelPeaks) { #expect(abs(a - b) <= 0.02 * b, "\(what): peak \(a), \(b)") }
        }
    }

    /// Segments of the full size, then halving over the last two down to the smallest, covering
    /// every unit once in order; no sliver after the last.
    @Test func segmentsHalveTowardsTheEnd() {
        let starts = SegmentedDecode.plan(count: 6719, size: 256, smallest: 32)
        let sizes = zip(starts.dropFirst(), starts).map { $0 - $1 }
        #expect(starts.first == 0 && starts.last == 6719)
        #expect(Array(sizes.suffix(5)) == [256, 160, 80, 40, 39], "\(sizes.suffix(8))")
        #expect(sizes.dropLast(4).allSatisfy { $0 == 256 })
        for (count, size, smallest) in [(1, 256, 32), (31, 256, 32), (256, 256, 32), (257, 256, 32), (512, 256, 32), (100, 8, 32), (17, 1, 1), (0, 256, 32), (1000, 64, 32)] {
            let starts = SegmentedDecode.plan(count: count, size: size, smallest: smallest)
            let sizes = zip(starts.dropFirst(), starts).map { $0 - $1 }
            let what = "\(count) units, \(size) a segment: \(sizes)"
            #expect(starts.first == 0 && starts.last == count, "\(what)")
            #expect(sizes.allSatisfy { $0 >= 1 && $0 <= size }, "\(what)")
            #expect(zip(sizes, sizes.dropFirst()).allSatisfy { $0 >= $1 }, "\(what): growing")
            #expect(sizes.dropLast().allSatisfy { $0 >= min(smallest, size) }, "\(what): a small one before the last")
        }
        #expect(SegmentedDecode.plan(count: 0, size: 256, smallest: 32) == [0])
    }

}

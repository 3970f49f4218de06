import CFAAD
import Foundation
import HeliosTestSupport
import Testing
@testable import HeliosCore

/// FAAD2, built for parametric stereo, hands a one-channel AAC track out as two equal channels;
/// helios takes one, so that the front does half the work, and must give the same figures.
@Suite(.blocking) struct AACChannelTests {
    /// The channel configuration, read past the object type's and the sampling rate's escapes.
    @Test func theChannelConfigurationIsReadFromTheAudioSpecificConfig() {
        #expect(AACDecoder.channelConfiguration([0x12, 0x08]) == 1)  // LC, 44.1 kHz, mono
        #expect(AACDecoder.channelConfiguration([0x14, 0x10]) == 2)  // LC, 16 kHz, stereo
        // Object type 31 + 2 (six more bits), frequency index 15 (24 bits: 48000), one channel.
        #expect(AACDecoder.channelConfiguration([0xf8, 0x5e, 0x01, 0x77, 0x00, 0x20]) == 1)
        #expect(AACDecoder.channelConfiguration([0xf8, 0x5e, 0x01, 0x77]) == nil)  // cut short
        #expect(AACDecoder.channelConfiguration([0x12]) == nil)
        #expect(AACDecoder.channelConfiguration([]) == nil)
    }

    /// Raw FAAD2 gives every frame of a mono track as two equal channels; `FrameDecoder` gives the
    /// first of them, sample for sample, as one.
    @Test(arguments: ["lc-44k-6s.m4a", "ok-12s.m4a"])
    func aMonoTrackComesOutAsOneChannel(name: String) throws {
        let (file, config, units) = try aacFrames(name)
        #expect(AACDecoder.channelConfiguration(config) == 1)
        let decoder = try #require(AACDecoder.FrameDecoder(file: file, config: config, units: units))
        // FAAD2 as helios opens it, its frames taken as they come.
        let raw = try #require(AACDecoder.open(config))
        defer { NeAACDecClose(raw) }
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture(name))))
        var compared = 0
        for unit in units {
            var input = Array(bytes[Int(unit.offset)..<Int(unit.offset) + unit.size]) + [UInt8](repeating: 0, count: AACDecoder.padding)
            var info = NeAACDecFrameInfo()
            let output = input.withUnsafeMutableBufferPointer { NeAACDecDecode(raw, &info, $0.baseAddress, UInt(unit.size)) }
            let outcome = decoder.decodeOne()
            guard info.error == 0, let output, info.samples > 0 else {
                if case .samples = outcome { Issue.record("\(name): helios gave samples where FAAD2 gave none") }
                continue
            }
            #expect(info.channels == 2, "FAAD2 no longer upmixes mono: the one-channel path is dead code")
            let pairs = UnsafeBufferPointer(start: output.assumingMemoryBound(to: Float.self), count: Int(info.samples))
            guard case .samples(let mono, let r, let c) = outcome else {
                Issue.record("\(name): no samples from helios where FAAD2 gave \(info.samples)")
                continue
            }
            #expect(r == Int(info.samplerate) && c == 1)
            #expect(mono.count * 2 == pairs.count)
            for i in 0..<min(mono.count, pairs.count / 2) where mono[i] != pairs[2 * i] || pairs[2 * i] != pairs[2 * i + 1] {
                Issue.record("\(name): sample \(i): helios \(mono[i]), FAAD2 \(pairs[2 * i]) and \(pairs[2 * i + 1])")
                break
            }
            compared += mono.count
        }
        #expect(compared >= 4 * 16000, "\(compared) samples compared")
    }

    /// The front's figures for two equal channels are the one channel's, bit for bit: the mix of
    /// x and x is x, the peaks and sums of squares are the channel's (real speech at 44.1 kHz,
    /// through the resampler).
    @Test func twoEqualChannelsGiveTheOneChannelsFigures() throws {
        let (file, config, units) = try aacFrames("lc-44k-6s.m4a")
        let decoder = try #require(AACDecoder.FrameDecoder(file: file, config: config, units: units))
        var mono: [Float] = []
        while true {
            let outcome = decoder.decodeOne()
            if case .end = outcome { break }
            if case .samples(let samples, _, _) = outcome { mono.append(contentsOf: samples) }
        }
        #expect(mono.count > 5 * 44100)
        let twice = mono.flatMap { [$0, $0] }
        var one = try #require(SpeechEstimator(sampleRate: 44100, channels: 1))
        var two = try #require(SpeechEstimator(sampleRate: 44100, channels: 2))
        mono.withUnsafeBufferPointer { one.consume($0) }
        twice.withUnsafeBufferPointer { two.consume($0) }
        let a = one.finish(), b = two.finish()
        #expect(a.speechSeconds == b.speechSeconds && a.speechSeconds > 3)
        #expect(a.speechLevel == b.speechLevel && a.leadingSilence == b.leadingSilence && a.trailingSilence == b.trailingSilence)
        #expect(b.channelPeaks == [a.channelPeaks[0], a.channelPeaks[0]])
        #expect(b.channelRMS == [a.channelRMS[0], a.channelRMS[0]])
        #expect(a.clippedShare == b.clippedShare)
    }

    /// A track coded as two channels stays two: a silent right channel is still found.
    @Test func aStereoTrackKeepsItsChannels() throws {
        let (file, config, units) = try aacFrames("stereo-right-silent-12s.m4a")
        #expect(AACDecoder.channelConfiguration(config) == 2)
        let analysis = try AACDecoder.analyse(file, config: config, units: units, segmentFrames: AACDecoder.segmentFrames, workers: 2)
        #expect(analysis.channelPeaks.count == 2)
        #expect(analysis.channelPeaks[0] > 0.1 && analysis.channelPeaks[1] == 0, "\(analysis.channelPeaks)")
        let report = RecordingValidator.validate(path: TestPaths.fixture("stereo-right-silent-12s.m4a"))
        #expect(report.warnings.map(\.code) == ["SILENT_CHANNEL"], "\(report.warnings)")
        #expect(report.problems.isEmpty, "\(report.problems)")
    }
}

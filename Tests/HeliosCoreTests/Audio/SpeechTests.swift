import Foundation
import HeliosTestSupport
import Testing
@testable import HeliosCore

// MARK: - The synthetic voice the other suites rely on

@Test(.blocking, arguments: [(16_000, 1), (48_000, 2), (44_100, 1), (8000, 1), (22_050, 2)])
func speechLikeSignalCountsAsSpeech(rate: Int, channels: Int) throws {
    let path = try TestRecordings.write(.wav, seconds: 12, sampleRate: rate, channels: channels, to: AudioScratch.dir, name: "speechlike-\(rate)-\(channels).wav")
    let report = RecordingValidator.validate(path: path)
    let speech = try #require(report.audio?.speechSeconds)
    #expect(speech >= 10.5 && speech <= 12, "\(speech)")
    #expect(report.ok, "\(report)")
    #expect(report.warnings.map(\.code) == (rate < 16_000 ? ["LOW_SAMPLE_RATE"] : []), "\(report.warnings)")
}

// MARK: - The labelled corpus, small: espeak-ng clips (Tests/Fixtures/speech/README.md)

/// Each clip's label: its length after `sox silence 1 0.1 1% -1 0.1 1%` (bench/speech-accuracy.sh).
struct SpeechClip: CustomStringConvertible, Sendable {
    var path: String
    var label: Double
    var description: String { (path as NSString).lastPathComponent }

    static let all: [SpeechClip] = [
        SpeechClip(path: TestPaths.fixture("speech/en-f3-180wpm.flac"), label: 8.47),
        SpeechClip(path: TestPaths.fixture("speech/de-140wpm.flac"), label: 9.90),
        SpeechClip(path: TestPaths.packageRoot.appendingPathComponent("samples/north-wind-and-the-sun.flac").path, label: 19.16),
    ]
}

/// Deterministic noise: white, or pink by Paul Kellet's economy filter.
private func noise(_ count: Int, pink: Bool, seed: UInt64 = 7) -> [Float] {
    var state = seed
    var b0: Float = 0, b1: Float = 0, b2: Float = 0
    return (0..<count).map { _ in
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        let white = Float(Int64(bitPattern: state) >> 11) / Float(1 << 52)
        guard pink else { return white }
        b0 = 0.99765 * b0 + white * 0.0990460
        b1 = 0.96300 * b1 + white * 0.2965164
        b2 = 0.57000 * b2 + white * 1.0526913
        return (b0 + b1 + b2 + white * 0.1848) * 0.25
    }
}

/// White noise integrated (leakily): power falling 6 dB per octave, scaled to `peak`.
private func brown(_ count: Int, peak: Float) -> [Float] {
    var y: Float = 0
    let x = noise(count, pink: false).map { w -> Float in y = 0.9999 * y + w; return y }
    let top = x.map(abs).max() ?? 1
    return x.map { $0 / top * peak }
}

private func rms(_ x: [Float]) -> Float { (x.reduce(0) { $0 + $1 * $1 } / Float(max(1, x.count))).squareRoot() }

/// Speech padded with silence to `total` seconds (so the file's length passes), plus noise at `snr` dB.
private func mixture(_ clip: SpeechClip, snr: Float?, pink: Bool = false, total: Double = 12) throws -> String {
    let (speech, rate) = try TestRecordings.read(clip.path)
    let pad = max(0, Int(total * Double(rate)) - speech.count) / 2
    var signal = [Float](repeating: 0, count: pad) + speech + [Float](repeating: 0, count: pad)
    if let snr {
        let n = noise(signal.count, pink: pink)
        let gain = rms(speech) / rms(n) / pow(10, snr / 20)
        for i in signal.indices { signal[i] += gain * n[i] }
    }
    let name = "mix-\(clip.description)-\(snr.map { "\(Int($0))" } ?? "clean")\(pink ? "-pink" : "").wav"
    return try TestRecordings.write(.wav, channels: [signal], sampleRate: rate, to: AudioScratch.dir, name: name)
}

@Test(.blocking, arguments: SpeechClip.all)
func cleanSpeechIsMeasuredWithinASecond(clip: SpeechClip) throws {
    let report = RecordingValidator.validate(path: try mixture(clip, snr: nil))
    let speech = try #require(report.audio?.speechSeconds)
    #expect(abs(speech - clip.label) < 1.0, "label \(clip.label), estimate \(speech)")
    #expect(report.problems.isEmpty, "a clean recording is never rejected: \(report.problems)")
}

/// The issue's target on the small corpus: mean absolute error under 1.5 s; no file worse than
/// 3 s (the grey zone's width, so a file with 10 s of speech is never rejected).
@Test(.blocking) func speechInNoiseIsMeasuredWithinTheTarget() throws {
    var errors: [Double] = []
    for clip in SpeechClip.all {
        for (snr, pink) in [(Float(20), false), (10, false), (10, true)] {
            let report = RecordingValidator.validate(path: try mixture(clip, snr: snr, pink: pink))
            let speech = try #require(report.audio?.speechSeconds)
            errors.append(abs(speech - clip.label))
            #expect(abs(speech - clip.label) < 3.0, "\(clip) \(snr) dB \(pink ? "pink" : "white"): label \(clip.label), estimate \(speech)")
            #expect(!report.problems.contains { $0.code == "NO_SPEECH" })
            if clip.label >= 10 { #expect(report.problems.isEmpty, "\(report.problems)") }
        }
    }
    #expect(errors.reduce(0, +) / Double(errors.count) < 1.5, "\(errors)")
}

@Test(.blocking) func theBundledSampleHasItsSpeech() throws {
    let clip = SpeechClip.all[2]
    let report = RecordingValidator.validate(path: clip.path)
    #expect(report.ok && report.warnings.isEmpty, "\(report)")
    #expect(abs((report.audio?.speechSeconds ?? 0) - clip.label) < 1.0)
}

// MARK: - What is not speech

private let rate = 16_000

private func samples(_ seconds: Double, _ f: (Double) -> Float) -> [Float] {
    (0..<Int(seconds * Double(rate))).map { f(Double($0) / Double(rate)) }
}

private let nonSpeech: [(String, [Float])] = [
    ("silence", [Float](repeating: 0, count: 15 * rate)),
    ("white", noise(15 * rate, pink: false).map { $0 * 0.3 }),
    ("pink", noise(15 * rate, pink: true).map { $0 * 0.5 }),
    ("quiet-white", noise(15 * rate, pink: false).map { $0 * 0.001 }),
    ("hum", samples(15) { t in
        // 50 Hz mains hum with odd and even harmonics into the speech band.
        Float([1, 0.5, 0.4, 0.3, 0.2, 0.1].enumerated().reduce(0.0) { $0 + 0.1 * $1.element * sin(2 * .pi * 50 * Double($1.offset + 1) * t) })
    }),
    ("tone", samples(15) { Float(0.25 * sin(2 * .pi * 440 * $0)) }),
    ("tremolo-tone", samples(15) { Float((0.5 + 0.4 * sin(2 * .pi * 3 * $0)) * 0.3 * sin(2 * .pi * 440 * $0)) }),
    // Brown noise (a fan, a car): a steep, smooth spectrum whose flatness is as low as a voice's.
    ("brown", brown(15 * rate, peak: 0.5)),
    ("quiet-brown", brown(15 * rate, peak: 0.05)),
    ("quieter-brown", brown(15 * rate, peak: 0.02)),
    ("gated-white", zip(noise(15 * rate, pink: false), samples(15) { $0.truncatingRemainder(dividingBy: 2) < 1 ? 0.3 : 0.006 }).map { $0 * $1 }),
]

@Test(.blocking, arguments: nonSpeech.indices)
func noiseToneAndHumAreNoSpeech(index: Int) throws {
    let (name, signal) = nonSpeech[index]
    let path = try TestRecordings.write(.wav, channels: [signal], sampleRate: rate, to: AudioScratch.dir, name: "nonspeech-\(name).wav")
    let report = RecordingValidator.validate(path: path)
    let speech = try #require(report.audio?.speechSeconds)
    #expect(speech <= 2, "\(name): \(speech) s of speech")
    #expect(report.problems.map(\.code) == ["NO_SPEECH"], "\(name): \(report.problems)")
}

// MARK: - Verdicts and quality warnings

@Test(.blocking, arguments: [
    (0.4, "NO_SPEECH", nil), (4.0, "TOO_SHORT", nil), (5.0, nil, "SPEECH_NEAR_MINIMUM"), (8.0, nil, "SPEECH_NEAR_MINIMUM"), (12.0, nil, nil),
] as [(Double, String?, String?)])
func speechVerdictsHaveAGreyZone(speech: Double, problem: String?, warning: String?) {
    let analysis = SpeechAnalysis(speechSeconds: speech, analysedSeconds: 15, leadingSilence: 0, trailingSilence: 0,
        clippedShare: 0, speechLevel: -20, channelPeaks: [0.5], channelRMS: [-20])
    let verdict = RecordingValidator.speechVerdict(analysis)
    #expect(verdict.problems.map(\.code) == (problem.map { [$0] } ?? []))
    #expect(verdict.warnings.map(\.code) == (warning.map { [$0] } ?? []))
    if problem == "TOO_SHORT" { #expect(verdict.problems[0].message.contains("4.0s of speech")) }
}

private func voice(_ seconds: Double, gain: Float = 1) -> [Float] {
    TestRecordings.samples(.speechLike, seconds: seconds, sampleRate: rate).map { Float($0) / 32_768 * gain }
}

/// A voice far under the speaker's (one in the background, a murmur between phrases) is loud
/// enough to be active but seeds no speech: it counts only within the hangover of the speaker's.
@Test(.blocking) func aVoiceFarUnderTheSpeakersIsNotCounted() throws {
    let gap = [Float](repeating: 0, count: rate * 8 / 10)
    let turn = voice(2) + gap + voice(0.8, gain: 0.1) + gap  // the second voice 20 dB down
    let signal = Array([[Float]](repeating: turn, count: 4).joined())
    let report = RecordingValidator.validate(path: try TestRecordings.write(.wav, channels: [signal], sampleRate: rate, to: AudioScratch.dir, name: "background-voice.wav"))
    let speech = try #require(report.audio?.speechSeconds)
    // 8 s from the speaker; the 3.2 s of the quieter voice would make it over 10.
    #expect(speech >= 7 && speech <= 9, "\(speech)")
}

@Test(.blocking) func clippedSpeechWarnsClipping() throws {
    let loud = voice(12, gain: 20).map { max(-1, min(1, $0)) }
    let report = RecordingValidator.validate(path: try TestRecordings.write(.wav, channels: [loud], sampleRate: rate, to: AudioScratch.dir, name: "clipped.wav"))
    #expect(report.ok)
    #expect(report.warnings.map(\.code) == ["CLIPPING"], "\(report.warnings)")
}

@Test(.blocking) func quietSpeechWarnsLowLevel() throws {
    let quiet = voice(12, gain: 0.02)  // about -46 dBFS while speaking
    let report = RecordingValidator.validate(path: try TestRecordings.write(.wav, channels: [quiet], sampleRate: rate, to: AudioScratch.dir, name: "quiet.wav"))
    #expect(report.ok, "\(report)")
    #expect(report.warnings.map(\.code) == ["LOW_LEVEL"], "\(report.warnings)")
}

@Test(.blocking) func longSilenceAtEitherEndWarns() throws {
    let silence = [Float](repeating: 0, count: 6 * rate)
    let report = RecordingValidator.validate(path: try TestRecordings.write(.wav, channels: [silence + voice(12) + silence], sampleRate: rate, to: AudioScratch.dir, name: "padded.wav"))
    #expect(report.ok)
    #expect(report.warnings.map(\.code) == ["LEADING_SILENCE", "TRAILING_SILENCE"], "\(report.warnings)")
    #expect(report.warnings.first?.message.contains("6.") == true, "\(report.warnings)")
}

@Test(.blocking) func oneSilentChannelOfTwoWarns() throws {
    let speech = voice(12)
    let report = RecordingValidator.validate(path: try TestRecordings.write(.wav, channels: [speech, [Float](repeating: 0, count: speech.count)], sampleRate: rate, to: AudioScratch.dir, name: "one-sided.wav"))
    #expect(report.ok)
    #expect(report.warnings.map(\.code) == ["SILENT_CHANNEL"], "\(report.warnings)")
    #expect(report.warnings.first?.message.contains("channel 2 of 2") == true)
}

@Test(.blocking) func partialDecodeIsSpeechUnknownNotARejection() {
    // A decoder that stops early gives a lower bound on speech, which must not reject the file.
    let partial = SpeechAnalysis(speechSeconds: 3, analysedSeconds: 4.2, leadingSilence: 0, trailingSilence: 0,
        clippedShare: 0, speechLevel: -20, channelPeaks: [0.5], channelRMS: [-20])
    #expect(AudioProbe.covered(partial, duration: 12.1, by: "libsndfile") == .unknown("speech not estimated: libsndfile decoded only 4.2s of 12.1s"))
    var whole = partial
    whole.analysedSeconds = 11.9
    #expect(AudioProbe.covered(whole, duration: 12.1, by: "libsndfile") == .measured(whole))
}

@Test(.blocking) func xinglessVBRMP3IsDecodedToItsEnd() throws {
    // libsndfile stopped at libmpg123's 4.2 s guess for this file (Tests/Fixtures/README.md);
    // libmpg123 used directly decodes all 12.1 s, which are gated noise.
    var partial: AudioInfo?
    let staged = try AudioProbe.stage(path: TestPaths.fixture("vbr-noxing-12s.mp3"), partial: &partial)
    guard case .measured(let analysis) = staged.speech() else { Issue.record("\(staged.speech())"); return }
    #expect(abs(analysis.analysedSeconds - 12.096) < 0.05, "\(analysis.analysedSeconds)")
    // Noise, as the other non-speech cases: at most 2 s, and far under what would pass.
    #expect(analysis.speechSeconds <= 2, "\(analysis.speechSeconds)")
}

/// MP3 is decoded with libmpg123 directly (quietly); it must hand the estimator the very samples
/// libsndfile decoded, so the estimate for an intact MP3 is unchanged.
@Test(.blocking, arguments: [(16_000, 1), (44_100, 2)])
func mp3DecodesToTheSamplesLibsndfileDecodes(rate: Int, channels: Int) throws {
    let path = try TestRecordings.write(.mp3, seconds: 12, sampleRate: rate, channels: channels, to: AudioScratch.dir, name: "same-\(rate)-\(channels).mp3")
    let reference = try TestRecordings.read(path)
    let sound = try MPG123File(path: path)
    #expect(sound.sampleRate == rate && sound.channels == channels)
    var first: [Float] = []
    sound.forEachBlockOverlapped(frames: 4096) { block in
        for i in stride(from: 0, to: block.count, by: channels) { first.append(block[i]) }
    }
    #expect(first.count == reference.samples.count)
    #expect(first == reference.samples)
}

// MARK: - The FFT under the features

@Test(.blocking) func realFFTMatchesADirectDFT() {
    var fft = RealFFT(size: 64)
    var generator = SplitMix(seed: 3)
    let x = (0..<64).map { _ in Float(generator.next() % 2000) / 1000 - 1 }
    var power = [Float](repeating: 0, count: 33)
    x.withUnsafeBufferPointer { input in power.withUnsafeMutableBufferPointer { fft.power(of: input, into: $0) } }
    for k in 0...32 {
        var re = 0.0, im = 0.0
        for n in 0..<64 {
            re += Double(x[n]) * cos(-2 * .pi * Double(k * n) / 64)
            im += Double(x[n]) * sin(-2 * .pi * Double(k * n) / 64)
        }
        #expect(abs(Double(power[k]) - (re * re + im * im)) < 1e-3 * max(1, re * re + im * im), "bin \(k)")
    }
}

@Test(.blocking) func realFFTEightButterfliesAtATimeGiveTheScalarLoopsBits() {
    // The speech estimator's size (512): stages of span 8…128 take the vector path in release builds.
    var fft = RealFFT(size: 512)
    var generator = SplitMix(seed: 11)
    let x = (0..<512).map { i in i < 256 ? Float(generator.next() % 20001) / 10000 - 1 : 0 }
    var scalar = [Float](repeating: 0, count: 257), vector = scalar
    x.withUnsafeBufferPointer { input in
        scalar.withUnsafeMutableBufferPointer { fft.power(of: input, into: $0, vectorised: false) }
        vector.withUnsafeMutableBufferPointer { fft.power(of: input, into: $0, vectorised: true) }
    }
    #expect(scalar.map(\.bitPattern) == vector.map(\.bitPattern))
    #expect(scalar.contains { $0 > 1 })
    // And both are the spectrum: bin 37 against a direct DFT.
    var re = 0.0, im = 0.0
    for n in 0..<512 {
        re += Double(x[n]) * cos(-2 * .pi * Double(37 * n) / 512)
        im += Double(x[n]) * sin(-2 * .pi * Double(37 * n) / 512)
    }
    #expect(abs(Double(vector[37]) - (re * re + im * im)) < 1e-3 * max(1, re * re + im * im))
}

@Test(.blocking) func pitchSearchLoopsGiveTheSameBitsEightLanesAtATime() {
    // The noise tracker's step and the strongest lag, as optimised builds run them and as debug
    // builds do, on 123 bins and 83 lags (the estimator's counts at 8 kHz), NaNs and ties included.
    var generator = SplitMix(seed: 5)
    func random(_ count: Int) -> [Float] { (0..<count).map { _ in Float(generator.next() % 100_000) / 1000 } }
    let p = random(123)
    var minimum = random(123)
    minimum[3] = .infinity
    let start = random(123)
    var smoothed = [start, start]
    var minima = [minimum, minimum]
    for (index, vectorised) in [false, true].enumerated() {
        p.withUnsafeBufferPointer { pb in
            smoothed[index].withUnsafeMutableBufferPointer { sb in
                minima[index].withUnsafeMutableBufferPointer { mb in
                    SpeechEstimator.smooth(pb.baseAddress!, into: sb.baseAddress!, minimum: mb.baseAddress!, count: 123, vectorised: vectorised)
                }
            }
        }
    }
    #expect(minima[0].map(\.bitPattern) == minima[1].map(\.bitPattern))
    #expect(smoothed[0].map(\.bitPattern) == smoothed[1].map(\.bitPattern))
    #expect(minima[0] != minimum)
    var sums = random(83).map { $0 - 50 }
    sums[10] = .nan
    sums[40] = sums[41]
    let wc = random(83).map { $0 + 1 }
    let strengths = [false, true].map { vectorised in
        SpeechEstimator.strongest(sums, over: 3, windowCorrelation: wc, count: 83, vectorised: vectorised)
    }
    #expect(strengths[0].bitPattern == strengths[1].bitPattern)
    #expect(strengths[0] > 0)
    // None over 0: strength 0 both ways.
    let negative = sums.map { -abs($0) }
    #expect([false, true].map { SpeechEstimator.strongest(negative, over: 3, windowCorrelation: wc, count: 83, vectorised: $0) } == [0, 0])
}

// MARK: - WebM/Opus (libopus) and AAC in MP4 (FAAD2)

@Test(.blocking, arguments: ["ok-12s.webm", "live-12s.webm", "ok-12s.m4a", "fragmented-12s.mp4"])
func webmOpusAndAACGetTheSameEstimateAsTheSourceFLAC(name: String) throws {
    // Both are the first 12 s of the bundled sample (Tests/Fixtures/README.md).
    let source = try TestRecordings.read(SpeechClip.all[2].path)
    let flac = try TestRecordings.write(.flac, channels: [Array(source.samples.prefix(12 * source.sampleRate))], sampleRate: source.sampleRate, to: AudioScratch.dir, name: "first-12s-for-\(name).flac")
    let expected = try #require(RecordingValidator.validate(path: flac).audio?.speechSeconds)
    let report = RecordingValidator.validate(path: TestPaths.fixture(name))
    let speech = try #require(report.audio?.speechSeconds)
    #expect(abs(speech - expected) <= 0.5, "\(name) \(speech) s, FLAC \(expected) s")
    #expect(report.ok && report.warnings.isEmpty, "\(report)")
}

@Test(.blocking) func webmOfSilenceIsNoSpeech() throws {
    // 200 s of silence: TOO_LONG decides, so `validate` skips the speech pass; run here by hand,
    // it decodes all 200 s and finds no speech.
    var partial: AudioInfo?
    let staged = try AudioProbe.stage(path: TestPaths.fixture("long-200s.webm"), partial: &partial)
    guard case .measured(let analysis) = staged.speech() else { Issue.record("\(staged.speech())"); return }
    #expect(analysis.speechSeconds == 0)
    #expect(analysis.analysedSeconds > 199)
}

/// The fixture with its first `mp4a` sample entry renamed: the header pass still reads it, the
/// speech pass names what it cannot decode instead of guessing.
@Test(.blocking, arguments: [("alac", "ALAC"), ("Opus", "Opus"), ("ac-3", "Dolby AC-3")])
func mp4WithoutAACIsSpeechUnknownWithAReason(code: String, name: String) throws {
    var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture("ok-12s.m4a"))))
    let needle = Array("mp4a".utf8)
    let at = try #require((0..<(bytes.count - 4)).first { Array(bytes[$0..<($0 + 4)]) == needle })
    bytes.replaceSubrange(at..<(at + 4), with: Array(code.utf8))
    let report = RecordingValidator.validate(path: AudioScratch.write("renamed-\(code).m4a", bytes))
    #expect(report.audio?.speechSeconds == nil)
    #expect(report.ok, "\(report)")
    #expect(report.warnings == [ValidationFinding(code: "SPEECH_UNKNOWN", message: "speech not estimated for \(name) in MP4")])
}

/// Damaged AAC data: FAAD2 meets garbage in every frame's payload; nothing crashes, and the answer
/// is an estimate or "unknown", never a rejection built on a partial decode.
@Test(.blocking, arguments: ["ok-12s.m4a", "fragmented-12s.mp4"])
func garbledAACIsDecodedWithoutCrashing(name: String) throws {
    let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: TestPaths.fixture(name))))
    let mdat = Array("mdat".utf8)
    // Only the media data (the first mdat: ok-12s.m4a keeps its moov after it).
    let type = try #require((4..<(original.count - 4)).first { Array(original[$0..<($0 + 4)]) == mdat })
    let size = original[(type - 4)..<type].reduce(0) { $0 << 8 | Int($1) }
    let start = type + 4, end = min(original.count, type - 4 + size)
    for (index, stride) in [7, 61, 509].enumerated() {
        var bytes = original
        var i = start
        var state: UInt32 = 2_463_534_242 &+ UInt32(index)
        while i < end {
            state ^= state << 13; state ^= state >> 17; state ^= state << 5
            bytes[i] = UInt8(truncatingIfNeeded: state)
            i += stride
        }
        let report = RecordingValidator.validate(path: AudioScratch.write("garbled-\(stride)-\(name)", bytes))
        let speechCodes = (report.problems + report.warnings).map(\.code).filter { $0.hasPrefix("SPEECH") || $0 == "NO_SPEECH" || $0 == "TOO_SHORT" }
        #expect(report.audio?.speechSeconds != nil || speechCodes == ["SPEECH_UNKNOWN"], "\(stride): \(report)")
    }
}

/// Two access units replaced by garbage: FAAD2 loses those frames and no more, and the estimate
/// stays what the intact file gives. (A damaged frame that looks as if it carried SBR can make
/// every later frame fail until the decoder is restarted, which AACDecoder does; this garbage does
/// not happen to hit that case.)
@Test(.blocking, arguments: ["ok-12s.m4a", "fragmented-12s.mp4"])
func oneDamagedAACFrameCostsAboutOneFrame(name: String) throws {
    let path = TestPaths.fixture(name)
    var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    let file = FileBytes(bytes: bytes)
    let track = try #require(try MP4Samples.audioTrack(file))
    var units: [(UInt64, Int)] = []
    try MP4Samples.forEachSample(file, track: track) { units.append(($0, $1)); return true }
    #expect(units.count > 150, "\(units.count) access units")
    let intact = try #require(RecordingValidator.validate(path: path).audio?.speechSeconds)
    for (index, unit) in [units[units.count / 3], units[units.count / 2]].enumerated() {
        var state: UInt32 = 0x9E37_79B9 &+ UInt32(index)
        for i in Int(unit.0)..<(Int(unit.0) + unit.1) {
            state ^= state << 13; state ^= state >> 17; state ^= state << 5
            bytes[i] = UInt8(truncatingIfNeeded: state)
        }
    }
    let report = RecordingValidator.validate(path: AudioScratch.write("one-bad-frame-\(name)", bytes))
    let speech = try #require(report.audio?.speechSeconds, "\(report)")
    #expect(abs(speech - intact) <= 1, "damaged \(speech) s, intact \(intact) s")
}

/// HE-AAC signalled explicitly (audio object type 5: SBR at twice the 16 kHz core rate) over the
/// fixture's LC frames: FAAD2 reports the doubled rate from the first frame, every frame comes
/// out at that rate, and the estimate made at 32 kHz is the one made at 16 kHz. (What
/// AACDecoder.analyse does after its first frame, with the configuration swapped.)
@Test(.blocking) func explicitHEAACSignallingDoublesTheRateAndKeepsTheEstimate() throws {
    let file = try #require(FileBytes(path: TestPaths.fixture("ok-12s.m4a")))
    let track = try #require(try MP4Samples.audioTrack(file))
    var units: [(offset: UInt64, size: Int)] = []
    try MP4Samples.forEachSample(file, track: track) { units.append(($0, $1)); return true }
    // 00101 (SBR) 1000 (16 kHz) 0001 (mono) 0101 (32 kHz) 00010 (LC) 000 (GASpecificConfig)
    let stream = try #require(AACDecoder.Stream(file: file, config: [0x2C, 0x0A, 0x88, 0x00], units: units))
    #expect(stream.decodeNext())
    // FAAD2 gives mono HE-AAC as two channels (parametric stereo may follow): the estimator downmixes.
    #expect(stream.rate == 32_000 && (1...2).contains(stream.channels), "\(stream.rate) Hz, \(stream.channels) channels")
    let analysis = try #require(OverlappedDecode.speech(sampleRate: stream.rate, channels: stream.channels, front: .withAnalysis) { stream.read(into: $0, frames: $1) })
    #expect(abs(analysis.analysedSeconds - 12) < 0.2, "\(analysis.analysedSeconds) s decoded")
    let plain = try #require(RecordingValidator.validate(path: TestPaths.fixture("ok-12s.m4a")).audio?.speechSeconds)
    #expect(abs(analysis.speechSeconds - plain) <= 0.5, "HE-AAC \(analysis.speechSeconds) s, LC \(plain) s")
}

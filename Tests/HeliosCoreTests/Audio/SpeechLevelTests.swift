import Foundation
import HeliosTestSupport
import Testing
@testable import HeliosCore

private let levelRate = 16_000

private func speech(_ seconds: Double, gain: Float = 1) -> [Float] {
    TestRecordings.samples(.speechLike, seconds: seconds, sampleRate: levelRate).map { Float($0) / 32_768 * gain }
}

/// Deterministic white noise, uniform in ±`amplitude`.
private func hiss(_ count: Int, amplitude: Float) -> [Float] {
    var state: UInt64 = 11
    return (0..<count).map { _ in
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Float(Int64(bitPattern: state) >> 11) / Float(1 << 52) * amplitude
    }
}

/// A second speaker 18 dB quieter after a long pause, in a noisier room of its own (two
/// recordings joined, or one speaker farther from the microphone), is measured against its own
/// level, not the first one's.
@Test(.blocking) func aQuieterSpeakerAfterALongPauseIsCounted() throws {
    let quiet = speech(5, gain: 0.125)
    let rms = (quiet.reduce(0) { $0 + $1 * $1 } / Float(quiet.count)).squareRoot()
    let first = speech(5) + [Float](repeating: 0, count: levelRate * 6)
    let second = zip(quiet, hiss(quiet.count, amplitude: rms * 1.0)).map { $0 + $1 }
    let report = RecordingValidator.validate(path: try TestRecordings.write(
        .wav, channels: [first + second], sampleRate: levelRate, to: AudioScratch.dir, name: "quieter-after-pause.wav"))
    let speech = try #require(report.audio?.speechSeconds)
    // 9.8 s; with the first speaker's level held over the pause, 8.9 s.
    #expect(speech >= 9.4 && speech <= 10.5, "\(speech)")
}

import Foundation
import HeliosTestSupport
import Testing
@testable import HeliosCore

/// One temporary directory of generated recordings for the whole audio test suite.
enum AudioScratch {
    static let dir: String = TestPaths.makeTempDir("helios-audio")

    static func write(_ name: String, _ bytes: [UInt8]) -> String {
        let path = (dir as NSString).appendingPathComponent(name)
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return path
    }
}

/// A fixture's AAC track: the file, its AudioSpecificConfig and where its frames are.
func aacFrames(_ name: String) throws -> (FileBytes, [UInt8], [(offset: UInt64, size: Int)]) {
    let file = try #require(FileBytes(path: TestPaths.fixture(name)))
    let track = try #require(try MP4Samples.audioTrack(file))
    var units: [(offset: UInt64, size: Int)] = []
    try MP4Samples.forEachSample(file, track: track) { units.append(($0, $1)); return true }
    return (file, try #require(track.config).audioSpecificConfig, units)
}

/// Committed fixtures with the durations ffprobe reported when they were made (Tests/Fixtures/README.md).
struct Fixture: CustomStringConvertible, Sendable {
    var name: String
    var format: AudioFormat
    var seconds: Double
    var sampleRate: Int
    var verdict: String?
    var channels = 1
    var description: String { name }

    static let all: [Fixture] = [
        Fixture(name: "ok-12s.m4a", format: .mp4, seconds: 12.0, sampleRate: 16000, verdict: nil),
        Fixture(name: "short-4s.m4a", format: .mp4, seconds: 4.0, sampleRate: 8000, verdict: "TOO_SHORT"),
        Fixture(name: "long-200s.m4a", format: .mp4, seconds: 200.0, sampleRate: 8000, verdict: "TOO_LONG"),
        Fixture(name: "lc-44k-6s.m4a", format: .mp4, seconds: 6.0, sampleRate: 44100, verdict: "TOO_SHORT"),
        Fixture(name: "fragmented-12s.mp4", format: .mp4, seconds: 12.064, sampleRate: 16000, verdict: nil),
        Fixture(name: "stereo-right-silent-12s.m4a", format: .mp4, seconds: 12.0, sampleRate: 16000, verdict: nil, channels: 2),
        Fixture(name: "ok-12s.webm", format: .webm, seconds: 12.008, sampleRate: 48000, verdict: nil),
        Fixture(name: "short-4s.webm", format: .webm, seconds: 4.008, sampleRate: 48000, verdict: "TOO_SHORT"),
        Fixture(name: "long-200s.webm", format: .webm, seconds: 200.008, sampleRate: 48000, verdict: "TOO_LONG"),
        // No Duration element (ffmpeg -live 1): measured from the last block; ffmpeg decodes 12.00 s.
        Fixture(name: "live-12s.webm", format: .webm, seconds: 12.0, sampleRate: 48000, verdict: nil),
        // VBR MP3 without a Xing header: libmpg123 guesses 4.2 s; ffmpeg decodes 12.09 s. Gated
        // noise: decoded to its end, it holds no speech.
        // Gated white noise through a q9 MP3 encoder: a few frames of codec artefacts read as
        // voiced, and the wider hangover of a noisy recording spreads them (SpeechTests): under
        // 2 s, but not under 1.
        Fixture(name: "vbr-noxing-12s.mp3", format: .mp3, seconds: 12.096, sampleRate: 16000, verdict: "TOO_SHORT"),
    ]
}

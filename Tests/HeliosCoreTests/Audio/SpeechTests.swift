import Foundation
import HeliosTestSupport
import Testing
@testable import HeliosCore

@Test(arguments: [(16_000, 1), (48_000, 2), (44_100, 1), (8000, 1), (22_050, 2)])
func speechLikeSignalCountsAsSpeech(rate: Int, channels: Int) throws {
    let path = try TestRecordings.write(.wav, seconds: 12, sampleRate: rate, channels: channels, to: AudioScratch.dir, name: "speechlike-\(rate)-\(channels).wav")
    let report = RecordingValidator.validate(path: path)
    let speech = try #require(report.audio?.speechSeconds)
    #expect(speech >= 10.5 && speech <= 12, "\(speech)")
    #expect(report.ok, "\(report)")
    #expect(report.warnings.map(\.code) == (rate < 16_000 ? ["LOW_SAMPLE_RATE"] : []), "\(report.warnings)")
}

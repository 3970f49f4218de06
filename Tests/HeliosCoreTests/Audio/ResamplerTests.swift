import Foundation
import HeliosTestSupport
import Testing
@testable import HeliosCore

/// The speech estimate resamples every input to 8 kHz; these check the filter on its own.
@Suite(.blocking) struct ResamplerTests {
    private func sine(_ frequency: Double, rate: Double, seconds: Double) -> [Float] {
        (0..<Int(rate * seconds)).map { Float(sin(2 * Double.pi * frequency * Double($0) / rate)) }
    }

    private func rms(_ x: ArraySlice<Float>) -> Double {
        (x.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(max(1, x.count))).squareRoot()
    }

    private func resample(_ input: [Float], from rate: Double, blocks: [Int]) -> [Float] {
        var resampler = Resampler(inputRate: rate, outputRate: 8000)
        var out: [Float] = [], chunk: [Float] = []
        var at = 0, b = 0
        while at < input.count {
            let n = min(blocks[b % blocks.count], input.count - at)
            input[at..<(at + n)].withUnsafeBufferPointer { resampler.process($0, into: &chunk) }
            out += chunk
            at += n
            b += 1
        }
        resampler.finish(into: &chunk)
        return out + chunk
    }

    @Test(arguments: [44_100.0, 48_000, 16_000, 22_050, 11_025])
    func passesTheSpeechBandAndStopsWhatWouldAlias(rate: Double) {
        let seconds = 2.0
        // 1 kHz passes at unit gain (a sine's RMS is 0.707); 5.5 kHz, which would fold onto
        // 2.5 kHz at 8 kHz, is stopped (when the input holds it at all).
        let pass = resample(sine(1000, rate: rate, seconds: seconds), from: rate, blocks: [8192])
        #expect(pass.count == Int(8000 * seconds), "\(pass.count) outputs")
        let steady = pass[400..<(pass.count - 400)]
        #expect(abs(rms(steady) - 0.7071) < 0.01, "\(rms(steady))")
        if rate / 2 > 5500 {
            let stop = resample(sine(5500, rate: rate, seconds: seconds), from: rate, blocks: [8192])
            #expect(rms(stop[400..<(stop.count - 400)]) < 0.007, "5.5 kHz leaks at \(rms(stop[400..<(stop.count - 400)]))")
        }
        // The top of the speech band: 3 kHz within 1.5 dB. 4.6 kHz, which folds onto 3.4 kHz,
        // down at least 38 dB.
        let high = resample(sine(3000, rate: rate, seconds: seconds), from: rate, blocks: [8192])
        #expect(rms(high[400..<(high.count - 400)]) > 0.7071 * 0.841, "3 kHz at \(rms(high[400..<(high.count - 400)]))")
        if rate / 2 > 4600 {
            let fold = resample(sine(4600, rate: rate, seconds: seconds), from: rate, blocks: [8192])
            #expect(rms(fold[400..<(fold.count - 400)]) < 0.7071 * 0.0126, "4.6 kHz leaks at \(rms(fold[400..<(fold.count - 400)]))")
        }
    }

    @Test func theOutputDoesNotDependOnBlockSizes() {
        let rate = 44_100.0
        let input = sine(440, rate: rate, seconds: 1.5).enumerated().map { $1 * Float(0.5 + 0.5 * sin(Double($0) / 900)) }
        let whole = resample(input, from: rate, blocks: [input.count])
        let pieces = resample(input, from: rate, blocks: [1, 7, 4096, 333, 2])
        #expect(whole == pieces)
    }

    /// What the resampler computed before its schedule, output by output: the centre m · step in
    /// Doubles, rounded to the nearest of `phases` sub-sample offsets, then one `dotProduct` over
    /// the input (silence before its start and after its end), for every output whose centre lies
    /// inside the input.
    private func reference(_ input: [Float], _ resampler: Resampler) -> [Float] {
        let count = resampler.tapCount, half = (count - 1) / 2
        let padded = input + [Float](repeating: 0, count: count)
        let outputs = Int((Double(input.count) / resampler.step).rounded(.up))
        return (0..<outputs).map { m in
            let centre = Double(m) * resampler.step
            var whole = Int(centre.rounded(.down))
            var phase = Int(((centre - Double(whole)) * Double(Resampler.phases)).rounded())
            if phase == Resampler.phases { whole += 1; phase = 0 }
            let first = whole - half, from = max(0, -first)
            return resampler.taps.withUnsafeBufferPointer { h in
                padded.withUnsafeBufferPointer { x in
                    dotProduct(h.baseAddress! + phase * count + from, x.baseAddress! + first + from, count - from)
                }
            }
        }
    }

    /// The integer schedule (whole rates) and the Double fallback (any other ratio) give the
    /// outputs the per-output computation gives, bit for bit, fed in blocks of any size.
    @Test(arguments: [44_100.0, 48_000, 16_000, 22_050, 11_025, 32_000, 96_000, 44_101, 44_100.5])
    func matchesThePerOutputComputation(rate: Double) {
        var state: UInt32 = 0x1234_5678
        let input = (0..<Int(rate * 1.5)).map { i -> Float in
            state ^= state << 13; state ^= state >> 17; state ^= state << 5
            return Float(Int32(bitPattern: state)) / 4e9 + Float(sin(Double(i) * 0.02)) * 0.3
        }
        let expected = reference(input, Resampler(inputRate: rate, outputRate: 8000))
        for blocks in [[8192], [1, 7, 4096, 333, 2, 90]] {
            let got = resample(input, from: rate, blocks: blocks)
            #expect(got.count == expected.count, "\(got.count) outputs, expected \(expected.count)")
            let differing = (0..<min(got.count, expected.count)).filter { got[$0] != expected[$0] }
            let firstDiffering = differing.first ?? -1
            #expect(differing.count == 0, "outputs differ, the first at \(firstDiffering)")
        }
    }

    /// The schedule's positions are the Double computation's far into a stream (three hours at
    /// 44.1 and 48 kHz), where a drift or a tipped rounding would show.
    @Test(arguments: [44_100.0, 48_000, 22_050, 44_101])
    func theScheduleKeepsItsPlaceInLongStreams(rate: Double) {
        let resampler = Resampler(inputRate: rate, outputRate: 8000)
        let last = 3 * 3600 * 8000
        for m in Swift.stride(from: 0, to: last, by: 997) + Array((last - 20_000)..<last) {
            let centre = Double(m) * resampler.step
            var whole = Int(centre.rounded(.down))
            var phase = Int(((centre - Double(whole)) * Double(Resampler.phases)).rounded())
            if phase == Resampler.phases { whole += 1; phase = 0 }
            let (w, row) = resampler.position(m)
            if w != whole || row != phase * resampler.tapCount {
                Issue.record("output \(m): \(w), row \(row); Doubles give \(whole), row \(phase * resampler.tapCount)")
                return
            }
        }
    }

    @Test func aSineAt44kHzStaysInTune() {
        // A fractional step (5.5125): a drifting position would shift the pitch.
        let out = resample(sine(500, rate: 44_100, seconds: 3), from: 44_100, blocks: [8192])
        var crossings = 0
        for i in 1..<out.count where (out[i - 1] < 0) != (out[i] < 0) { crossings += 1 }
        let frequency = Double(crossings) / 2 / (Double(out.count) / 8000)
        #expect(abs(frequency - 500) < 1, "\(frequency) Hz")
    }
}

/// The same voice at any sample rate, mono or stereo, gets the same estimate: the analysis runs at
/// 8 kHz whatever the input (44.1 kHz once read 1.2 s more than 16 kHz on real speech).
@Test(.blocking) func theEstimateDoesNotDependOnTheSampleRate() throws {
    var estimates: [String: Double] = [:]
    for (rate, channels) in [(16_000, 1), (44_100, 1), (48_000, 2), (22_050, 1), (32_000, 1)] {
        let path = try TestRecordings.write(.wav, seconds: 14, sampleRate: rate, channels: channels, to: AudioScratch.dir, name: "rates-\(rate)-\(channels).wav")
        estimates["\(rate)/\(channels)"] = try #require(RecordingValidator.validate(path: path).audio?.speechSeconds)
    }
    let reference = try #require(estimates["16000/1"])
    for (key, value) in estimates {
        #expect(abs(value - reference) <= 0.3, "\(key): \(value) s against \(reference) s at 16 kHz")
    }
}

/// The front passes subnormal samples (a decoder's fading tail after a gap) on as silence, in
/// both its vector and scalar loops and for one or two channels: a subnormal float costs the
/// filters and the FFT a microcode assist per operation (Ogg Opus with gaps ran 3x slower).
@Suite(.blocking) struct SignalFrontFlushTests {
    @Test(arguments: [1, 2])
    func subnormalSamplesReachTheAnalysisAsZero(channels: Int) {
        var front = SignalFront(sampleRate: 16_000, channels: channels, analysisRate: 16_000)
        let tiny = Float.leastNonzeroMagnitude * 1000
        #expect(tiny.isSubnormal)
        // 13 frames: eight through the vector loop (in optimised builds), five through the scalar one.
        var block = [Float](repeating: tiny, count: 13 * channels)
        block[0] = 0.5
        var output: [Float] = []
        block.withUnsafeBufferPointer { front.process($0, into: &output) }
        #expect(output.count == 13)
        #expect(output.dropFirst().allSatisfy { $0 == 0 }, "\(output)")
        #expect(!output.contains { $0.isSubnormal })
        #expect(output[0] == (channels == 1 ? 0.5 : 0.25))  // the right channel's subnormal counted as 0
        #expect(front.peaks[0] == 0.5)
    }
}

/// The resampler and the front resumed part-way through a stream (as each segment's are) give the
/// outputs of one fed the whole stream, bit for bit, whatever the cuts.
@Suite(.blocking) struct ResumedFrontTests {
    private func signal(_ frames: Int, channels: Int) -> [Float] {
        var state: UInt32 = 0x2545_F491
        return (0..<(frames * channels)).map { i in
            state ^= state << 13; state ^= state >> 17; state ^= state << 5
            return Float(Int32(bitPattern: state)) / 8e9 + Float(sin(Double(i / channels) * 0.013)) * 0.4
        }
    }

    @Test(arguments: [(44_100, 1), (48_000, 2), (16_000, 1), (22_050, 3), (11_025, 2)])
    func resumedFrontsGiveTheWholeStreamsOutput(rate: Int, channels: Int) throws {
        let frames = rate * 2
        let input = signal(frames, channels: channels)
        let fresh = SignalFront(sampleRate: rate, channels: channels, analysisRate: 8000)
        // The whole stream through one front.
        var whole: [Float] = [], chunk: [Float] = []
        var one = fresh
        input.withUnsafeBufferPointer { one.process($0, into: &chunk) }
        whole += chunk
        one.finish(into: &chunk)
        whole += chunk
        // Cut at uneven points, the first piece shorter than the filter; each piece through a fresh
        // front resumed at its start with the history it needs.
        let cuts = [0, 37, 1024, 1025, 9000, frames / 2 + 1, frames - 700, frames]
        var pieces: [Float] = []
        var merged: SignalFront?
        for (start, end) in zip(cuts, cuts.dropFirst()) {
            var front = fresh
            let from = max(0, start - front.historyFrames)
            if start > 0 {
                input[(from * channels)..<(start * channels)].withUnsafeBufferPointer { front.resume(at: start, history: $0) }
            }
            input[(start * channels)..<(end * channels)].withUnsafeBufferPointer { front.process($0, into: &chunk) }
            pieces += chunk
            if end == frames {
                front.finish(into: &chunk)
                pieces += chunk
            }
            if var total = merged { total.absorb(front); merged = total } else { merged = front }
        }
        #expect(pieces.count == whole.count, "\(pieces.count) outputs, whole stream \(whole.count)")
        let differing = (0..<min(pieces.count, whole.count)).filter { pieces[$0] != whole[$0] }
        let firstDiffering = differing.first ?? -1
        #expect(differing.count == 0, "outputs differ, the first at \(firstDiffering)")
        let total = try #require(merged)
        #expect(total.peaks == one.peaks)
        #expect(total.framesDecoded == one.framesDecoded && total.samplesSeen == one.samplesSeen && total.clipped == one.clipped)
        // Summed per block in Floats, then in Doubles: other blocks, another rounding.
        for (a, b) in zip(total.sumSquares, one.sumSquares) { #expect(abs(a - b) <= 1e-4 * b, "\(a) against \(b)") }
    }
}

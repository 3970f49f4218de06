import CKernels
@testable import HeliosCore
import HeliosTestSupport
import Testing

/// `dotProduct` in an optimised build, lane by lane in scalar code: eight lanes of a first and a
/// second accumulator over each 16, a last 8 into the first, the two added, the lanes summed in
/// order from -0, then the tail. Every operation rounds as the SIMD one does, so this gives the
/// bits both the SSE2 SIMD8 code and the AVX kernels must give.
private func referenceDot(_ a: [Float], _ b: [Float]) -> Float {
    let n = a.count
    var lanes = [Float](repeating: 0, count: 8), more = lanes
    var i = 0
    while i + 16 <= n {
        for l in 0..<8 {
            lanes[l] += a[i + l] * b[i + l]
            more[l] += a[i + 8 + l] * b[i + 8 + l]
        }
        i += 16
    }
    if i + 8 <= n {
        for l in 0..<8 { lanes[l] += a[i + l] * b[i + l] }
        i += 8
    }
    var sum: Float = -0.0
    for l in 0..<8 { sum += lanes[l] + more[l] }
    while i < n {
        sum += a[i] * b[i]
        i += 1
    }
    return sum
}

@Test(.blocking, .enabled(if: haveAVX, "the CPU has no AVX"))
func avxDotProductsGiveTheBitsOfTheSIMDCode() {
    var generator = SplitMix(seed: 17)
    func random(_ count: Int) -> [Float] {
        (0..<count).map { _ in
            let unit = Float(generator.next() % 2_000_001) / 1_000_000 - 1
            let scale = Float(1 + generator.next() % 1000)
            return unit * scale
        }
    }
    // The resampler's lengths (33, 89, 97 taps) and the pitch search's (123 bins), and the edges.
    for n in [0, 1, 7, 8, 9, 15, 16, 17, 24, 33, 89, 97, 123, 200] {
        let a = random(n), b = random(n), c = random(n), d = random(n)
        let expected = referenceDot(a, b), expected1 = referenceDot(c, d)
        var pair: [Float] = [0, 0]
        let single = a.withUnsafeBufferPointer { ab in b.withUnsafeBufferPointer { bb in
            helios_dot_avx(ab.baseAddress, bb.baseAddress, n)
        } }
        a.withUnsafeBufferPointer { ab in b.withUnsafeBufferPointer { bb in
            c.withUnsafeBufferPointer { cb in d.withUnsafeBufferPointer { db in
                pair.withUnsafeMutableBufferPointer { helios_dot2_avx(ab.baseAddress, bb.baseAddress, cb.baseAddress, db.baseAddress, n, $0.baseAddress) }
            } }
        } }
        #expect(single.bitPattern == expected.bitPattern, "n = \(n)")
        #expect(pair[0].bitPattern == expected.bitPattern, "n = \(n)")
        #expect(pair[1].bitPattern == expected1.bitPattern, "n = \(n)")
    }
}

/// SignalFront's mono levels in AVX against its SIMD8 loop's arithmetic, lane by lane in scalar
/// code: flushing, the written samples, each lane's peak, sum of squares and clip count.
@Test(.blocking, .enabled(if: haveAVX, "the CPU has no AVX"))
func avxMonoLevelsGiveTheBitsOfTheSIMDCode() {
    var generator = SplitMix(seed: 23)
    let n = 8 * 125
    var x = (0..<n).map { _ in Float(generator.next() % 2_000_001) / 1_000_000 - 1 }
    for k in stride(from: 3, to: n, by: 37) { x[k] = Float(generator.next() % 100) * 1e-32 }  // under the flush level
    for k in stride(from: 5, to: n, by: 41) { x[k] = k % 2 == 0 ? 1 : -0.995 }  // clipped
    let tiny = SignalFront.flushBelow, clip = SpeechEstimator.clipLevel
    var peak = [Float](repeating: 0, count: 8), sum = peak, clips = peak
    var expectedOut = [Float](repeating: 0, count: n)
    for i in 0..<n {
        let lane = i % 8
        var a = x[i], ma = abs(x[i])
        if ma < tiny { a = 0; ma = 0 }
        expectedOut[i] = a
        if ma > peak[lane] { peak[lane] = ma }
        sum[lane] += a * a
        if ma >= clip { clips[lane] += 1 }
    }
    var out = [Float](repeating: .nan, count: n)
    var gotPeak = [Float](repeating: 0, count: 8), gotSum = gotPeak, gotClips = gotPeak
    x.withUnsafeBufferPointer { xb in
        out.withUnsafeMutableBufferPointer { ob in
            helios_levels_mono_avx(xb.baseAddress, ob.baseAddress, n, tiny, clip, &gotPeak, &gotSum, &gotClips)
        }
    }
    #expect(out.map(\.bitPattern) == expectedOut.map(\.bitPattern))
    #expect(gotPeak.map(\.bitPattern) == peak.map(\.bitPattern))
    #expect(gotSum.map(\.bitPattern) == sum.map(\.bitPattern))
    #expect(gotClips == clips)
    #expect(clips.reduce(0, +) > 10 && expectedOut.contains(0))
}

import CKernels
/// The first stage of the speech pass, the one that sees every decoded sample: the per-channel
/// level figures (peak, RMS, clipping), the downmix to mono (mean of the channels), and the
/// low-pass and resampling to the analysis rate. It holds no frames, so it can run on the
/// decoding thread (`OverlappedDecode.speech`) while the frames are analysed on another.
struct SignalFront {
    let channels: Int
    private(set) var peaks: [Float]
    private(set) var sumSquares: [Double]
    private(set) var clipped: Int64 = 0
    private(set) var samplesSeen: Int64 = 0
    private(set) var framesDecoded: Int64 = 0
    /// Low-pass and resampling to the analysis rate; nil when the input is already at it.
    private var resampler: Resampler?
    /// The downmix buffer, kept between blocks.
    private var monoScratch: [Float] = []

    init(sampleRate: Int, channels: Int, analysisRate: Double) {
        self.channels = channels
        peaks = [Float](repeating: 0, count: channels)
        sumSquares = [Double](repeating: 0, count: channels)
        if Double(sampleRate) > analysisRate {
            resampler = Resampler(inputRate: Double(sampleRate), outputRate: analysisRate)
        }
    }

    /// Takes one block of interleaved samples (a multiple of `channels`); `output` is replaced
    /// by the analysis-rate mono samples it completes.
    @_optimize(speed)
    mutating func process(_ block: UnsafeBufferPointer<Float>, into output: inout [Float]) {
        let c = channels
        let frameCount = block.count / c
        guard frameCount > 0 else { output.removeAll(keepingCapacity: true); return }
        framesDecoded += Int64(frameCount)
        samplesSeen += Int64(frameCount * c)
        let clip = SpeechEstimator.clipLevel
        var clippedHere = 0
        // Downmix into a reused buffer (mean of channels), through raw pointers: this loop sees
        // every decoded sample, so array bounds and uniqueness checks would dominate the check.
        var mono = monoScratch
        monoScratch = []
        if mono.count < frameCount { mono = [Float](repeating: 0, count: frameCount) }
        mono.withUnsafeMutableBufferPointer { m in
            // Optimised builds take eight frames at a time first (a plain loop of Float sums is not
            // vectorised); the scalar loops below finish the rest, or all of it in debug builds.
            let done = c <= 2 ? vectorLevels(block, into: m, frames: frameCount, clipped: &clippedHere) : 0
            if c == 1 {
                var peak = peaks[0], sum: Float = 0
                for i in done..<frameCount {
                    let x = Self.flushed(block[i])
                    m[i] = x
                    let a = abs(x)
                    peak = max(peak, a)
                    sum += x * x
                    clippedHere &+= a >= clip ? 1 : 0
                }
                peaks[0] = peak
                sumSquares[0] += Double(sum)
            } else if c == 2 {
                var p0 = peaks[0], p1 = peaks[1], s0: Float = 0, s1: Float = 0
                for i in done..<frameCount {
                    let x0 = Self.flushed(block[2 * i]), x1 = Self.flushed(block[2 * i + 1])
                    m[i] = (x0 + x1) * 0.5
                    let a0 = abs(x0), a1 = abs(x1)
                    p0 = max(p0, a0)
                    p1 = max(p1, a1)
                    s0 += x0 * x0
                    s1 += x1 * x1
                    clippedHere &+= (a0 >= clip ? 1 : 0) &+ (a1 >= clip ? 1 : 0)
                }
                peaks[0] = p0
                peaks[1] = p1
                sumSquares[0] += Double(s0)
                sumSquares[1] += Double(s1)
            } else {
                let scale = 1 / Float(c)
                var p = peaks, sums = sumSquares
                for i in 0..<frameCount {
                    var s: Float = 0
                    for ch in 0..<c {
                        let x = Self.flushed(block[i * c + ch])
                        s += x
                        let a = abs(x)
                        if a > p[ch] { p[ch] = a }
                        sums[ch] += Double(x * x)
                        clippedHere &+= a >= clip ? 1 : 0
                    }
                    m[i] = s * scale
                }
                peaks = p
                sumSquares = sums
            }
        }
        clipped += Int64(clippedHere)
        if var resampler {
            self.resampler = nil  // keep the resampler's buffers uniquely referenced
            mono.withUnsafeBufferPointer { resampler.process(UnsafeBufferPointer(rebasing: $0[0..<frameCount]), into: &output) }
            self.resampler = resampler
        } else {
            output.removeAll(keepingCapacity: true)
            output.append(contentsOf: mono[0..<frameCount])
        }
        monoScratch = mono
    }

    /// Input frames per output frame of the resampling (1 without it).
    var resamplingStep: Double { resampler?.step ?? 1 }

    /// How many frames before a point `resume(at:history:)` needs to go on from there exactly as
    /// if it had seen the stream from its start: the resampling filter's length less one.
    var historyFrames: Int { resampler.map { $0.tapCount - 1 } ?? 0 }

    /// Readies a fresh front for the part of a stream from frame `position` on, decoded apart
    /// (`SegmentedDecode`): its resampler then gives the outputs a front fed the whole stream
    /// gives from there, bit for bit. `history` holds the interleaved frames just before
    /// `position`, at least `historyFrames` of them (or all there are); they are downmixed as
    /// `process` does, and count in no level figure.
    mutating func resume(at position: Int, history: UnsafeBufferPointer<Float>) {
        guard var resampler else { return }
        let c = channels, frames = history.count / c
        let mono = (0..<frames).map { i -> Float in
            if c == 1 { return Self.flushed(history[i]) }
            if c == 2 { return (Self.flushed(history[2 * i]) + Self.flushed(history[2 * i + 1])) * 0.5 }
            var s: Float = 0
            for ch in 0..<c { s += Self.flushed(history[i * c + ch]) }
            return s * (1 / Float(c))
        }
        self.resampler = nil
        mono.withUnsafeBufferPointer { resampler.resume(at: position, history: $0) }
        self.resampler = resampler
    }

    /// Adds the level figures of `later`, a front that took the samples after this one's (decoded
    /// apart and resumed where this one stopped), and takes over its resampler: the result is
    /// the front that would have seen both parts (its sums of squares added in another order).
    mutating func absorb(_ later: SignalFront) {
        for ch in 0..<min(channels, later.channels) {
            peaks[ch] = max(peaks[ch], later.peaks[ch])
            sumSquares[ch] += later.sumSquares[ch]
        }
        clipped += later.clipped
        samplesSeen += later.samplesSeen
        framesDecoded += later.framesDecoded
        resampler = later.resampler
    }

    /// Samples quieter than this (about -600 dBFS) are silence, passed on as 0: see `vectorLevels`.
    static let flushBelow: Float = 1e-30

    @inline(__always) static func flushed(_ x: Float) -> Float { abs(x) < flushBelow ? 0 : x }

    /// The outputs the resampling filter still holds back, as if silence followed; once, at the end.
    mutating func finish(into output: inout [Float]) {
        output.removeAll(keepingCapacity: true)
        resampler?.finish(into: &output)
        resampler = nil
    }

    /// The downmix and level figures of `process` for one or two channels, eight frames at a time:
    /// returns how many frames it did (a multiple of 8; none in debug builds, where SIMD types are
    /// not specialised and would be slower than the scalar loop).
    @_optimize(speed)
    private mutating func vectorLevels(
        _ block: UnsafeBufferPointer<Float>, into m: UnsafeMutableBufferPointer<Float>, frames: Int, clipped: inout Int
    ) -> Int {
        #if DEBUG
        return 0
        #else
        guard let x = block.baseAddress, let out = m.baseAddress else { return 0 }
        let c = channels, whole = frames / 8 * 8
        let clip = SIMD8<Float>(repeating: SpeechEstimator.clipLevel)
        var p0 = SIMD8<Float>(), p1 = SIMD8<Float>(), s0 = SIMD8<Float>(), s1 = SIMD8<Float>()
        var clips = SIMD8<Float>()  // counts, exact below 2^24 per lane
        var i = 0
        // Below this a sample is silence: flushed to zero, because the decoders' fading tails
        // (Opus after a gap) are subnormal floats, and every filter and FFT step that touches one
        // takes a microcode assist of about a hundred cycles on x86.
        let tiny = SIMD8<Float>(repeating: Self.flushBelow)
        // Mono with AVX: the same lanes in 256-bit registers (CKernels), the same bits.
        if c == 1, haveAVX, whole > 0 {
            withUnsafeMutablePointer(to: &p0) { peak in
                withUnsafeMutablePointer(to: &s0) { sum in
                    withUnsafeMutablePointer(to: &clips) { count in
                        helios_levels_mono_avx(
                            x, out, whole, Self.flushBelow, SpeechEstimator.clipLevel,
                            UnsafeMutableRawPointer(peak).assumingMemoryBound(to: Float.self),
                            UnsafeMutableRawPointer(sum).assumingMemoryBound(to: Float.self),
                            UnsafeMutableRawPointer(count).assumingMemoryBound(to: Float.self))
                    }
                }
            }
            i = whole
        }
        // Mono on its own: the loop below would do the second channel's work on zeros.
        while c == 1, i < whole {
            var a = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
            var ma = unsafeBitCast(unsafeBitCast(a, to: SIMD8<UInt32>.self) & 0x7fff_ffff, to: SIMD8<Float>.self)
            let quiet = ma .< tiny
            a.replace(with: 0, where: quiet)
            ma.replace(with: 0, where: quiet)
            UnsafeMutableRawPointer(out + i).storeBytes(of: a, as: SIMD8<Float>.self)
            p0.replace(with: ma, where: ma .> p0)
            s0 += a * a
            clips.replace(with: clips + 1, where: ma .>= clip)
            i += 8
        }
        while i < whole {
            var a: SIMD8<Float>, b: SIMD8<Float>
            if c == 2 {
                let pair = UnsafeRawPointer(x + 2 * i).loadUnaligned(as: SIMD16<Float>.self)
                a = pair.evenHalf
                b = pair.oddHalf
            } else {
                a = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
                b = SIMD8<Float>()
            }
            // |x| by clearing the sign bit, and lane maxima by select: the generic pointwiseMax
            // is not specialised and costs more than the rest of the loop.
            var ma = unsafeBitCast(unsafeBitCast(a, to: SIMD8<UInt32>.self) & 0x7fff_ffff, to: SIMD8<Float>.self)
            var mb = unsafeBitCast(unsafeBitCast(b, to: SIMD8<UInt32>.self) & 0x7fff_ffff, to: SIMD8<Float>.self)
            let quietA = ma .< tiny, quietB = mb .< tiny
            a.replace(with: 0, where: quietA)
            ma.replace(with: 0, where: quietA)
            b.replace(with: 0, where: quietB)
            mb.replace(with: 0, where: quietB)
            UnsafeMutableRawPointer(out + i).storeBytes(of: c == 2 ? (a + b) * 0.5 : a, as: SIMD8<Float>.self)
            p0.replace(with: ma, where: ma .> p0)
            p1.replace(with: mb, where: mb .> p1)
            s0 += a * a
            s1 += b * b
            clips.replace(with: clips + 1, where: ma .>= clip)
            clips.replace(with: clips + 1, where: mb .>= clip)
            i += 8
        }
        peaks[0] = max(peaks[0], p0.max())
        sumSquares[0] += Double(s0.sum())
        if c == 2 {
            peaks[1] = max(peaks[1], p1.max())
            sumSquares[1] += Double(s1.sum())
        }
        clipped &+= Int(clips.sum())
        return whole
        #endif
    }
}

import FoundationEssentials
import Glibc

/// What one decode pass learned: seconds of speech and the figures behind the quality warnings.
public struct SpeechAnalysis: Sendable, Equatable {
    /// Seconds judged to be speech (after hangover and gap bridging).
    public var speechSeconds: Double
    /// Seconds of audio analysed (decoded frames over the file's sample rate).
    public var analysedSeconds: Double
    /// Seconds before the first and after the last speech frame; the whole length when no speech.
    public var leadingSilence: Double
    public var trailingSilence: Double
    /// Share of all samples (every channel) at or near full scale.
    public var clippedShare: Double
    /// Mean power of the downmix over speech frames, dBFS (a full-scale sine is −3 dBFS); nil without speech.
    public var speechLevel: Double?
    /// Peak absolute sample per channel, and RMS per channel in dBFS.
    public var channelPeaks: [Float]
    public var channelRMS: [Double]
}

/// Voice-activity estimate over decoded audio, streamed in blocks in constant memory.
///
/// Method, in order:
/// 1. **Downmix and decimate.** Channels are averaged and every `decimation` frames are
///    averaged into one sample (a box-car anti-alias filter, −2.7 dB at 3.4 kHz for 48 → 8 kHz),
///    `decimation = max(1, sampleRate / 8000)`, so the analysis rate is 8–16 kHz: 48 k → 8 k,
///    44.1 k → 8.82 k, 16 k → 8 k. All later figures are in seconds and hertz, not samples.
/// 2. **Frames** of 256 analysis samples (16–32 ms), not overlapped, Hann window, one 256-point
///    real FFT each. Per frame:
///    - `energy`: mean power in the speech band 300–3400 Hz, dB;
///    - `bandShare`: that band's share of the power above DC (hum and rumble sit below it);
///    - `flatness`: spectral flatness (geometric / arithmetic mean power) inside the band:
///      about 0.56 for white noise, 0.45 for pink, under 0.3 for voiced speech, whose harmonics
///      leave deep valleys, but also low for any steep spectrum (brown noise, a fan);
///    - `fineFlatness`: the same of each bin against the mean of its ±4 neighbours, blind to
///      the spectrum's slope: 0.53–0.62 for any noise, median 0.27–0.39 for voiced speech;
///    - `peakShare`: the share of the power in the strongest peak (±2 bins): a pure tone puts
///      nearly all of it there, a voice spreads it over several harmonics and formants;
///    - `crossings`: zero-crossing rate of the mean-removed frame, high for fricatives and hiss.
/// 3. **Adaptive noise floor**: the minimum band energy over a window from `floorPast` seconds
///    before to `floorAhead` after the frame (minimum statistics; stationary noise sits at its
///    floor, speech rises above it in syllables and falls back in the gaps between them).
///    A frame is *active* when its energy is `activeAboveFloor` dB over the floor and above the
///    absolute `activeMinimum`.
/// 4. **Voiced** frames are active frames with a speech-like spectrum: flatness under
///    `voicedFlatness`, fine flatness under `voicedFineFlatness`, band share over `voicedBandShare`, peak share under `tonalPeakShare`.
///    *Fricatives* are active frames in the band with a zero-crossing rate over
///    `fricativeCrossings` (/s/, /f/, /ʃ/): they count only next to voiced frames.
/// 5. **Smoothing**: an active frame counts as speech when a voiced frame lies within `hangover`
///    seconds either side (twice that for a fricative); runs of voiced frames shorter than `minimumVoiced` are dropped (a
///    blip of noise), and gaps up to `bridge` seconds between speech frames count as speech
///    (the pauses inside words and between close words, as the accuracy labels count them).
///
/// Decisions lag the input by `floorAhead + 2·hangover + minimumVoiced` seconds held in ring buffers, so memory
/// does not grow with the file.
public struct SpeechEstimator {
    // Parameters (see the method above). Tuned on bench/speech-accuracy.sh's corpus.
    static let targetRate = 8000
    static let frameSize = 256
    static let bandLow = 300.0, bandHigh = 3400.0
    static let floorPast = 3.0, floorAhead = 1.0
    static let activeAboveFloor: Float = 5
    static let activeMinimum: Float = -75
    static let voicedFlatness: Float = 0.30
    static let voicedFineFlatness: Float = 0.56
    static let voicedBandShare: Float = 0.30
    static let tonalPeakShare: Float = 0.90
    static let fricativeCrossings: Float = 0.25
    static let hangover = 0.20
    static let minimumVoiced = 0.06
    static let bridge = 0.15
    /// |sample| at or above this counts as clipped (lossy codecs overshoot around 1.0).
    static let clipLevel: Float = 0.99

    let sampleRate: Int
    let channels: Int
    let decimation: Int
    /// Analysis rate after decimation, Hz.
    let analysisRate: Double
    let frameSeconds: Double

    // Per-channel level figures.
    private var peaks: [Float]
    private var sumSquares: [Double]
    private var clipped: Int64 = 0
    private var samplesSeen: Int64 = 0
    private var framesDecoded: Int64 = 0

    // Decimation and framing.
    private var accumulator: Float = 0
    private var accumulated = 0
    private var frame: [Float]
    private var filled = 0
    /// The downmix buffer, kept between blocks.
    private var monoScratch: [Float] = []
    private let window: [Float]
    private var windowed: [Float]
    private var spectrum: [Float]
    private var fft: RealFFT
    private let bandBins: Range<Int>
    private let energyScale: Float

    // Frame features in a ring buffer, indexed by frame number modulo its capacity.
    private struct Features {
        var energy: Float = -200
        var power: Float = 0
        var voiced = false
        var fricative = false
        var active = false
    }
    private var ring: [Features]
    private let floorPastFrames: Int, floorAheadFrames: Int, hangFrames: Int
    private let minimumVoicedFrames: Int, bridgeFrames: Int
    private var analysed = 0          // frames analysed (features known)
    private var decided = 0           // frames decided
    private var activeDecided = 0     // frames whose `active` flag is set (lags by floorAhead)
    private var speechFrames = 0
    private var firstSpeech: Int?
    private var lastSpeech: Int?
    private var speechPower: Double = 0
    private var poweredFrames = 0

    /// nil when the rate is too low to hold the speech band (below 6 kHz).
    public init?(sampleRate: Int, channels: Int) {
        guard sampleRate >= 6000, channels > 0 else { return nil }
        self.sampleRate = sampleRate
        self.channels = channels
        decimation = max(1, sampleRate / Self.targetRate)
        analysisRate = Double(sampleRate) / Double(decimation)
        let n = Self.frameSize
        frameSeconds = Double(n) / analysisRate
        peaks = [Float](repeating: 0, count: channels)
        sumSquares = [Double](repeating: 0, count: channels)
        frame = [Float](repeating: 0, count: n)
        window = (0..<n).map { Float(0.5 - 0.5 * cos(2 * Double.pi * Double($0) / Double(n))) }
        windowed = [Float](repeating: 0, count: n)
        spectrum = [Float](repeating: 0, count: n / 2 + 1)
        fft = RealFFT(size: n)
        let binWidth = analysisRate / Double(n)
        let low = max(1, Int((Self.bandLow / binWidth).rounded(.up)))
        let high = min(n / 2 - 1, Int(Self.bandHigh / binWidth))
        bandBins = low..<max(low + 1, high + 1)
        // One-sided power to mean square: 2 / (N · Σw²); Σw² = 3N/8 for Hann.
        energyScale = Float(2.0 / (Double(n) * Double(n) * 3 / 8))
        let seconds = frameSeconds
        let frames = { (span: Double) -> Int in max(1, Int((span / seconds).rounded())) }
        floorPastFrames = frames(Self.floorPast)
        floorAheadFrames = frames(Self.floorAhead)
        hangFrames = frames(Self.hangover)
        minimumVoicedFrames = frames(Self.minimumVoiced)
        bridgeFrames = frames(Self.bridge)
        let capacity = floorPastFrames + floorAheadFrames + 4 * hangFrames + 2 * minimumVoicedFrames + 8
        ring = [Features](repeating: Features(), count: capacity)
    }

    /// Feeds one block of interleaved samples (any length that is a multiple of `channels`).
    public mutating func consume(_ block: UnsafeBufferPointer<Float>) {
        let c = channels
        let frameCount = block.count / c
        guard frameCount > 0 else { return }
        framesDecoded += Int64(frameCount)
        samplesSeen += Int64(frameCount * c)
        let clip = Self.clipLevel
        var clippedHere = 0
        // Downmix into a reused buffer (mean of channels), through raw pointers: this loop sees
        // every decoded sample, so array bounds and uniqueness checks would dominate the check.
        var mono = monoScratch
        monoScratch = []
        if mono.count < frameCount { mono = [Float](repeating: 0, count: frameCount) }
        mono.withUnsafeMutableBufferPointer { m in
            if c == 1 {
                var peak = peaks[0], sum: Float = 0
                for i in 0..<frameCount {
                    let x = block[i]
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
                for i in 0..<frameCount {
                    let x0 = block[2 * i], x1 = block[2 * i + 1]
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
                        let x = block[i * c + ch]
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
        // Decimate by box-car averaging into frames, analysing each frame as it fills.
        let d = decimation
        let scale = 1 / Float(d)
        var acc = accumulator, count = accumulated, fill = filled
        var i = 0
        while i < frameCount {
            var full = false
            frame.withUnsafeMutableBufferPointer { f in
                mono.withUnsafeBufferPointer { m in
                    while i < frameCount {
                        acc += m[i]
                        i += 1
                        count += 1
                        if count == d {
                            f[fill] = acc * scale
                            acc = 0
                            count = 0
                            fill += 1
                            if fill == Self.frameSize {
                                full = true
                                return
                            }
                        }
                    }
                }
            }
            if full {
                analyseFrame()
                fill = 0
            }
        }
        accumulator = acc
        accumulated = count
        filled = fill
        monoScratch = mono
    }

    /// Decides the frames still held back and returns the figures.
    public mutating func finish() -> SpeechAnalysis {
        // Frames within floorAhead/hangover of the end are decided with what is there.
        while activeDecided < analysed { markActive(activeDecided, limit: analysed) }
        while decided < analysed { decide(decided, limit: analysed) }
        let total = Double(analysed) * frameSeconds
        let seconds = Double(speechFrames) * frameSeconds
        let leading = firstSpeech.map { Double($0) * frameSeconds } ?? total
        let trailing = lastSpeech.map { total - Double($0 + 1) * frameSeconds } ?? total
        let level: Double? = poweredFrames > 0 ? 10 * log10(max(speechPower / Double(poweredFrames), 1e-20)) : nil
        let rms = sumSquares.map { sum -> Double in
            let meanSquare = framesDecoded > 0 ? sum / Double(framesDecoded) : 0
            return 10 * log10(max(meanSquare, 1e-20))
        }
        return SpeechAnalysis(
            speechSeconds: seconds, analysedSeconds: Double(framesDecoded) / Double(sampleRate),
            leadingSilence: leading, trailingSilence: max(0, trailing),
            clippedShare: samplesSeen > 0 ? Double(clipped) / Double(samplesSeen) : 0,
            speechLevel: level, channelPeaks: peaks, channelRMS: rms)
    }

    // MARK: - Per frame

    private mutating func analyseFrame() {
        let n = Self.frameSize
        var features = Features()
        var crossings = 0
        frame.withUnsafeBufferPointer { x in
            windowed.withUnsafeMutableBufferPointer { w in
                var mean: Float = 0
                for i in 0..<n { mean += x[i] }
                mean /= Float(n)
                var previous = x[0] - mean
                for i in 0..<n {
                    let v = x[i] - mean
                    crossings &+= (v >= 0) != (previous >= 0) ? 1 : 0
                    previous = v
                    w[i] = v * window[i]
                }
            }
        }
        windowed.withUnsafeBufferPointer { w in
            spectrum.withUnsafeMutableBufferPointer { fft.power(of: w, into: $0) }
        }
        spectrum.withUnsafeBufferPointer { p in
            var total: Float = 0
            var strongest = 1
            for k in 1..<(n / 2) {
                total += p[k]
                if p[k] > p[strongest] { strongest = k }
            }
            var band: Float = 0
            var logSum: Float = 0
            let tiny: Float = 1e-12
            for k in bandBins {
                band += p[k]
                logSum += log(p[k] + tiny)
            }
            let bins = Float(bandBins.count)
            let flatness = exp(logSum / bins) / (band / bins + tiny)
            // Fine structure: each bin against the mean of its ±4 neighbours, so a steep but
            // smooth spectrum (brown noise, a fan) is not mistaken for harmonics.
            let reach = 4
            var localLog: Float = 0
            for k in bandBins {
                let from = max(1, k - reach), to = min(n / 2, k + reach)
                var s: Float = 0
                for j in from...to { s += p[j] }
                localLog += log((p[k] + tiny) / (s / Float(to - from + 1) + tiny))
            }
            let fineFlatness = exp(localLog / bins)
            var peak: Float = 0
            for k in max(1, strongest - 2)...min(n / 2 - 1, strongest + 2) { peak += p[k] }
            let power = band * energyScale
            features.energy = 10 * log10(power + tiny)
            features.power = (total + p[0]) * energyScale
            let bandShare = total > 0 ? band / total : 0
            let peakShare = total > 0 ? peak / total : 1
            let spectral = flatness < Self.voicedFlatness && fineFlatness < Self.voicedFineFlatness
                && bandShare > Self.voicedBandShare && peakShare < Self.tonalPeakShare
            features.voiced = spectral
            features.fricative = !spectral && bandShare > Self.voicedBandShare
                && Float(crossings) / Float(n) > Self.fricativeCrossings
        }
        ring[analysed % ring.count] = features
        analysed += 1
        // A frame's activity needs floorAhead frames after it; its speech decision needs the
        // activity of hangover frames after it.
        while activeDecided + floorAheadFrames < analysed { markActive(activeDecided, limit: analysed) }
        while decided + 2 * hangFrames + minimumVoicedFrames < activeDecided { decide(decided, limit: activeDecided) }
    }

    /// Compares frame `i` with the minimum energy of its window: active or not, and keeps
    /// `voiced`/`fricative` only for active frames.
    private mutating func markActive(_ i: Int, limit: Int) {
        let from = max(0, i - floorPastFrames, analysed - ring.count + 1)
        let to = min(limit - 1, i + floorAheadFrames)
        var floor = Float.infinity
        for j in from...max(from, to) { floor = min(floor, ring[j % ring.count].energy) }
        var f = ring[i % ring.count]
        f.active = f.energy > floor + Self.activeAboveFloor && f.energy > Self.activeMinimum
        f.voiced = f.voiced && f.active
        f.fricative = f.fricative && f.active
        ring[i % ring.count] = f
        activeDecided = i + 1
    }

    /// Speech when active and a confirmed voiced frame lies within the hangover.
    private mutating func decide(_ i: Int, limit: Int) {
        let f = ring[i % ring.count]
        decided = i + 1
        guard f.active else { return }
        // A fricative (flat spectrum, many zero crossings) may run longer than a short hangover.
        let reach = f.fricative ? 2 * hangFrames : hangFrames
        let from = max(0, i - reach), to = min(limit - 1, i + reach)
        for j in from...max(from, to) where confirmedVoiced(j, limit: limit) {
            count(i, f.power)
            return
        }
    }

    /// A voiced frame in a run of at least `minimumVoiced`: one voiced frame alone is a blip.
    private func confirmedVoiced(_ j: Int, limit: Int) -> Bool {
        guard ring[j % ring.count].voiced else { return false }
        var run = 1
        var k = j - 1
        let oldest = max(0, analysed - ring.count + 1)
        while run < minimumVoicedFrames, k >= oldest, ring[k % ring.count].voiced { run += 1; k -= 1 }
        k = j + 1
        while run < minimumVoicedFrames, k < limit, ring[k % ring.count].voiced { run += 1; k += 1 }
        return run >= minimumVoicedFrames
    }

    private mutating func count(_ i: Int, _ power: Float) {
        if let last = lastSpeech, i - last - 1 <= bridgeFrames {
            speechFrames += i - last - 1  // bridge a short gap
        }
        if firstSpeech == nil { firstSpeech = i }
        lastSpeech = i
        speechFrames += 1
        speechPower += Double(power)
        poweredFrames += 1
    }
}

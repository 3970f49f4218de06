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

/// Voice-activity estimate over decoded audio, streamed in blocks in constant memory. Tuned and
/// measured on real, hand-labelled speech with noise, resampling and codecs (bench/speech-real.sh).
///
/// Method, in order:
/// 1. **Downmix and resample.** Channels are averaged and the mono signal is low-passed at
///    3.6 kHz and resampled to exactly 8 kHz (`Resampler`), whatever the input rate, 44.1 kHz
///    included, so every recording is analysed alike; rates of 6–8 kHz are analysed as they are.
///    Later figures are in seconds and hertz.
/// 2. **Frames** of 256 samples (32 ms), not overlapped, Hann window, zero-padded to 512 for one
///    real FFT (its even bins are the frame's own 256-point spectrum). Per frame:
///    - `energy`: mean power in the speech band 300–3400 Hz, dB;
///    - `bandShare`: that band's share of the power above DC (hum and rumble sit below it);
///    - `flatness`: spectral flatness (geometric / arithmetic mean power) inside the band:
///      about 0.56 for white noise, 0.45 for pink, under 0.3 for voiced speech;
///    - `fineFlatness`: the same of each bin against the mean of its ±4 neighbours, blind to
///      the spectrum's slope: 0.53–0.62 for any noise, median 0.27–0.39 for voiced speech;
///    - `peakShare`: the share of the power in the strongest peak (±2 bins): a pure tone puts
///      nearly all of it there, a voice spreads it over several harmonics and formants;
///    - `crossings`: zero-crossing rate of the mean-removed frame, high for fricatives and hiss;
///    - `pitch` strength: the spectrum over 80–2000 Hz is divided bin by bin by the noise's own
///      power there (the minimum over `noiseWindow` of the power smoothed over time), so steady
///      noise of any colour, and hum, come out flat; the autocorrelation of that whitened
///      spectrum at lags of 78–400 Hz, over the window's own, peaks near 1 for a voice and stays
///      low for noise. Unlike flatness it survives noise: at 10 dB SNR it still finds most vowels,
///      and it keeps deep voices whose energy lies under 300 Hz.
/// 3. **Adaptive floor and level**: the floor is the minimum band energy over a window from
///    `floorPast` seconds before to `floorAhead` after the frame (minimum statistics). When the
///    minimum before the frame and the one up to `regimeAhead` after it differ by more than
///    `regimeStep` dB, the background changes there (speech next to a gap of digital silence or of
///    a quieter room): the frame takes the louder side's minimum, its own background, not the
///    quieter side's, which would make the soft sounds of a noisy room active and seeding for
///    seconds beside the gap. The speech level follows voiced frames (up fast, down slowly) and
///    starts afresh after `levelReset` seconds without a voiced frame, so that a quieter speaker
///    after a long pause is not measured against a louder one's level (the price: a voice alone
///    after such a pause, even a background one, sets the level itself). Two thresholds over the
///    floor, as in a classic double-threshold endpoint detector: a frame is *active* when its
///    energy is over the floor by `activeShare` of the distance to the speech level (at least
///    `activeAboveFloor` dB), low enough to keep soft onsets, offsets and syllables; a voiced
///    frame *seeds* speech only over `seedShare` of that distance (but never more than
///    `seedBelowLevel` dB under the level, which in noise is all there is). Voiced sound well
///    under the speaker (a voice in the background, a murmur between phrases) is active but seeds
///    nothing, so it counts only within the hangover of the speaker's own voice. A frame voiced
///    by its pitch alone is held against the seed threshold with its energy from `voiceLow` Hz
///    up, not from 300 Hz: a deep voice or a nasal (/m/, /n/) puts most of its energy into its
///    low harmonics under the speech band, where the speech-band energy misses it. The floor is
///    never taken more than `levelRange` dB under the level (digital silence would make anything
///    active).
/// 4. **Voiced** frames are frames over the seed threshold with a speech-like spectrum (flatness under
///    `voicedFlatness`, fine flatness under `voicedFineFlatness` or a pitch strength over
///    `weakPitch`, band share over
///    `voicedBandShare`, peak share under `tonalPeakShare`) or a pitch strength over
///    `voicedPitch` (and not over `pitchCeiling`, which only a ragged spectrum reaches).
///    *Fricatives* are active frames in the band with a zero-crossing rate over
///    `fricativeCrossings`: they count only next to voiced frames.
/// 5. **Smoothing**: an active frame counts as speech when a voiced frame lies within the hangover
///    either side (twice that for a fricative); voiced runs shorter than `minimumVoiced`
///    (`pitchRun` when voiced by pitch alone) are dropped as blips, and gaps up to the bridge
///    between speech frames count as speech. Hangover and bridge grow from `hangover`/`bridge`
///    in a clean recording (speech `cleanRange` dB or more over the floor) to
///    `noisyHangover`/`noisyBridge` in a noisy one (`noisyRange` dB), where noise masks the soft
///    ends of words.
///
/// Decisions lag the input by `regimeAhead + 2·noisyHangover + pitchRun` seconds held in ring buffers,
/// so memory does not grow with the file.
public struct SpeechEstimator {
    // Parameters (see the method above), tuned on bench/speech-real.sh's corpus of real speech.
    static let targetRate = 8000
    static let frameSize = 256
    static let bandLow = 300.0, bandHigh = 3400.0
    /// The low edge of a pitched frame's energy at the seed test: a deep voice's low harmonics
    /// (a 110 Hz voice has its second and third at 220 and 330 Hz), above mains hum and rumble.
    static let voiceLow = 150.0
    static let floorPast = 3.0, floorAhead = 1.0
    /// A change of background: when the minimum over `floorPast` before a frame and the one over
    /// `regimeAhead` after it (both with the frame) differ by more than `regimeStep` dB, the quieter
    /// side is another background (digital silence, a quieter room) and the frame's own floor is
    /// the louder side's.
    static let regimeAhead = 2.0
    static let regimeStep: Float = 10
    /// After this long without a voiced frame, the speech level starts afresh from the next one.
    static let levelReset = 3.0
    static let activeAboveFloor: Float = 3
    static let activeMinimum: Float = -75
    /// The activity threshold grows with the recording's dynamic range: `activeShare` of the
    /// distance from the floor to the speech level (voiced frames, tracked up fast and down slowly),
    /// between `activeAboveFloor` and `activeCeiling` dB.
    static let activeShare: Float = 0.2
    /// The seed threshold: `seedShare` of the same distance (same bounds), at most
    /// `seedBelowLevel` dB under the level. Only voiced frames over it start speech.
    static let seedShare: Float = 0.6
    static let seedBelowLevel: Float = 6
    /// The floor is never taken lower than this (dB): digital silence would make anything active.
    static let floorMinimum: Float = -80
    static let levelRange: Float = 30
    static let activeCeiling: Float = 20
    static let levelRise: Float = 0.1
    static let levelFall: Float = 0.01
    static let voicedFlatness: Float = 0.30
    static let voicedFineFlatness: Float = 0.56
    static let voicedBandShare: Float = 0.30
    static let tonalPeakShare: Float = 0.90
    /// Pitch strength: the normalized autocorrelation peak of the noise-whitened spectrum over
    /// `pitchBandLow`…`pitchBandHigh`, at lags of `pitchLow`…`pitchHigh` Hz.
    static let pitchBandLow = 80.0, pitchBandHigh = 2000.0
    static let pitchLow = 78.0, pitchHigh = 400.0
    static let voicedPitch: Float = 0.6
    /// Pitch strength that, with a speech-like spectrum, stands in for fine structure.
    static let weakPitch: Float = 0.45
    static let pitchCeiling: Float = 1.1
    /// A run of frames voiced by pitch alone confirms voicing only at this length.
    static let pitchRun = 0.1
    /// The noise power at a bin is the mean of the tracked minima within ± this many (padded)
    /// bins: a single bin's minimum is too ragged to divide by.
    static let noiseSpread = 1
    /// Noise shape per bin: minimum over `noiseWindow` seconds (`noiseSubwindows` pieces) of the
    /// power smoothed over time by `noiseSmoothing`.
    static let noiseSmoothing: Float = 0.85
    static let noiseWindow = 3.0
    static let noiseSubwindows = 6
    /// Rates above this are not analysed (the resampling filter grows with the rate).
    static let maximumRate = 768_000
    static let fricativeCrossings: Float = 0.25
    static let hangover = 0.20
    static let noisyHangover = 0.5
    static let noisyBridge = 0.4
    static let cleanRange: Float = 16
    static let noisyRange: Float = 8
    static let minimumVoiced = 0.06
    static let bridge = 0.15
    /// |sample| at or above this counts as clipped (lossy codecs overshoot around 1.0).
    static let clipLevel: Float = 0.99

    let sampleRate: Int
    let channels: Int
    /// Analysis rate after resampling, Hz: 8 kHz, or the input's rate when that is lower.
    let analysisRate: Double
    let frameSeconds: Double

    /// Downmix, level figures and resampling: everything that sees each decoded sample.
    private var front: SignalFront

    // Decimation and framing.
    /// The front's output, at the analysis rate.
    private var resampled: [Float] = []
    private var frame: [Float]
    private var filled = 0
    private let window: [Float]
    private var windowed: [Float]
    private var spectrum: [Float]
    /// The frame's own spectrum (the even bins of `spectrum`).
    private var own: [Float]
    private var fft: RealFFT
    private let bandBins: Range<Int>
    /// Bins from `voiceLow` up to the speech band's first.
    private let voiceLowBins: Range<Int>
    private let energyScale: Float
    // Pitch strength: padded spectrum bins of the pitch band, lags, cosine table, window's autocorrelation.
    private let pitchBins: Range<Int>
    private let lags: Range<Int>
    private let cosines: [Float]
    private let windowCorrelation: [Float]
    private var whitened: [Float]
    /// The whitened spectrum's correlation at each lag (before dividing by the window's).
    private var lagSums: [Float]
    // Noise shape over the pitch band.
    private var smoothed: [Float]
    private var currentMinimum: [Float]
    private var minima: [[Float]]
    private var noiseShape: [Float]
    /// `noiseShape` averaged over neighbouring bins (`updateNoiseMean`).
    private var noiseMean: [Float]
    private let subwindowFrames: Int
    private var subwindowFill = 0
    private var subwindowsFilled = 0

    // Frame features in a ring buffer, indexed by frame number modulo its capacity.
    private struct Features {
        var energy: Float = -200
        var power: Float = 0
        var voiced = false
        /// Voiced by its spectrum's shape (not only by its pitch).
        var spectral = false
        /// Band energy from `voiceLow` Hz up, dB: the seed test's measure of a frame voiced by pitch
        /// alone (set for those frames only).
        var voiceEnergy: Float = -200
        var fricative = false
        var active = false
        /// 0 in a clean recording … 1 in a noisy one: how far the speech stands above the floor.
        var noisiness: Float = 0
        /// The speech level once this frame was analysed (nil before the first voiced frame).
        var level: Float?
    }
    private var ring: [Features]
    private let floorPastFrames: Int, floorAheadFrames: Int, hangFrames: Int
    private let regimeAheadFrames: Int, levelResetFrames: Int
    private let minimumVoicedFrames: Int, bridgeFrames: Int
    /// Hangover and bridge in the noisiest recordings (see `noisyRange`).
    private let noisyHangFrames: Int, noisyBridgeFrames: Int
    private let pitchRunFrames: Int
    private var analysed = 0          // frames analysed (features known)
    private var decided = 0           // frames decided
    private var activeDecided = 0     // frames whose `active` flag is set (lags by floorAhead)
    private var speechFrames = 0
    private var firstSpeech: Int?
    private var lastSpeech: Int?
    private var speechPower: Double = 0
    private var poweredFrames = 0
    /// Level of voiced frames, dB (nil before the first).
    private var voicedLevel: Float?
    /// The last frame that moved `voicedLevel`.
    private var lastLevelFrame = 0

    /// nil when the rate is too low to hold the speech band (below 6 kHz) or above `maximumRate`.
    public init?(sampleRate: Int, channels: Int) {
        guard sampleRate >= 6000, sampleRate <= Self.maximumRate, channels > 0 else { return nil }
        self.sampleRate = sampleRate
        self.channels = channels
        let n = Self.frameSize
        analysisRate = Double(min(sampleRate, Self.targetRate))
        front = SignalFront(sampleRate: sampleRate, channels: channels, analysisRate: analysisRate)
        frameSeconds = Double(n) / analysisRate
        frame = [Float](repeating: 0, count: n)
        window = (0..<n).map { Float(0.5 - 0.5 * cos(2 * Double.pi * Double($0) / Double(n))) }
        // The frame is zero-padded to twice its length: even bins are its own spectrum's, and
        // the autocorrelation of the padded spectrum is free of circular wrap.
        let padded = 2 * n
        windowed = [Float](repeating: 0, count: padded)
        spectrum = [Float](repeating: 0, count: padded / 2 + 1)
        own = [Float](repeating: 0, count: n / 2 + 1)
        fft = RealFFT(size: padded)
        let binWidth = analysisRate / Double(n)
        let low = max(1, Int((Self.bandLow / binWidth).rounded(.up)))
        let high = min(n / 2 - 1, Int(Self.bandHigh / binWidth))
        bandBins = low..<max(low + 1, high + 1)
        voiceLowBins = min(low, max(1, Int((Self.voiceLow / binWidth).rounded(.up))))..<low
        let paddedWidth = analysisRate / Double(padded)
        let pitchLowBin = max(1, Int((Self.pitchBandLow / paddedWidth).rounded(.up)))
        let pitchHighBin = min(padded / 2 - 1, Int(Self.pitchBandHigh / paddedWidth))
        pitchBins = pitchLowBin..<max(pitchLowBin + 1, pitchHighBin + 1)
        // Lags up to 0.4 n (78 Hz at 8 kHz), where the window's own autocorrelation is still 0.34:
        // beyond, dividing by it magnifies noise into false peaks.
        let shortest = max(2, Int((analysisRate / Self.pitchHigh).rounded(.down)))
        let longest = min(Int(0.4 * Double(n)), Int((analysisRate / Self.pitchLow).rounded(.up)))
        lags = shortest..<max(shortest + 1, longest + 1)
        var table = [Float](repeating: 0, count: lags.count * pitchBins.count)
        for (li, lag) in lags.enumerated() {
            for (bi, bin) in pitchBins.enumerated() {
                table[li * pitchBins.count + bi] = Float(cos(2 * Double.pi * Double(bin * lag) / Double(padded)))
            }
        }
        cosines = table
        let w = window
        let energy = w.reduce(0) { $0 + $1 * $1 }
        windowCorrelation = lags.map { lag in
            var sum: Float = 0
            for i in 0..<(n - lag) { sum += w[i] * w[i + lag] }
            return sum / energy
        }
        whitened = [Float](repeating: 0, count: pitchBins.count)
        lagSums = [Float](repeating: 0, count: lags.count)
        smoothed = [Float](repeating: 0, count: pitchBins.count)
        currentMinimum = [Float](repeating: .infinity, count: pitchBins.count)
        minima = []
        noiseShape = [Float](repeating: 1, count: pitchBins.count)
        noiseMean = [Float](repeating: 0, count: pitchBins.count)
        // One-sided power to mean square: 2 / (N · Σw²); Σw² = 3N/8 for Hann.
        energyScale = Float(2.0 / (Double(n) * Double(n) * 3 / 8))
        let seconds = frameSeconds
        let frames = { (span: Double) -> Int in max(1, Int((span / seconds).rounded())) }
        subwindowFrames = frames(Self.noiseWindow / Double(Self.noiseSubwindows))
        floorPastFrames = frames(Self.floorPast)
        floorAheadFrames = frames(Self.floorAhead)
        regimeAheadFrames = max(floorAheadFrames, frames(Self.regimeAhead))
        levelResetFrames = frames(Self.levelReset)
        hangFrames = frames(Self.hangover)
        minimumVoicedFrames = frames(Self.minimumVoiced)
        bridgeFrames = frames(Self.bridge)
        pitchRunFrames = max(minimumVoicedFrames, frames(Self.pitchRun))
        noisyHangFrames = max(hangFrames, frames(Self.noisyHangover))
        noisyBridgeFrames = max(bridgeFrames, frames(Self.noisyBridge))
        let capacity = floorPastFrames + regimeAheadFrames + 4 * noisyHangFrames + 2 * pitchRunFrames + 8
        ring = [Features](repeating: Features(), count: capacity)
        updateNoiseMean()
    }

    /// Feeds one block of interleaved samples (any length that is a multiple of `channels`).
    public mutating func consume(_ block: UnsafeBufferPointer<Float>) {
        front.process(block, into: &resampled)
        let out = resampled
        resampled = []
        out.withUnsafeBufferPointer { push($0) }
        resampled = out
    }

    /// Appends analysis-rate samples to the frame, analysing each frame as it fills.
    @_optimize(speed)
    private mutating func push(_ samples: UnsafeBufferPointer<Float>) {
        var i = 0
        while i < samples.count {
            let room = Self.frameSize - filled
            let take = min(room, samples.count - i)
            frame.withUnsafeMutableBufferPointer { f in
                for j in 0..<take { f[filled + j] = samples[i + j] }
            }
            filled += take
            i += take
            if filled == Self.frameSize {
                analyseFrame()
                filled = 0
            }
        }
    }

    /// Decides the frames still held back and returns the figures.
    public mutating func finish() -> SpeechAnalysis {
        var last = front
        return finish(front: &last)
    }

    /// The front, to run elsewhere (`OverlappedDecode.speech`): its output goes to
    /// `consumeAnalysisRate`, and it comes back to `finish(front:)`.
    var detachedFront: SignalFront { front }

    /// Feeds samples the front has already downmixed and resampled.
    mutating func consumeAnalysisRate(_ samples: UnsafeBufferPointer<Float>) { push(samples) }

    /// As `finish()`, with the front that took the decoded samples (it is finished here).
    mutating func finish(front: inout SignalFront) -> SpeechAnalysis {
        var tail: [Float] = []
        front.finish(into: &tail)
        tail.withUnsafeBufferPointer { push($0) }
        // Frames within floorAhead/hangover of the end are decided with what is there.
        while activeDecided < analysed { markActive(activeDecided, limit: analysed) }
        while decided < analysed { decide(decided, limit: analysed) }
        let total = Double(analysed) * frameSeconds
        let seconds = Double(speechFrames) * frameSeconds
        let leading = firstSpeech.map { Double($0) * frameSeconds } ?? total
        let trailing = lastSpeech.map { total - Double($0 + 1) * frameSeconds } ?? total
        let level: Double? = poweredFrames > 0 ? 10 * log10(max(speechPower / Double(poweredFrames), 1e-20)) : nil
        let rms = front.sumSquares.map { sum -> Double in
            let meanSquare = front.framesDecoded > 0 ? sum / Double(front.framesDecoded) : 0
            return 10 * log10(max(meanSquare, 1e-20))
        }
        return SpeechAnalysis(
            speechSeconds: seconds, analysedSeconds: Double(front.framesDecoded) / Double(sampleRate),
            leadingSilence: leading, trailingSilence: max(0, trailing),
            clippedShare: front.samplesSeen > 0 ? Double(front.clipped) / Double(front.samplesSeen) : 0,
            speechLevel: level, channelPeaks: front.peaks, channelRMS: rms)
    }

    // MARK: - Per frame

    @_optimize(speed)
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
                for i in n..<(2 * n) { w[i] = 0 }
            }
        }
        windowed.withUnsafeBufferPointer { w in
            spectrum.withUnsafeMutableBufferPointer { fft.power(of: w, into: $0) }
        }
        let pitch = pitchStrength()
        // The frame's own spectrum: the even bins of the padded one, copied out so that the loops
        // below read in order.
        spectrum.withUnsafeBufferPointer { padded in
            own.withUnsafeMutableBufferPointer { o in
                for k in 0...(n / 2) { o[k] = padded[2 * k] }
            }
        }
        own.withUnsafeBufferPointer { p in
            var total: Float = 0
            var strongest = 1
            for k in 1..<(n / 2) {
                total += p[k]
                if p[k] > p[strongest] { strongest = k }
            }
            var band: Float = 0
            let tiny: Float = 1e-12
            for k in bandBins { band += p[k] }
            let logSum = Self.sumOfLogs(bandBins) { k in p[k] + tiny }
            let bins = Float(bandBins.count)
            let flatness = exp(logSum / bins) / (band / bins + tiny)
            // Fine structure: each bin against the mean of its ±4 neighbours, so a steep but
            // smooth spectrum (brown noise, a fan) is not mistaken for harmonics.
            let reach = 4
            let localLog = Self.sumOfLogs(bandBins) { k in
                let from = max(1, k - reach), to = min(n / 2, k + reach)
                var s: Float = 0
                for j in from...to { s += p[j] }
                return (p[k] + tiny) / (s / Float(to - from + 1) + tiny)
            }
            let fineFlatness = exp(localLog / bins)
            var peak: Float = 0
            for k in max(1, strongest - 2)...min(n / 2 - 1, strongest + 2) { peak += p[k] }
            let power = band * energyScale
            features.energy = 10 * log10(power + tiny)
            features.power = (total + p[0]) * energyScale
            let bandShare = total > 0 ? band / total : 0
            let peakShare = total > 0 ? peak / total : 1
            // Fine structure or some pitch: a steep but smooth spectrum (brown noise, a fan) has
            // low flatness too, but neither harmonics' valleys nor a period.
            let spectral = flatness < Self.voicedFlatness
                && (fineFlatness < Self.voicedFineFlatness || pitch > Self.weakPitch)
                && bandShare > Self.voicedBandShare && peakShare < Self.tonalPeakShare
            // A correlation above 1 cannot come from a signal: it is the window's division
            // magnifying a ragged spectrum (codec holes, a noise estimate still settling).
            // Until the first half second of noise has been seen there is nothing to whiten by.
            let pitched = subwindowsFilled > 0 && pitch > Self.voicedPitch && pitch <= Self.pitchCeiling && peakShare < Self.tonalPeakShare
            features.voiced = spectral || pitched
            features.spectral = spectral
            // Only a frame voiced by its pitch alone is seeded by it.
            if pitched, !spectral {
                var low: Float = 0
                for k in voiceLowBins { low += p[k] }
                features.voiceEnergy = 10 * log10((band + low) * energyScale + tiny)
            }
            features.fricative = !spectral && bandShare > Self.voicedBandShare
                && Float(crossings) / Float(n) > Self.fricativeCrossings
        }
        if features.voiced, features.energy > Self.activeMinimum {
            // After a long pause the next voice may be another speaker, or the same one farther
            // away: a level held from before would hide it.
            if let level = voicedLevel, analysed - lastLevelFrame <= levelResetFrames {
                let rate = features.energy > level ? Self.levelRise : Self.levelFall
                voicedLevel = level + rate * (features.energy - level)
            } else {
                voicedLevel = features.energy
            }
            lastLevelFrame = analysed
        }
        features.level = voicedLevel
        ring[analysed % ring.count] = features
        analysed += 1
        // A frame's activity needs regimeAhead frames after it; its speech decision needs the
        // activity of hangover frames after it.
        while activeDecided + regimeAheadFrames < analysed { markActive(activeDecided, limit: analysed) }
        while decided + 2 * noisyHangFrames + pitchRunFrames < activeDecided { decide(decided, limit: activeDecided) }
    }

    /// Whether the per-bin loops of the pitch search run eight lanes at a time (optimised builds;
    /// debug builds do not specialise SIMD types). Both ways give the same bits (a test runs both).
    #if DEBUG
    static let vectorisedByDefault = false
    #else
    static let vectorisedByDefault = true
    #endif

    /// The noise tracker's step: `smoothed` follows the power `p` by `noiseSmoothing`, and `minimum`
    /// keeps the lowest value it has taken.
    @inline(__always) @_optimize(speed)
    static func smooth(
        _ p: UnsafePointer<Float>, into smoothed: UnsafeMutablePointer<Float>, minimum: UnsafeMutablePointer<Float>,
        count: Int, vectorised: Bool = vectorisedByDefault
    ) {
        let a = noiseSmoothing, b = 1 - noiseSmoothing
        var i = 0
        if vectorised {
            let av = SIMD8<Float>(repeating: a), bv = SIMD8<Float>(repeating: b)
            while i + 8 <= count {
                let v = av * UnsafeRawPointer(smoothed + i).loadUnaligned(as: SIMD8<Float>.self)
                    + bv * UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self)
                let m = UnsafeRawPointer(minimum + i).loadUnaligned(as: SIMD8<Float>.self)
                UnsafeMutableRawPointer(smoothed + i).storeBytes(of: v, as: SIMD8<Float>.self)
                // min(m, v) is `v < m ? v : m`, lane by lane.
                UnsafeMutableRawPointer(minimum + i).storeBytes(of: m.replacing(with: v, where: v .< m), as: SIMD8<Float>.self)
                i += 8
            }
        }
        while i < count {
            smoothed[i] = a * smoothed[i] + b * p[i]
            minimum[i] = min(minimum[i], smoothed[i])
            i += 1
        }
    }

    /// The largest of sums[l] / zero / windowCorrelation[l] (0 when none is over 0); NaNs are passed
    /// over, as `max` does.
    @inline(__always) @_optimize(speed)
    static func strongest(
        _ sums: UnsafePointer<Float>, over zero: Float, windowCorrelation wc: UnsafePointer<Float>, count: Int,
        vectorised: Bool = vectorisedByDefault
    ) -> Float {
        var strength: Float = 0
        var i = 0
        if vectorised, count >= 8 {
            let z = SIMD8<Float>(repeating: zero)
            var best = SIMD8<Float>(repeating: 0)
            while i + 8 <= count {
                let v = UnsafeRawPointer(sums + i).loadUnaligned(as: SIMD8<Float>.self) / z
                    / UnsafeRawPointer(wc + i).loadUnaligned(as: SIMD8<Float>.self)
                best = best.replacing(with: v, where: v .>= best)
                i += 8
            }
            for lane in 0..<8 { strength = max(strength, best[lane]) }
        }
        while i < count {
            strength = max(strength, sums[i] / zero / wc[i])
            i += 1
        }
        return strength
    }

    /// Σ log(term(k)) over `range`, for terms of about 1e-16…1e5: the logs of products of eight
    /// terms in Double (which holds any eight of them), an eighth of the calls to log. Two such
    /// sums run per frame over a hundred bins each, and log was a tenth of the speech pass.
    @inline(__always)
    static func sumOfLogs(_ range: Range<Int>, _ term: (Int) -> Float) -> Float {
        var sum: Double = 0
        var k = range.lowerBound
        while k < range.upperBound {
            let end = min(range.upperBound, k + 8)
            var product: Double = 1
            while k < end {
                product *= Double(term(k))
                k += 1
            }
            sum += Glibc.log(product)
        }
        return Float(sum)
    }

    /// Pitch strength of the current padded spectrum: each pitch-band bin divided by the noise's
    /// power there (so any steady noise, white, pink or hum, comes out flat and uncorrelated),
    /// then the autocorrelation at the pitch lags, over the window's own. Updates the noise shape.
    @_optimize(speed)
    private mutating func pitchStrength() -> Float {
        let bins = pitchBins, count = bins.count
        var strength: Float = 0
        spectrum.withUnsafeBufferPointer { p in
            guard let pitchBand = p.baseAddress.map({ $0 + bins.lowerBound }) else { return }
            smoothed.withUnsafeMutableBufferPointer { sm in
                currentMinimum.withUnsafeMutableBufferPointer { cm in
                    guard let sb = sm.baseAddress, let cb = cm.baseAddress else { return }
                    if analysed == 0 {
                        for i in 0..<count { sb[i] = pitchBand[i]; cb[i] = min(cb[i], sb[i]) }
                    } else {
                        Self.smooth(pitchBand, into: sb, minimum: cb, count: count)
                    }
                }
            }
            noiseMean.withUnsafeBufferPointer { noise in
                whitened.withUnsafeMutableBufferPointer { c in
                    for i in 0..<count { c[i] = pitchBand[i] / noise[i] }
                }
            }
        }
        whitened.withUnsafeBufferPointer { c in
            var zero: Float = 0
            for i in 0..<count { zero += c[i] }
            guard zero > 0, zero.isFinite else { return }
            cosines.withUnsafeBufferPointer { table in
                lagSums.withUnsafeMutableBufferPointer { sums in
                    guard let cb = c.baseAddress, let tb = table.baseAddress else { return }
                    for li in 0..<lags.count { sums[li] = dotProduct(cb, tb + li * count, count) }
                }
            }
            lagSums.withUnsafeBufferPointer { sums in
                windowCorrelation.withUnsafeBufferPointer { wc in
                    guard let sb = sums.baseAddress, let wb = wc.baseAddress else { return }
                    strength = Self.strongest(sb, over: zero, windowCorrelation: wb, count: lags.count)
                }
            }
        }
        // The noise shape: minimum statistics over sub-windows.
        subwindowFill += 1
        if subwindowFill == subwindowFrames || subwindowsFilled == 0 {
            if subwindowFill == subwindowFrames {
                minima.append(currentMinimum)
                if minima.count > Self.noiseSubwindows { minima.removeFirst() }
                subwindowsFilled += 1
                subwindowFill = 0
                for i in 0..<count { currentMinimum[i] = .infinity }
            }
            for i in 0..<count {
                var m = currentMinimum[i]
                for past in minima { m = min(m, past[i]) }
                noiseShape[i] = m.isFinite ? max(m, 1e-20) : noiseShape[i]
            }
            updateNoiseMean()
        }
        return strength
    }

    /// The noise power each pitch-band bin is divided by: the mean of `noiseShape` within
    /// ± `noiseSpread` bins. It changes only with the noise shape, once per sub-window.
    private mutating func updateNoiseMean() {
        let count = noiseShape.count
        for i in 0..<count {
            let lo = max(0, i - Self.noiseSpread), hi = min(count - 1, i + Self.noiseSpread)
            var n: Float = 0
            for j in lo...hi { n += noiseShape[j] }
            noiseMean[i] = n / Float(hi - lo + 1) + 1e-20
        }
    }

    /// Compares frame `i` with the minimum energy of its window: active or not, and keeps
    /// `voiced`/`fricative` only for active frames.
    @_optimize(speed)
    private mutating func markActive(_ i: Int, limit: Int) {
        let oldest = max(0, analysed - ring.count + 1)
        let past = minimumEnergy(from: max(oldest, i - floorPastFrames), to: i)
        let ahead = minimumEnergy(from: i, to: min(limit - 1, i + floorAheadFrames))
        var floor = min(past, ahead)
        // A change of background within reach (a gap of digital silence or of a quieter room
        // beside the speech): the frame belongs to the louder side (the quieter side's frames lie
        // under that floor, inactive either way).
        let beyond = minimumEnergy(from: i + floorAheadFrames + 1, to: min(limit - 1, i + regimeAheadFrames))
        let farAhead = min(ahead, beyond)
        if abs(past - farAhead) > Self.regimeStep { floor = max(past, farAhead) }
        var f = ring[i % ring.count]
        floor = max(floor, Self.floorMinimum)
        var above = Self.activeAboveFloor
        var seed = floor + above
        // The level as it stood floorAhead after the frame.
        if let level = ring[min(limit - 1, i + floorAheadFrames) % ring.count].level {
            floor = max(floor, level - Self.levelRange)
            let range = level - floor
            f.noisiness = min(1, max(0, (Self.cleanRange - range) / (Self.cleanRange - Self.noisyRange)))
            above = min(Self.activeCeiling, max(above, Self.activeShare * range))
            let seedAbove = min(Self.activeCeiling, max(Self.activeAboveFloor, Self.seedShare * range))
            seed = min(floor + seedAbove, level - Self.seedBelowLevel)
        }
        f.active = f.energy > floor + above && f.energy > Self.activeMinimum
        // A frame voiced by pitch alone may hold its voice under the speech band (a deep voice, a nasal).
        f.voiced = f.voiced && f.active && (f.spectral ? f.energy : f.voiceEnergy) > seed
        f.fricative = f.fricative && f.active
        ring[i % ring.count] = f
        activeDecided = i + 1
    }

    /// The lowest band energy of frames `from...to` in the ring (+infinity when the range is empty).
    @_optimize(speed)
    private func minimumEnergy(from: Int, to: Int) -> Float {
        guard from <= to else { return .infinity }
        var lowest = Float.infinity
        // The range in the ring: at most two runs (it may wrap), read without a division per frame.
        ring.withUnsafeBufferPointer { r in
            let capacity = r.count
            var j = from % capacity, left = to - from + 1
            while left > 0 {
                let run = min(left, capacity - j)
                for k in j..<(j + run) { lowest = min(lowest, r[k].energy) }
                left -= run
                j = 0
            }
        }
        return lowest
    }

    /// Speech when active and a confirmed voiced frame lies within the hangover.
    @_optimize(speed)
    private mutating func decide(_ i: Int, limit: Int) {
        let f = ring[i % ring.count]
        decided = i + 1
        guard f.active else { return }
        // A fricative (flat spectrum, many zero crossings) may run longer than a short hangover.
        let hang = hangFrames + Int((Float(noisyHangFrames - hangFrames) * f.noisiness).rounded())
        let reach = f.fricative ? 2 * hang : hang
        let from = max(0, i - reach), to = min(limit - 1, i + reach)
        for j in from...max(from, to) where confirmedVoiced(j, limit: limit) {
            count(i, f.power)
            return
        }
    }

    /// A voiced frame in a run of at least `minimumVoiced`: one voiced frame alone is a blip.
    @_optimize(speed)
    private func confirmedVoiced(_ j: Int, limit: Int) -> Bool {
        let f = ring[j % ring.count]
        guard f.voiced else { return false }
        // Pitch alone needs a longer run: a vowel lasts, codec artefacts in noise flicker.
        let minimumVoicedFrames = f.spectral ? self.minimumVoicedFrames : pitchRunFrames
        var run = 1
        var k = j - 1
        let oldest = max(0, analysed - ring.count + 1)
        while run < minimumVoicedFrames, k >= oldest, ring[k % ring.count].voiced { run += 1; k -= 1 }
        k = j + 1
        while run < minimumVoicedFrames, k < limit, ring[k % ring.count].voiced { run += 1; k += 1 }
        return run >= minimumVoicedFrames
    }

    private mutating func count(_ i: Int, _ power: Float) {
        let bridge = bridgeFrames + Int((Float(noisyBridgeFrames - bridgeFrames) * ring[i % ring.count].noisiness).rounded())
        if let last = lastSpeech, i - last - 1 <= bridge {
            speechFrames += i - last - 1  // bridge a short gap
        }
        if firstSpeech == nil { firstSpeech = i }
        lastSpeech = i
        speechFrames += 1
        speechPower += Double(power)
        poweredFrames += 1
    }
}

import CSndFile
import Foundation

/// Writes test recordings with libsndfile at test time, so the repository carries no large audio
/// and every duration is known exactly. Used by the unit tests and by the CLI tests.
public enum TestRecordings {
    /// What libsndfile can write. `aiff` exists to test rejection: thymia does not accept it.
    public enum Format: String, CaseIterable, Sendable {
        case wav, rf64, flac, ogg, opus, mp3, aiff

        /// The file extension that matches the content (RF64 is 64-bit WAV, named .wav).
        public var fileExtension: String { self == .rf64 ? "wav" : rawValue }

        var sndfileFormat: Int32 {
            switch self {
            case .wav: Int32(SF_FORMAT_WAV | SF_FORMAT_PCM_16)
            case .rf64: Int32(SF_FORMAT_RF64 | SF_FORMAT_PCM_16)
            case .flac: Int32(SF_FORMAT_FLAC | SF_FORMAT_PCM_16)
            case .ogg: Int32(SF_FORMAT_OGG | SF_FORMAT_VORBIS)
            case .opus: Int32(SF_FORMAT_OGG | SF_FORMAT_OPUS)
            case .mp3: Int32(SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III)
            case .aiff: Int32(SF_FORMAT_AIFF | SF_FORMAT_PCM_16)
            }
        }
    }

    /// The sound written: a synthetic voice (the default: the speech estimate counts most of it
    /// as speech), a sine tone, white noise, or digital silence (none of which is speech).
    public enum Signal: Sendable {
        case speechLike
        case tone(hertz: Double)
        case noise
        case silence
    }

    public struct WriteError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Writes `seconds` of `signal` as `format` into `dir` and returns the file's path. The name
    /// defaults to `<format>-<seconds>s-<rate>-<channels>ch.<ext>`; pass `name` to choose it
    /// (for example with a mismatching extension).
    public static func write(
        _ format: Format, seconds: Double, sampleRate: Int = 16_000, channels: Int = 1,
        signal: Signal = .speechLike, to dir: String, name: String? = nil
    ) throws -> String {
        let fileName = name ?? "\(format.rawValue)-\(seconds)s-\(sampleRate)-\(channels)ch.\(format.fileExtension)"
        let path = (dir as NSString).appendingPathComponent(fileName)
        var info = SF_INFO()
        info.samplerate = Int32(sampleRate)
        info.channels = Int32(channels)
        info.format = format.sndfileFormat
        guard sf_format_check(&info) != 0 else {
            throw WriteError(description: "libsndfile cannot write \(format) at \(sampleRate) Hz, \(channels) channels")
        }
        guard let handle = sf_open(path, Int32(SFM_WRITE), &info) else {
            throw WriteError(description: "sf_open(\(path)): \(String(cString: sf_strerror(nil)))")
        }
        defer { sf_close(handle) }
        let total = Int((seconds * Double(sampleRate)).rounded())
        let block = 4096
        // Floats, not shorts: libsndfile 1.2.0's stereo MP3 short writer copies half the bytes it
        // should and fills the rest with whatever memory held (libsndfile PR #1106).
        var buffer = [Float](repeating: 0, count: block * channels)
        var generator = SignalGenerator(signal, sampleRate: sampleRate)
        var written = 0
        while written < total {
            let n = min(block, total - written)
            for i in 0..<n {
                let sample = Float(generator.next()) / 32_768
                for c in 0..<channels { buffer[i * channels + c] = sample }
            }
            let done = buffer.withUnsafeBufferPointer { sf_writef_float(handle, $0.baseAddress, Int64(n)) }
            guard done == Int64(n) else {
                throw WriteError(description: "sf_writef_float(\(path)): \(String(cString: sf_strerror(handle)))")
            }
            written += n
        }
        return path
    }

    /// Writes a copy of `path` cut to its first `bytes` bytes, and returns the copy's path.
    public static func truncatedCopy(of path: String, bytes: Int, to dir: String) throws -> String {
        let source = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        defer { try? source.close() }
        let data = try source.read(upToCount: bytes) ?? Data()
        let name = "cut\(bytes)-" + (path as NSString).lastPathComponent
        let out = (dir as NSString).appendingPathComponent(name)
        try data.write(to: URL(fileURLWithPath: out))
        return out
    }
}

extension TestRecordings {
    /// Writes per-channel float samples (±1 full scale) as `format`: for tests that build their
    /// own signals (mixtures, clipped or one-sided recordings).
    public static func write(
        _ format: Format, channels: [[Float]], sampleRate: Int, to dir: String, name: String
    ) throws -> String {
        let path = (dir as NSString).appendingPathComponent(name)
        var info = SF_INFO()
        info.samplerate = Int32(sampleRate)
        info.channels = Int32(channels.count)
        info.format = format.sndfileFormat
        guard let handle = sf_open(path, Int32(SFM_WRITE), &info) else {
            throw WriteError(description: "sf_open(\(path)): \(String(cString: sf_strerror(nil)))")
        }
        defer { sf_close(handle) }
        let frames = channels.map(\.count).min() ?? 0
        var interleaved = [Float](repeating: 0, count: frames * channels.count)
        for (c, samples) in channels.enumerated() {
            for i in 0..<frames { interleaved[i * channels.count + c] = samples[i] }
        }
        let done = interleaved.withUnsafeBufferPointer { sf_writef_float(handle, $0.baseAddress, Int64(frames)) }
        guard done == Int64(frames) else { throw WriteError(description: "sf_writef_float(\(path)): \(String(cString: sf_strerror(handle)))") }
        return path
    }

    /// The first channel of any file libsndfile reads, as floats, and its sample rate.
    public static func read(_ path: String) throws -> (samples: [Float], sampleRate: Int) {
        var info = SF_INFO()
        guard let handle = sf_open(path, Int32(SFM_READ), &info) else {
            throw WriteError(description: "sf_open(\(path)): \(String(cString: sf_strerror(nil)))")
        }
        defer { sf_close(handle) }
        let channels = Int(info.channels)
        var all = [Float](repeating: 0, count: Int(info.frames) * channels)
        let got = all.withUnsafeMutableBufferPointer { sf_readf_float(handle, $0.baseAddress, info.frames) }
        return ((0..<Int(got)).map { all[$0 * channels] }, Int(info.samplerate))
    }

    /// `seconds` of `signal` as 16-bit samples, for tests that write their own containers.
    public static func samples(_ signal: Signal, seconds: Double, sampleRate: Int) -> [Int16] {
        var generator = SignalGenerator(signal, sampleRate: sampleRate)
        return (0..<Int((seconds * Double(sampleRate)).rounded())).map { _ in generator.next() }
    }
}

/// Produces one signal sample by sample, deterministically (the same bytes on every run).
///
/// `.speechLike` is a small source-filter voice: a sawtooth glottal source (every harmonic of
/// F0, falling 6 dB/octave) whose F0 wanders 100–220 Hz, through three formant resonators whose
/// frequencies change with each "syllable" (vowels of a table), under a 4–5 Hz syllable
/// envelope with 40 ms gaps and a 250 ms pause every 16 syllables, peaking near −12 dBFS. About
/// 95% of it counts as speech (gaps under 150 ms are bridged), so a 12-second file holds more
/// than 10 seconds of speech.
struct SignalGenerator {
    private let signal: TestRecordings.Signal
    private let rate: Double
    private var n = 0
    private var random = SplitMix(seed: 0x5EED)
    private var phase = 0.0
    private var syllable = 0
    private var syllableStart = 0.0
    private var resonators: [Resonator] = []

    private static let vowels: [(Double, Double, Double)] = [
        (730, 1090, 2440), (270, 2290, 3010), (530, 1840, 2480), (660, 1720, 2410),
        (300, 870, 2240), (640, 1190, 2390), (490, 1350, 1690), (400, 2000, 2550),
    ]
    private static let lengths = [0.20, 0.17, 0.25, 0.19, 0.23, 0.21, 0.18]
    private static let gap = 0.04, pause = 0.25
    private static let formantGains = [1.0, 0.6, 0.3]

    init(_ signal: TestRecordings.Signal, sampleRate: Int) {
        self.signal = signal
        rate = Double(sampleRate)
        if case .speechLike = signal { tune() }
    }

    private mutating func tune() {
        let v = Self.vowels[syllable % Self.vowels.count]
        let formants = [(v.0, 80.0), (v.1, 100.0), (v.2, 140.0)]
        resonators = formants.enumerated().map { i, f in
            var r = Resonator(frequency: min(f.0, rate * 0.45), bandwidth: f.1, rate: rate)
            if i < resonators.count { r.keepState(of: resonators[i]) }
            return r
        }
    }

    mutating func next() -> Int16 {
        defer { n += 1 }
        let t = Double(n) / rate
        switch signal {
        case .tone(let hz):
            return Int16(8000 * sin(2 * Double.pi * hz * t))
        case .noise:
            return Int16(truncatingIfNeeded: Int(random.next() % 16_000) - 8000)
        case .silence:
            return 0
        case .speechLike:
            // Syllable timing: voiced for `length`, then a gap (a pause after every 16th).
            let length = Self.lengths[syllable % Self.lengths.count]
            let rest = syllable % 16 == 15 ? Self.pause : Self.gap
            var local = t - syllableStart
            if local >= length + rest {
                syllableStart += length + rest
                syllable += 1
                tune()
                local = t - syllableStart
            }
            let currentLength = Self.lengths[syllable % Self.lengths.count]
            let envelope: Double
            if local >= currentLength { envelope = 0 }
            else { envelope = min(1, local / 0.025, (currentLength - local) / 0.04) }
            let f0 = 160 + 55 * sin(2 * Double.pi * 0.23 * t) + 12 * sin(2 * Double.pi * 4.3 * t) - 30 * local
            phase += max(100, min(220, f0)) / rate
            if phase >= 1 { phase -= 1 }
            let source = 2 * phase - 1
            var y = 0.0
            for i in resonators.indices { y += resonators[i].process(source) * Self.formantGains[i] }
            return Int16(max(-32_000, min(32_000, 8000 * envelope * y)))
        }
    }
}

/// A two-pole resonator normalised to unit gain at its centre frequency.
private struct Resonator {
    let a1: Double, a2: Double, gain: Double
    var y1 = 0.0, y2 = 0.0

    init(frequency: Double, bandwidth: Double, rate: Double) {
        let r = exp(-Double.pi * bandwidth / rate)
        let theta = 2 * Double.pi * frequency / rate
        a1 = 2 * r * cos(theta)
        a2 = -r * r
        // |1 - a1 z^-1 - a2 z^-2| at z = e^{iθ}.
        let re = 1 - a1 * cos(theta) - a2 * cos(2 * theta)
        let im = a1 * sin(theta) + a2 * sin(2 * theta)
        gain = (re * re + im * im).squareRoot()
    }

    mutating func keepState(of other: Resonator) {
        y1 = other.y1
        y2 = other.y2
    }

    mutating func process(_ x: Double) -> Double {
        let y = gain * x + a1 * y1 + a2 * y2
        y2 = y1
        y1 = y
        return y
    }
}

/// A tiny deterministic generator so noise is the same on every run.
public struct SplitMix {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

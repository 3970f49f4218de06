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

    /// The sound written: a sine tone, white noise, or digital silence.
    public enum Signal: Sendable {
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
        signal: Signal = .tone(hertz: 220), to dir: String, name: String? = nil
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
        var buffer = [Int16](repeating: 0, count: block * channels)
        var generator = SplitMix(seed: 0x5EED)
        var written = 0
        while written < total {
            let n = min(block, total - written)
            for i in 0..<n {
                let sample: Int16
                switch signal {
                case .tone(let hz):
                    sample = Int16(8000 * sin(2 * Double.pi * hz * Double(written + i) / Double(sampleRate)))
                case .noise:
                    sample = Int16(truncatingIfNeeded: Int(generator.next() % 16_000) - 8000)
                case .silence:
                    sample = 0
                }
                for c in 0..<channels { buffer[i * channels + c] = sample }
            }
            let done = buffer.withUnsafeBufferPointer { sf_writef_short(handle, $0.baseAddress, Int64(n)) }
            guard done == Int64(n) else {
                throw WriteError(description: "sf_writef_short(\(path)): \(String(cString: sf_strerror(handle)))")
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

/// A tiny deterministic generator so noise is the same on every run.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

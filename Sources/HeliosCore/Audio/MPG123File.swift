import CMpg123
import Glibc

/// One libmpg123 decoder reading a file helios opened itself, closed when the owner goes away.
/// `~Copyable` like `SndFile`, and not Sendable.
///
/// MP3 is decoded here rather than through libsndfile because libsndfile (1.2) never sets
/// MPG123_QUIET, so libmpg123 prints its notes on a damaged stream ("Illegal Audio-MPEG-Header",
/// "dequantization failed") straight onto helios' stderr. Otherwise it is set up as libsndfile
/// sets it up (float output, gapless, no resampling, no Frankenstein streams), so the samples,
/// and the speech estimate, are the same. The channels are kept, not mixed: the estimator
/// measures each one (SILENT_CHANNEL, CLIPPING) before its own downmix.
struct MPG123File: ~Copyable {
    private let handle: OpaquePointer
    private let file: PosixFile
    let sampleRate: Int
    let channels: Int
    /// The length in frames libmpg123 states after opening: exact (gapless) from a Xing/Info or
    /// VBRI header, otherwise its guess from the first frame's bitrate; nil when it has none.
    let statedFrames: Int64?

    init(path: String) throws(AudioProblem) {
        guard let file = PosixFile(readingAtPath: path) else { throw .notReadable(String(cString: strerror(errno))) }
        var error: Int32 = 0
        guard let handle = mpg123_new(nil, &error) else { throw Self.failure(nil, error, "start a decoder") }
        var rate = 0
        var channels: Int32 = 0
        var encoding: Int32 = 0
        let quiet = Int(MPG123_QUIET.rawValue | MPG123_FORCE_FLOAT.rawValue | MPG123_GAPLESS.rawValue | MPG123_NO_FRANKENSTEIN.rawValue)
        let ok = MPG123_OK.rawValue
        guard helios_mpg123_add_flags(handle, quiet) == ok,
            helios_mpg123_remove_flags(handle, Int(MPG123_AUTO_RESAMPLE.rawValue)) == ok,
            mpg123_open_fd(handle, file.fd) == ok
        else {
            let problem = Self.failure(handle, nil, "open the file")
            mpg123_delete(handle)
            throw problem
        }
        guard mpg123_getformat(handle, &rate, &channels, &encoding) == ok else {
            let problem = Self.failure(handle, nil, "read the first frame")
            mpg123_close(handle)
            mpg123_delete(handle)
            throw problem
        }
        guard encoding == Int32(MPG123_ENC_FLOAT_32.rawValue), (1...2).contains(channels), rate > 0 else {
            mpg123_close(handle)
            mpg123_delete(handle)
            throw .invalidFormat("cannot decode with libmpg123: it offers \(channels) channels at \(rate) Hz in encoding \(encoding), not 32-bit float")
        }
        let length = mpg123_length(handle)
        self.handle = handle
        self.file = file
        sampleRate = rate
        self.channels = Int(channels)
        statedFrames = length > 0 ? Int64(length) : nil
    }

    deinit {
        mpg123_close(handle)
        mpg123_delete(handle)
    }

    /// libmpg123's own text for a failure, plus what we were doing.
    private static func failure(_ handle: OpaquePointer?, _ code: Int32?, _ context: String) -> AudioProblem {
        let text: String
        if let code { text = mpg123_plain_strerror(code).map { String(cString: $0) } ?? "error \(code)" }
        else { text = handle.flatMap { mpg123_strerror($0) }.map { String(cString: $0) } ?? "unknown error" }
        return .invalidFormat("cannot \(context) with libmpg123: \(text.prefix(1).lowercased() + text.dropFirst())")
    }

    /// Streams the audio in blocks of interleaved floats, decoded on a second thread a few blocks
    /// ahead of `body` (`OverlappedDecode`). Decoding ends at the end of the stream, or where
    /// libmpg123 gives up on damage or the stream changes format (as libsndfile's decode did).
    /// Returns the number of frames decoded.
    @discardableResult
    func forEachBlockOverlapped(frames blockFrames: Int = 8192, _ body: (UnsafeBufferPointer<Float>) -> Void) -> Int64 {
        OverlappedDecode.run(blockFrames: blockFrames, channels: channels, read: reader, body)
    }

    /// The speech pass over the whole stream from the current position, decoding on a second
    /// thread (`OverlappedDecode.speech`); nil when the estimator does not take the rate. The
    /// handle stays open throughout: this borrows the file for the whole pass.
    func speechAnalysis() -> SpeechAnalysis? {
        OverlappedDecode.speech(sampleRate: sampleRate, channels: channels, front: .withAnalysis, read: reader)
    }

    /// Reads up to the asked number of interleaved frames into the buffer and returns how many:
    /// fewer at the end, at damage or where the format changes. Used by one thread at a time.
    private var reader: (UnsafeMutablePointer<Float>, Int) -> Int {
        let handle = handle
        let frameBytes = channels * MemoryLayout<Float>.size
        return { buffer, frames in
            let want = frames * frameBytes
            let raw = UnsafeMutableRawPointer(buffer)
            var got = 0
            while got < want {
                var done = 0
                let rc = mpg123_read(handle, raw + got, want - got, &done)
                got += min(done, want - got)
                guard rc == MPG123_OK.rawValue, done > 0 else { break }
            }
            return got / frameBytes
        }
    }
}

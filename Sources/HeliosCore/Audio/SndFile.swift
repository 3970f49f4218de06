import CSndFile

/// One open libsndfile handle, closed when the owner goes away. `~Copyable` so the handle has
/// exactly one owner and cannot be closed twice; not Sendable (libsndfile handles are not).
struct SndFile: ~Copyable {
    private let handle: OpaquePointer
    let frames: Int64
    let sampleRate: Int
    let channels: Int
    let format: Int32

    init(path: String) throws(AudioProblem) {
        var info = SF_INFO()
        guard let handle = sf_open(path, Int32(SFM_READ), &info) else {
            throw Self.failure(nil, "open the file")
        }
        self.handle = handle
        frames = info.frames
        sampleRate = Int(info.samplerate)
        channels = Int(info.channels)
        format = info.format
    }

    deinit { sf_close(handle) }

    var duration: Double { sampleRate > 0 ? Double(frames) / Double(sampleRate) : 0 }

    /// MPEG audio inside another container (a WAV holding MP3): libsndfile hands it to libmpg123
    /// without `MPG123_QUIET`, and damaged frames would print on helios' stderr.
    var holdsMPEGAudio: Bool {
        let sub = format & Int32(SF_FORMAT_SUBMASK)
        return sub == Int32(SF_FORMAT_MPEG_LAYER_I) || sub == Int32(SF_FORMAT_MPEG_LAYER_II)
            || sub == Int32(SF_FORMAT_MPEG_LAYER_III)
    }

    /// Every libsndfile failure comes through here: libsndfile's own text plus what we were doing.
    static func failure(_ handle: OpaquePointer?, _ context: String) -> AudioProblem {
        let text = sf_strerror(handle).map { String(cString: $0) } ?? "unknown error"
        return .invalidFormat("cannot \(context) with libsndfile: \(text.prefix(1).lowercased() + text.dropFirst())")
    }

    func seek(toFrame frame: Int64) throws(AudioProblem) {
        guard sf_seek(handle, frame, SEEK_SET) >= 0 else { throw Self.failure(handle, "seek to frame \(frame)") }
    }

    /// Streams the audio from the current position in blocks of interleaved floats, constant
    /// memory; `body` returns false to stop. The decode pass for a speech estimate builds on this.
    /// Returns the number of frames decoded.
    @discardableResult
    func forEachBlock(frames blockFrames: Int = 4096, _ body: (UnsafeBufferPointer<Float>) -> Bool) -> Int64 {
        var buffer = [Float](repeating: 0, count: blockFrames * max(1, channels))
        var total: Int64 = 0
        while true {
            let got = buffer.withUnsafeMutableBufferPointer { sf_readf_float(handle, $0.baseAddress, Int64(blockFrames)) }
            guard got > 0 else { break }
            total += got
            let keepGoing = buffer.withUnsafeBufferPointer { body(UnsafeBufferPointer(rebasing: $0[0..<Int(got) * channels])) }
            if !keepGoing || got < Int64(blockFrames) { break }
        }
        return total
    }

    /// Vorbis and Opus cost far more to decode than the estimator's front; PCM and FLAC far less.
    /// (Ogg Opus has its own speech pass, `OggOpusDecoder`; Opus is here for completeness.)
    private var speechFront: OverlappedDecode.FrontPlacement {
        let sub = format & Int32(SF_FORMAT_SUBMASK)
        return sub == Int32(SF_FORMAT_VORBIS) || sub == Int32(SF_FORMAT_OPUS) ? .withAnalysis : .withDecoder
    }

    /// The speech pass over the whole stream from the current position, decoding on a second
    /// thread (`OverlappedDecode.speech`); nil when the estimator does not take the rate. The
    /// handle stays open throughout: this borrows the file for the whole pass.
    func speechAnalysis() -> SpeechAnalysis? {
        OverlappedDecode.speech(sampleRate: sampleRate, channels: channels, front: speechFront, read: reader)
    }

    /// Reads up to the asked number of interleaved frames into the buffer and returns how many:
    /// fewer at the end or at damage. For `OverlappedDecode`: used by one thread at a time.
    private var reader: (UnsafeMutablePointer<Float>, Int) -> Int {
        let handle = handle
        return { buffer, frames in max(0, Int(sf_readf_float(handle, buffer, Int64(frames)))) }
    }

    /// Decodes the last stretch of the file: a truncated or damaged file fails here cheaply,
    /// without a full decode pass (which would cost the speed target).
    func checkTail(frames tail: Int64 = 4096) throws(AudioProblem) {
        guard frames > 0 else { throw .invalidFormat("file holds no audio frames") }
        let want = min(tail, frames)
        try seek(toFrame: frames - want)
        let got = forEachBlock(frames: Int(want)) { _ in false }
        // Codecs with pre-skip/priming may come up a few samples short at the very end.
        guard got >= want / 2 else {
            throw .invalidFormat("file is truncated or damaged: its last \(want) frames cannot be decoded (got \(got))")
        }
    }
}

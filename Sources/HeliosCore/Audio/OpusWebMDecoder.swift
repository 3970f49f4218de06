import COpus

/// Decodes the Opus audio of a WebM file (what browsers' MediaRecorder writes) block by block
/// into the speech estimator: `WebMDemuxer` reads element headers and one block at a time, and
/// libopus decodes each packet, so memory stays constant whatever the length.
///
/// Opus always decodes at any of 8/12/16/24/48 kHz; 16 kHz is asked for, which holds the whole
/// speech band and costs a third of a 48 kHz decode. Laced blocks (neither browsers nor ffmpeg
/// write them for audio) and more than two channels (multistream) are not decoded: the speech
/// estimate is then reported unknown, never guessed.
enum OpusWebMDecoder {
    static let decodeRate: Int32 = 16_000
    /// 120 ms at 16 kHz: the longest Opus packet.
    private static let maxPacketFrames: Int32 = 1920

    /// Decodes every Opus packet of the first audio track into `estimator`; returns it finished.
    static func analyse(_ file: FileBytes) throws -> SpeechAnalysis {
        let webm: WebMDemuxer
        do {
            webm = try WebMDemuxer(file)
        } catch is AudioProblem {
            throw SpeechNotEstimated(note: "speech not estimated: the WebM header is damaged")
        }
        var track: WebMDemuxer.Track?
        var decoder: Decoder?
        var estimator: SpeechEstimator?
        try webm.walk { element in
            switch element {
            case .info:
                break
            case .tracks(let tracks):
                guard let audio = tracks.audio else { throw SpeechNotEstimated(note: "speech not estimated: the WebM file has no audio track") }
                guard audio.codec == "A_OPUS" else { throw SpeechNotEstimated(note: "speech not estimated: the WebM audio is not Opus") }
                let channels = Int(min(audio.channels ?? 1, 255))
                guard (1...2).contains(channels) else {
                    throw SpeechNotEstimated(note: "speech not estimated for Opus with \(channels) channels")
                }
                track = audio
                decoder = try Decoder(channels: channels)
                estimator = SpeechEstimator(sampleRate: Int(decodeRate), channels: channels)
            case .cluster(let cluster):
                guard let t = track, let d = decoder, estimator != nil else {
                    throw SpeechNotEstimated(note: "speech not estimated: WebM audio comes before its track description")
                }
                let next = try webm.blocks(in: cluster) { block in
                    if let want = t.number, want != block.track { return }
                    if block.isLaced { throw SpeechNotEstimated(note: "speech not estimated: the WebM file laces its Opus blocks") }
                    guard let packet = try webm.frame(of: block) else { return }
                    packet.withUnsafeBufferPointer { packet in d.decode(packet) { estimator?.consume($0) } }
                }
                return .resume(at: next)
            }
            return .skip
        }
        guard var finished = estimator else { throw SpeechNotEstimated(note: "speech not estimated: the WebM file has no audio track") }
        if let d = decoder, d.failures > 0, d.failures * 10 > d.packets {
            throw SpeechNotEstimated(note: "speech not estimated: \(d.failures) of \(d.packets) Opus packets could not be decoded")
        }
        return finished.finish()
    }

    /// One libopus decoder, destroyed with its owner; counts packets it could not decode.
    private final class Decoder {
        private let handle: OpaquePointer
        private let channels: Int
        private var pcm: [Float]
        var packets = 0
        var failures = 0

        init(channels: Int) throws {
            var error: Int32 = 0
            guard let handle = opus_decoder_create(OpusWebMDecoder.decodeRate, Int32(channels), &error), error == OPUS_OK else {
                let text = opus_strerror(error).map { String(cString: $0) } ?? "error \(error)"
                throw SpeechNotEstimated(note: "speech not estimated: libopus cannot start a decoder: \(text)")
            }
            self.handle = handle
            self.channels = channels
            pcm = [Float](repeating: 0, count: Int(OpusWebMDecoder.maxPacketFrames) * channels)
        }

        deinit { opus_decoder_destroy(handle) }

        func decode(_ packet: UnsafeBufferPointer<UInt8>, into sink: (UnsafeBufferPointer<Float>) -> Void) {
            guard let base = packet.baseAddress, !packet.isEmpty, packet.count <= Int(Int32.max) else { return }
            packets += 1
            let frames = pcm.withUnsafeMutableBufferPointer { out -> Int32 in
                guard let outBase = out.baseAddress else { return OPUS_BAD_ARG }
                return opus_decode_float(handle, base, Int32(packet.count), outBase, OpusWebMDecoder.maxPacketFrames, 0)
            }
            guard frames > 0 else {
                if frames < 0 { failures += 1 }
                return
            }
            pcm.withUnsafeBufferPointer { sink(UnsafeBufferPointer(rebasing: $0[0..<Int(frames) * channels])) }
        }
    }
}

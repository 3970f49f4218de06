import COpus

/// One libopus decoder for one or two channels, destroyed with its owner; counts the packets it
/// was given and those it could not decode. Opus decodes at any of 8/12/16/24/48 kHz whatever
/// the rate it was recorded at: 16 kHz is asked for, which holds the whole speech band and costs
/// a third of a 48 kHz decode. Used by one thread at a time.
// @unchecked: handed to a decoding thread at its start and back at its join (OverlappedDecode).
final class OpusPacketDecoder: @unchecked Sendable {
    static let rate: Int32 = 16_000
    /// 120 ms at 16 kHz: the longest Opus packet.
    static let maxPacketFrames: Int32 = 1920

    private let handle: OpaquePointer
    let channels: Int
    private var pcm: [Float]
    private(set) var packets = 0
    private(set) var failures = 0

    init(channels: Int) throws {
        var error: Int32 = 0
        guard let handle = opus_decoder_create(Self.rate, Int32(channels), &error), error == OPUS_OK else {
            let text = opus_strerror(error).map { String(cString: $0) } ?? "error \(error)"
            throw SpeechNotEstimated(note: "speech not estimated: libopus cannot start a decoder: \(text)")
        }
        self.handle = handle
        self.channels = channels
        pcm = [Float](repeating: 0, count: Int(Self.maxPacketFrames) * channels)
    }

    deinit { opus_decoder_destroy(handle) }

    /// Decodes one packet and hands its interleaved samples to `sink` (nothing for an empty or
    /// undecodable packet).
    func decode(_ packet: UnsafeBufferPointer<UInt8>, into sink: (UnsafeBufferPointer<Float>) -> Void) {
        guard let base = packet.baseAddress, !packet.isEmpty, packet.count <= Int(Int32.max) else { return }
        packets += 1
        let frames = pcm.withUnsafeMutableBufferPointer { out -> Int32 in
            guard let outBase = out.baseAddress else { return OPUS_BAD_ARG }
            return opus_decode_float(handle, base, Int32(packet.count), outBase, Self.maxPacketFrames, 0)
        }
        guard frames > 0 else {
            if frames < 0 { failures += 1 }
            return
        }
        pcm.withUnsafeBufferPointer { sink(UnsafeBufferPointer(rebasing: $0[0..<Int(frames) * channels])) }
    }

    /// Throws when more than a tenth of the packets failed: the estimate would be a guess.
    func checkFailures() throws { try Self.checkFailures(packets: packets, failures: failures) }

    /// The same rule over counts summed from several decoders (`OpusWebMDecoder`'s segments).
    static func checkFailures(packets: Int, failures: Int) throws {
        guard failures > 0, failures * 10 > packets else { return }
        throw SpeechNotEstimated(note: "speech not estimated: \(failures) of \(packets) Opus packets could not be decoded")
    }
}

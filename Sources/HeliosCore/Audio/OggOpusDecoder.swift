/// Decodes the Opus audio of an Ogg file (`.opus`, what Firefox's MediaRecorder writes) for the
/// speech estimate: `OggPackets` reads the stream page by page and libopus decodes each packet at
/// 16 kHz (`OpusPacketDecoder`), on a second thread a few blocks ahead of the analysis.
///
/// libsndfile decodes Ogg Opus too (it still gives the header pass its duration), but through
/// libopus' multistream decoder at 48 kHz, at about three times the cost: more than the
/// `ffmpeg silencedetect` pass it must stay well under. Channel mapping family 0, or family 1
/// laid out the same (one stream, one or two channels), is decoded; other layouts
/// (multistream, surround) are reported unknown, never guessed.
enum OggOpusDecoder {
    static func analyse(_ file: FileBytes) throws -> SpeechAnalysis {
        let packets = OggPackets(file, head: Array("OpusHead".utf8))
        guard let head = packets.next() else {
            throw SpeechNotEstimated(note: "speech not estimated: the Ogg file holds no readable Opus stream")
        }
        let header = try Header(head)
        // The comment header (OpusTags) comes next, then the audio.
        _ = packets.next()
        let decoder = try OpusPacketDecoder(channels: header.channels)
        // Pre-skip is counted at 48 kHz: the encoder's start-up samples, not audio.
        let reader = PacketReader(packets: packets, decoder: decoder, skipFrames: header.preSkip * Int(OpusPacketDecoder.rate) / 48_000)
        guard let analysis = OverlappedDecode.speech(
            sampleRate: Int(OpusPacketDecoder.rate), channels: header.channels, front: .withAnalysis,
            read: { reader.read(into: $0, frames: $1) })
        else {
            throw SpeechNotEstimated(note: "speech not estimated at a sample rate of \(OpusPacketDecoder.rate) Hz")
        }
        if decoder.packets == 0 { throw SpeechNotEstimated(note: "speech not estimated: the Ogg Opus stream holds no audio packets") }
        try decoder.checkFailures()
        return analysis
    }

    /// The identification header (RFC 7845, section 5.1).
    struct Header {
        var channels: Int
        var preSkip: Int

        init(_ packet: [UInt8]) throws {
            guard packet.count >= 19, packet[8] >> 4 == 0 else {
                throw SpeechNotEstimated(note: "speech not estimated: the Opus header is damaged or of an unknown version")
            }
            channels = Int(packet[9])
            preSkip = Int(packet[10]) | Int(packet[11]) << 8
            let family = packet[18]
            guard (1...2).contains(channels) else {
                throw SpeechNotEstimated(note: "speech not estimated for Opus with \(channels) channels")
            }
            if family != 0 {
                // Family 1 with one stream and the channels in order is family 0 written longhand.
                let plain = family == 1 && packet.count >= 21 + channels && packet[19] == 1
                    && Int(packet[20]) == channels - 1 && (0..<channels).allSatisfy { Int(packet[21 + $0]) == $0 }
                guard plain else { throw SpeechNotEstimated(note: "speech not estimated for Opus with channel mapping family \(family)") }
            }
        }
    }

    /// Serves decoded samples in any block size, decoding packets as they are needed. Used by
    /// one thread at a time: the decoding thread, from its start to its join.
    // @unchecked: see above; OverlappedDecode hands it over at the thread's start and join.
    private final class PacketReader: @unchecked Sendable {
        private let packets: OggPackets
        private let decoder: OpusPacketDecoder
        private var skipFrames: Int
        private var pending = DecodedSamples()

        init(packets: OggPackets, decoder: OpusPacketDecoder, skipFrames: Int) {
            self.packets = packets
            self.decoder = decoder
            self.skipFrames = skipFrames
        }

        /// Up to `frames` interleaved frames into `buffer`; fewer only at the end of the stream.
        func read(into buffer: UnsafeMutablePointer<Float>, frames: Int) -> Int {
            var samples = pending
            pending = DecodedSamples()
            defer { pending = samples }
            return samples.read(into: buffer, frames: frames, channels: decoder.channels) { refill(&$0) }
        }

        /// Decodes packets until one gives samples past the pre-skip; false at the end.
        private func refill(_ next: inout DecodedSamples) -> Bool {
            next.samples.removeAll(keepingCapacity: true)
            next.taken = 0
            while next.samples.isEmpty {
                guard let packet = packets.next() else { return false }
                packet.withUnsafeBufferPointer { decoder.decode($0) { next.samples.append(contentsOf: $0) } }
                if skipFrames > 0, !next.samples.isEmpty {
                    let drop = min(skipFrames * decoder.channels, next.samples.count)
                    next.samples.removeFirst(drop)
                    skipFrames -= drop / decoder.channels
                }
            }
            return true
        }
    }
}

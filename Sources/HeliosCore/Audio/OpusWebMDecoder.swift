import COpus

/// Decodes the Opus audio of a WebM file (what browsers' MediaRecorder writes) block by block
/// into the speech estimator: `WebMDemuxer` reads element headers and one block at a time, and
/// libopus decodes each packet, so memory stays constant whatever the length.
///
/// Packets are decoded at 16 kHz (`OpusPacketDecoder`). Laced blocks (neither browsers nor ffmpeg
/// write them for audio) and more than two channels (multistream) are not decoded: the speech
/// estimate is then reported unknown, never guessed.
enum OpusWebMDecoder {
    /// Decodes every Opus packet of the first audio track into the speech estimate: the walk to
    /// the track description here, then the blocks and libopus on a second thread a few blocks
    /// ahead of the analysis (`OverlappedDecode`).
    static func analyse(_ file: FileBytes) throws -> SpeechAnalysis {
        let webm: WebMDemuxer
        do {
            webm = try WebMDemuxer(file)
        } catch is AudioProblem {
            throw SpeechNotEstimated(note: "speech not estimated: the WebM header is damaged")
        }
        var found: WebMDemuxer.Track?
        try webm.walk { element in
            switch element {
            case .info:
                return .skip
            case .tracks(let tracks):
                guard let audio = tracks.audio else { throw SpeechNotEstimated(note: "speech not estimated: the WebM file has no audio track") }
                guard audio.codec == "A_OPUS" else { throw SpeechNotEstimated(note: "speech not estimated: the WebM audio is not Opus") }
                found = audio
                return .stop
            case .cluster:
                throw SpeechNotEstimated(note: "speech not estimated: WebM audio comes before its track description")
            }
        }
        guard let track = found else { throw SpeechNotEstimated(note: "speech not estimated: the WebM file has no audio track") }
        let channels = Int(min(track.channels ?? 1, 255))
        guard (1...2).contains(channels) else {
            throw SpeechNotEstimated(note: "speech not estimated for Opus with \(channels) channels")
        }
        let decoder = try OpusPacketDecoder(channels: channels)
        let analysis = try OverlappedDecode.speech(sampleRate: Int(OpusPacketDecoder.rate), channels: channels, front: .withAnalysis) { push in
            try webm.walk { element in
                guard case .cluster(let cluster) = element else { return .skip }
                let next = try webm.blocks(in: cluster) { block in
                    if let want = track.number, want != block.track { return }
                    if block.isLaced { throw SpeechNotEstimated(note: "speech not estimated: the WebM file laces its Opus blocks") }
                    guard let packet = try webm.frame(of: block) else { return }
                    packet.withUnsafeBufferPointer { decoder.decode($0, into: push) }
                }
                return .resume(at: next)
            }
        }
        guard let analysis else { throw SpeechNotEstimated(note: "speech not estimated at a sample rate of \(OpusPacketDecoder.rate) Hz") }
        try decoder.checkFailures()
        return analysis
    }
}

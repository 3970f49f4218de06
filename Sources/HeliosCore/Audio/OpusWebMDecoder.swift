import COpus
import Synchronization

/// Decodes the Opus audio of a WebM file (what browsers' MediaRecorder writes) into the speech
/// estimator: `WebMDemuxer` reads element headers and one block at a time, and libopus decodes
/// each packet, so memory stays constant whatever the length (a list of where the packets are
/// aside, 12 bytes a packet).
///
/// Packets are decoded at 16 kHz (`OpusPacketDecoder`). Laced blocks (neither browsers nor ffmpeg
/// write them for audio) and more than two channels (multistream) are not decoded: the speech
/// estimate is then reported unknown, never guessed.
enum OpusWebMDecoder {
    /// Decodes every Opus packet of the first audio track into the speech estimate. libopus is
    /// most of the work (0.9 ms a second of 48 kHz audio), so the packets are found first and
    /// then decoded in segments of `segmentPackets` on `workers` threads, each running the front
    /// over its own (`SegmentedDecode`); with `segmentPackets` nil, as one stream on a second
    /// thread a few blocks ahead of the analysis (`OverlappedDecode`; the tests' reference).
    static func analyse(_ file: FileBytes, segmentPackets: Int? = OpusWebMDecoder.segmentPackets, workers: Int = 2) throws -> SpeechAnalysis {
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
        guard let segmentPackets else {
            let analysis = try OverlappedDecode.speech(sampleRate: Int(OpusPacketDecoder.rate), channels: channels, front: .withAnalysis) { push in
                try forEachBlock(of: track, in: webm) { block in
                    guard let packet = try webm.frame(of: block) else { return }
                    packet.withUnsafeBufferPointer { decoder.decode($0, into: push) }
                }
            }
            guard let analysis else { throw SpeechNotEstimated(note: "speech not estimated at a sample rate of \(OpusPacketDecoder.rate) Hz") }
            try decoder.checkFailures()
            return analysis
        }
        // Where the packets are, and the samples each gives by its table of contents (block
        // headers and two bytes a packet: no decoding), so that two threads can share libopus.
        var units: [(offset: UInt64, size: Int)] = []
        var prefix = [0]
        try forEachBlock(of: track, in: webm) { block in
            // What `frame(of:)` refuses, the single stream skips.
            guard block.frameSize > 0, block.frameSize <= WebMDemuxer.maxFrame else { return }
            guard units.count < Self.maximumPackets else {
                throw SpeechNotEstimated(note: "speech not estimated: the WebM file holds too many Opus packets")
            }
            let head = try file.read(at: block.frameStart, count: min(2, Int(block.frameSize)))
            let count = head.isEmpty ? 0 : Int(max(0, opus_packet_get_nb_samples(head, Int32(head.count), OpusPacketDecoder.rate)))
            units.append((block.frameStart, Int(block.frameSize)))
            prefix.append(prefix[prefix.count - 1] + count)
        }
        let size = max(1, min(segmentPackets, max(32, units.count / 8)))
        let tally = Tally()
        let analysis = SegmentedDecode.speech(
            sampleRate: Int(OpusPacketDecoder.rate), channels: channels, segments: (units.count + size - 1) / size,
            workers: workers, nominalStart: { prefix[min(prefix.count - 1, $0 * size)] }
        ) { historyFrames in
            Self.segmentDecoder(
                file: file.sharingFile(), units: units, prefix: prefix, channels: channels, segmentPackets: size,
                primeFrames: Self.primeFrames + historyFrames, historyFrames: historyFrames, tally: tally)
        }
        if let error = tally.error { throw error }
        guard let analysis else { throw SpeechNotEstimated(note: "speech not estimated at a sample rate of \(OpusPacketDecoder.rate) Hz") }
        let (packets, failures) = tally.counts
        try OpusPacketDecoder.checkFailures(packets: packets, failures: failures)
        return analysis
    }

    /// The blocks of `track`, cluster by cluster, in file order: what both the single stream and
    /// the list of packets walk. Laced blocks end the estimate (see the type's note).
    private static func forEachBlock(
        of track: WebMDemuxer.Track, in webm: WebMDemuxer, _ body: (WebMDemuxer.Block) throws -> Void
    ) throws {
        try webm.walk { element in
            guard case .cluster(let cluster) = element else { return .skip }
            let next = try webm.blocks(in: cluster) { block in
                if let want = track.number, want != block.track { return }
                if block.isLaced { throw SpeechNotEstimated(note: "speech not estimated: the WebM file laces its Opus blocks") }
                try body(block)
            }
            return .resume(at: next)
        }
    }

    /// Packets per segment of the parallel decode, at most: about 5 s of 20 ms packets (a short
    /// file in eighths, at least 32 packets a segment, so that both workers have some).
    static let segmentPackets = 256
    /// No 3-minute recording holds more (2.5 ms packets: 72,000).
    static let maximumPackets = 200_000
    /// Samples (at 16 kHz) a fresh decoder is given before a segment's first packet: 120 ms, past
    /// the 80 ms after which RFC 7845 (section 4.6) has a decoder converged on the stream.
    static let primeFrames = 1920

    /// What the workers found, summed: packets and failures of the segments' own packets (not the
    /// priming ones, decoded twice), and the first read error.
    private final class Tally: Sendable {
        private struct State {
            var packets = 0, failures = 0
            var error: (any Error)?
        }
        private let state = Mutex(State())
        var counts: (packets: Int, failures: Int) { state.withLock { ($0.packets, $0.failures) } }
        var error: (any Error)? { state.withLock { $0.error } }
        func add(packets: Int, failures: Int) { state.withLock { $0.packets += packets; $0.failures += failures } }
        func fail(_ error: any Error) { state.withLock { if $0.error == nil { $0.error = error } } }
    }

    /// One worker's decoder for `SegmentedDecode`: segment k is packets k·segmentPackets up to the
    /// next segment's first, decoded by a fresh libopus decoder after the packets just before it
    /// that give at least `primeFrames` samples (their last `historyFrames` are the segment's
    /// history). libopus carries a little state from packet to packet (SILK's filters, CELT's
    /// overlap and pitch pre-filter): after 120 ms it has converged, so a segment's samples are
    /// the single stream's to within that settling, not bit for bit.
    private static func segmentDecoder(
        file: FileBytes, units: [(offset: UInt64, size: Int)], prefix: [Int], channels: Int, segmentPackets: Int,
        primeFrames: Int, historyFrames: Int, tally: Tally
    ) -> SegmentedDecode.Decode {
        let keep = historyFrames * channels
        var packet: [UInt8] = []
        return { segment, history, samples in
            history.removeAll(keepingCapacity: true)
            samples.removeAll(keepingCapacity: true)
            let first = segment * segmentPackets, end = min(units.count, first + segmentPackets)
            guard first < end, let decoder = try? OpusPacketDecoder(channels: channels) else { return false }
            var start = first
            while start > 0, prefix[first] - prefix[start] < primeFrames { start -= 1 }
            var counted = (packets: 0, failures: 0)
            for i in start..<end {
                if i == first { counted = (decoder.packets, decoder.failures) }
                packet.removeAll(keepingCapacity: true)
                do {
                    guard try file.readExactly(at: units[i].offset, count: units[i].size, appendingTo: &packet) else { continue }
                } catch {
                    tally.fail(error)
                    return false
                }
                packet.withUnsafeBufferPointer { bytes in
                    if i < first {
                        decoder.decode(bytes) { history.append(contentsOf: $0) }
                    } else {
                        decoder.decode(bytes) { samples.append(contentsOf: $0) }
                    }
                }
            }
            if history.count > keep { history.removeFirst(history.count - keep) }
            tally.add(packets: decoder.packets - counted.packets, failures: decoder.failures - counted.failures)
            return true
        }
    }
}

import COpus

/// Decodes the Opus audio of a WebM file (what browsers' MediaRecorder writes) block by block
/// into the speech estimator: the EBML walk reads element headers and one block at a time, and
/// libopus decodes each packet, so memory stays constant whatever the length.
///
/// Opus always decodes at any of 8/12/16/24/48 kHz; 16 kHz is asked for, which holds the whole
/// speech band and costs a third of a 48 kHz decode. Laced blocks (neither browsers nor ffmpeg
/// write them for audio) and more than two channels (multistream) are not decoded: the speech
/// estimate is then reported unknown, never guessed.
enum OpusWebMDecoder {
    static let decodeRate: Int32 = 16_000
    private static let maxHeaderRead = 12
    private static let maxBlock: UInt64 = 1 << 20
    private static let maxMetadataSize: UInt64 = 4 << 20
    /// 120 ms at 16 kHz: the longest Opus packet.
    private static let maxPacketFrames: Int32 = 1920

    static let codecID: UInt32 = 0x86
    static let codecPrivate: UInt32 = 0x63A2

    private struct Track {
        var number: UInt64?
        var isAudio = false
        var codec = ""
        var channels: Int = 1
    }

    /// A note for the user when the file cannot be decoded for the estimate.
    struct Unsupported: Error { var note: String }

    /// Decodes every Opus packet of the first audio track into `estimator`; returns it finished.
    static func analyse(_ file: FileBytes) throws -> SpeechAnalysis {
        let head = try file.read(at: 0, count: maxHeaderRead)
        guard let ebml = EBML.element(in: head, at: 0), ebml.id == EBML.ID.header, let ebmlSize = ebml.size,
            let (segment, segmentData) = try header(file, at: UInt64(ebml.dataStart) &+ ebmlSize), segment.id == EBML.ID.segment
        else { throw Unsupported(note: "speech not estimated: the WebM header is damaged") }
        let segmentEnd = segment.size.map { min(file.size, segmentData &+ $0) } ?? file.size

        var track: Track?
        var decoder: Decoder?
        var estimator: SpeechEstimator?
        var pos = segmentData
        while pos < segmentEnd, let (element, dataStart) = try header(file, at: pos) {
            switch element.id {
            case EBML.ID.tracks:
                guard let size = element.size, size <= maxMetadataSize,
                    let body = try file.readExactly(at: dataStart, count: Int(size))
                else { throw Unsupported(note: "speech not estimated: the WebM Tracks element is damaged") }
                track = parseTracks(body)
                guard let t = track, t.codec == "A_OPUS" else {
                    throw Unsupported(note: "speech not estimated: the WebM audio is not Opus")
                }
                guard (1...2).contains(t.channels) else {
                    throw Unsupported(note: "speech not estimated for Opus with \(t.channels) channels")
                }
                decoder = try Decoder(channels: t.channels)
                estimator = SpeechEstimator(sampleRate: Int(decodeRate), channels: t.channels)
            case EBML.ID.cluster:
                guard let t = track, let d = decoder, estimator != nil else {
                    throw Unsupported(note: "speech not estimated: WebM audio comes before its track description")
                }
                let end = element.size.map { min(segmentEnd, dataStart &+ $0) } ?? segmentEnd
                pos = try walkCluster(file, from: dataStart, to: end, knownEnd: element.size != nil, track: t) { packet in
                    d.decode(packet) { estimator?.consume($0) }
                }
                continue
            default:
                break
            }
            guard let size = element.size else { break }
            pos = dataStart &+ size
        }
        guard var finished = estimator else { throw Unsupported(note: "speech not estimated: the WebM file has no audio track") }
        if let d = decoder, d.failures > 0, d.failures * 10 > d.packets {
            throw Unsupported(note: "speech not estimated: \(d.failures) of \(d.packets) Opus packets could not be decoded")
        }
        return finished.finish()
    }

    private static func header(_ file: FileBytes, at pos: UInt64) throws -> (EBML.Element, UInt64)? {
        guard pos < file.size else { return nil }
        let bytes = try file.read(at: pos, count: maxHeaderRead)
        guard let element = EBML.element(in: bytes, at: 0) else { return nil }
        return (element, pos &+ UInt64(element.headerLength))
    }

    private static func children(_ body: ArraySlice<UInt8>) -> [(id: UInt32, data: ArraySlice<UInt8>)] {
        let bytes = Array(body)
        var out: [(UInt32, ArraySlice<UInt8>)] = []
        var at = 0
        while at < bytes.count, let e = EBML.element(in: bytes, at: at), let size = e.size, size <= UInt64(bytes.count - e.dataStart) {
            let end = e.dataStart + Int(size)
            out.append((e.id, bytes[e.dataStart..<end]))
            at = end
        }
        return out
    }

    private static func parseTracks(_ body: [UInt8]) -> Track? {
        for (id, data) in children(body[...]) where id == EBML.ID.trackEntry {
            var track = Track()
            for (cid, cdata) in children(data) {
                switch cid {
                case EBML.ID.trackNumber: track.number = EBML.unsigned(cdata)
                case EBML.ID.trackType: track.isAudio = EBML.unsigned(cdata) == 2
                case codecID: track.codec = String(decoding: cdata.prefix { $0 != 0 }, as: UTF8.self)
                case EBML.ID.audio:
                    for (aid, adata) in children(cdata) where aid == EBML.ID.channels {
                        track.channels = EBML.unsigned(adata).map { Int(min($0, 255)) } ?? 1
                    }
                default: break
                }
            }
            if track.isAudio { return track }
        }
        return nil
    }

    /// Hands each Opus packet of the track in one Cluster to `body`; returns where the Cluster ends.
    private static func walkCluster(
        _ file: FileBytes, from start: UInt64, to limit: UInt64, knownEnd: Bool, track: Track,
        _ body: (UnsafeBufferPointer<UInt8>) -> Void
    ) throws -> UInt64 {
        var pos = start
        while pos < limit, let (element, dataStart) = try header(file, at: pos) {
            if !knownEnd && !EBML.clusterChildren.contains(element.id) { break }
            guard let size = element.size else { break }
            switch element.id {
            case EBML.ID.simpleBlock:
                try block(file, at: dataStart, size: size, track: track, body)
            case EBML.ID.blockGroup:
                var inner = dataStart
                let end = min(limit, dataStart &+ size)
                while inner < end, let (child, childData) = try header(file, at: inner), let childSize = child.size {
                    if child.id == EBML.ID.block { try block(file, at: childData, size: childSize, track: track, body) }
                    inner = childData &+ childSize
                }
            default: break
            }
            pos = dataStart &+ size
        }
        return pos
    }

    /// One (Simple)Block: track number, 16-bit relative time, flags, then the packet.
    private static func block(
        _ file: FileBytes, at pos: UInt64, size: UInt64, track: Track, _ body: (UnsafeBufferPointer<UInt8>) -> Void
    ) throws {
        guard size > 4, size <= maxBlock, let bytes = try file.readExactly(at: pos, count: Int(size)),
            let number = EBML.vint(bytes, at: 0, keepMarker: false)
        else { return }
        if let want = track.number, want != number.value { return }
        let flagsAt = number.length + 2
        guard flagsAt < bytes.count else { return }
        if bytes[flagsAt] & 0x06 != 0 { throw Unsupported(note: "speech not estimated: the WebM file laces its Opus blocks") }
        bytes[(flagsAt + 1)...].withUnsafeBufferPointer(body)
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
                throw Unsupported(note: "speech not estimated: libopus cannot start a decoder: \(text)")
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

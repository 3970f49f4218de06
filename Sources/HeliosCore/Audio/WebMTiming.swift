/// What a container parser learned about the audio: duration plus what the headers say.
struct MediaTiming: Equatable {
    var duration: Double
    var sampleRate: Int?
    var channels: Int?
}

/// WebM duration from `Segment/Info/Duration`, or, when a live recorder left it out (browser
/// MediaRecorder output), from the last Cluster: its Timecode plus the latest block's relative
/// timecode plus one frame (BlockDuration, else the track's DefaultDuration, else the gap between
/// the last two blocks). Cluster payloads are skipped by seeking; only element headers are read.
enum WebMTiming {
    private static let maxHeaderRead = 12
    private static let maxMetadataSize: UInt64 = 4 << 20

    private struct Track {
        var number: UInt64?
        var isAudio = false
        var defaultDurationNs: UInt64?
        var sampleRate: Double?
        var channels: UInt64?
    }

    private struct ClusterEnd {
        var endTicks: Double
    }

    static func read(_ file: FileBytes) throws -> MediaTiming {
        let head = try file.read(at: 0, count: maxHeaderRead)
        guard let ebml = EBML.element(in: head, at: 0), ebml.id == EBML.ID.header, let ebmlSize = ebml.size else {
            throw AudioProblem.invalidFormat("WebM header is damaged")
        }
        let segmentAt = UInt64(ebml.dataStart) + ebmlSize
        guard let segment = try header(file, at: segmentAt), segment.element.id == EBML.ID.segment else {
            throw AudioProblem.invalidFormat("WebM file has no Segment after its header (truncated?)")
        }
        let segmentStart = segmentAt + UInt64(segment.element.headerLength)
        let segmentEnd = segment.element.size.map { min(file.size, segmentStart &+ $0) } ?? file.size

        var scale: UInt64 = 1_000_000
        var durationTicks: Double?
        var audio: Track?
        var lastKnownCluster: (start: UInt64, end: UInt64)?
        var lastEnd: ClusterEnd?
        var pos = segmentStart
        while pos < segmentEnd {
            guard let (element, dataStart) = try header(file, at: pos) else { break }  // truncated tail
            switch element.id {
            case EBML.ID.info:
                let body = try payload(file, element, at: dataStart, what: "Info")
                (scale, durationTicks) = try parseInfo(body)
            case EBML.ID.tracks:
                let body = try payload(file, element, at: dataStart, what: "Tracks")
                audio = parseTracks(body)
            case EBML.ID.cluster:
                if durationTicks != nil && audio != nil { pos = segmentEnd; continue }  // nothing left to learn
                if let size = element.size {
                    lastKnownCluster = (dataStart, min(segmentEnd, dataStart &+ size))
                    lastEnd = nil
                    pos = dataStart &+ size
                } else {
                    let walked = try walkCluster(file, from: dataStart, to: segmentEnd, knownEnd: false, audio: audio, scale: scale)
                    lastKnownCluster = nil
                    lastEnd = walked.end ?? lastEnd  // a cluster cut before its first block adds nothing
                    pos = walked.next
                }
                continue
            default:
                guard element.size != nil else {
                    throw AudioProblem.invalidFormat("WebM element 0x\(String(element.id, radix: 16)) of unknown size cannot be skipped")
                }
            }
            guard let size = element.size else { break }
            pos = dataStart &+ size
        }

        let ticks: Double
        if let durationTicks {
            ticks = durationTicks
        } else if let cluster = lastKnownCluster {
            ticks = try walkCluster(file, from: cluster.start, to: cluster.end, knownEnd: true, audio: audio, scale: scale).end?.endTicks ?? 0
        } else if let lastEnd {
            ticks = lastEnd.endTicks
        } else {
            throw AudioProblem.invalidFormat("WebM file has neither a Duration nor any audio blocks")
        }
        let seconds = ticks * Double(scale) / 1e9
        guard seconds.isFinite, seconds > 0, seconds < 1e7 else {
            throw AudioProblem.invalidFormat("WebM timing is implausible (\(seconds) s)")
        }
        return MediaTiming(
            duration: seconds, sampleRate: audio?.sampleRate.flatMap { $0.isFinite && $0 >= 1 && $0 < 1e7 ? Int($0) : nil },
            channels: audio?.channels.flatMap { $0 > 0 && $0 < 256 ? Int($0) : nil })
    }

    /// The element header at `pos` and where its data starts in the file.
    private static func header(_ file: FileBytes, at pos: UInt64) throws -> (element: EBML.Element, dataStart: UInt64)? {
        guard pos < file.size else { return nil }
        let bytes = try file.read(at: pos, count: maxHeaderRead)
        guard let element = EBML.element(in: bytes, at: 0) else { return nil }
        return (element, pos + UInt64(element.headerLength))
    }

    private static func payload(_ file: FileBytes, _ element: EBML.Element, at start: UInt64, what: String) throws -> [UInt8] {
        guard let size = element.size, size <= maxMetadataSize else {
            throw AudioProblem.invalidFormat("WebM \(what) element has an unusable size")
        }
        guard let body = try file.readExactly(at: start, count: Int(size)) else {
            throw AudioProblem.invalidFormat("WebM \(what) element runs past the end of the file")
        }
        return body
    }

    /// Children of a parsed element body, each as (id, data); stops at the first malformed one.
    private static func children(_ body: [UInt8]) -> [(id: UInt32, data: ArraySlice<UInt8>)] {
        var out: [(UInt32, ArraySlice<UInt8>)] = []
        var at = 0
        while at < body.count, let e = EBML.element(in: body, at: at), let size = e.size,
            size <= UInt64(body.count - e.dataStart)
        {
            let end = e.dataStart + Int(size)
            out.append((e.id, body[e.dataStart..<end]))
            at = end
        }
        return out
    }

    private static func parseInfo(_ body: [UInt8]) throws -> (UInt64, Double?) {
        var scale: UInt64 = 1_000_000
        var duration: Double?
        for (id, data) in children(body) {
            if id == EBML.ID.timecodeScale, let v = EBML.unsigned(data), v > 0 { scale = v }
            if id == EBML.ID.duration, let v = EBML.float(data), v.isFinite, v > 0 { duration = v }
        }
        return (scale, duration)
    }

    /// The first audio track (TrackType 2) with its Audio settings.
    private static func parseTracks(_ body: [UInt8]) -> Track? {
        for (id, data) in children(body) where id == EBML.ID.trackEntry {
            var track = Track()
            for (cid, cdata) in children(Array(data)) {
                switch cid {
                case EBML.ID.trackNumber: track.number = EBML.unsigned(cdata)
                case EBML.ID.trackType: track.isAudio = EBML.unsigned(cdata) == 2
                case EBML.ID.defaultDuration: track.defaultDurationNs = EBML.unsigned(cdata)
                case EBML.ID.audio:
                    for (aid, adata) in children(Array(cdata)) {
                        if aid == EBML.ID.samplingFrequency { track.sampleRate = EBML.float(adata) }
                        if aid == EBML.ID.channels { track.channels = EBML.unsigned(adata) }
                    }
                default: break
                }
            }
            if track.isAudio { return track }
        }
        return nil
    }

    /// Walks one Cluster's children by their headers, returning where it ends and the end time
    /// (in ticks) of its last audio block. An unknown-size Cluster ends at the first element that
    /// cannot be a Cluster child, or at the end of the file.
    private static func walkCluster(
        _ file: FileBytes, from start: UInt64, to limit: UInt64, knownEnd: Bool, audio: Track?, scale: UInt64
    ) throws -> (next: UInt64, end: ClusterEnd?) {
        var pos = start
        var clusterTime: Double?
        var latest: Double?
        var previous: Double?
        var explicitEnd: Double?
        while pos < limit {
            guard let (element, dataStart) = try header(file, at: pos) else { break }
            if !knownEnd && !EBML.clusterChildren.contains(element.id) { break }
            guard let size = element.size else {
                throw AudioProblem.invalidFormat("WebM cluster holds an element of unknown size")
            }
            switch element.id {
            case EBML.ID.timecode:
                if size <= 8 { clusterTime = EBML.unsigned(try file.read(at: dataStart, count: Int(size))[...]).map { Double($0) } }
            case EBML.ID.simpleBlock:
                if let t = try blockTime(file, at: dataStart, audio: audio), let base = clusterTime {
                    (previous, latest) = (latest, base + t)
                }
            case EBML.ID.blockGroup:
                var inner = dataStart
                let groupEnd = min(limit, dataStart &+ size)
                var start: Double?
                var length: Double?
                while inner < groupEnd, let (child, childData) = try header(file, at: inner), let childSize = child.size {
                    if child.id == EBML.ID.block, let t = try blockTime(file, at: childData, audio: audio), let base = clusterTime {
                        start = base + t
                    }
                    if child.id == EBML.ID.blockDuration, childSize <= 8 {
                        length = EBML.unsigned(try file.read(at: childData, count: Int(childSize))[...]).map { Double($0) }
                    }
                    inner = childData &+ childSize
                }
                if let start {
                    (previous, latest) = (latest, start)
                    if let length { explicitEnd = max(explicitEnd ?? 0, start + length) }
                }
            default:
                break
            }
            pos = dataStart &+ size
        }
        guard let latest else { return (pos, nil) }
        let frame: Double
        if let ns = audio?.defaultDurationNs { frame = Double(ns) / Double(scale) }
        else if let previous, latest > previous { frame = latest - previous }
        else { frame = 0 }
        return (pos, ClusterEnd(endTicks: max(latest + frame, explicitEnd ?? 0)))
    }

    /// The relative timecode of a block of the audio track (any track when none is known).
    private static func blockTime(_ file: FileBytes, at pos: UInt64, audio: Track?) throws -> Double? {
        let bytes = try file.read(at: pos, count: 11)
        guard let track = EBML.vint(bytes, at: 0, keepMarker: false), let raw = bytes.be(track.length, 2) else { return nil }
        if let number = audio?.number, number != track.value { return nil }
        return Double(Int16(bitPattern: UInt16(raw)))
    }
}

/// The one walk over a WebM file that both of its readers share: `WebMTiming` (the header pass)
/// and `OpusWebMDecoder` (the speech pass). It reads the Segment's Info and Tracks, then visits
/// its Clusters in file order; inside a Cluster it hands over each block's header. Only element
/// headers are read unless a reader asks for a block's frame, so a Cluster its reader skips costs
/// one header read (a seek past its payload) when its size is known.
///
/// Everything is bounded: metadata elements by `maxMetadataSize`, frames by `maxFrame`, and every
/// step of a walk moves forward in the file.
struct WebMDemuxer {
    private static let maxHeaderRead = 12
    private static let maxMetadataSize: UInt64 = 4 << 20
    static let maxFrame: UInt64 = 1 << 20

    struct Info {
        var timecodeScale: UInt64 = 1_000_000
        /// `Info/Duration` in timecode ticks; nil when absent, zero, negative or not finite.
        var durationTicks: Double?
    }

    struct Track {
        var number: UInt64?
        var type: UInt64?
        var codec = ""
        var defaultDurationNs: UInt64?
        var sampleRate: Double?
        var channels: UInt64?
        var isAudio: Bool { type == 2 }
    }

    /// What `Tracks` lists: the first audio track, and what else is there (for messages).
    struct Tracks {
        var audio: Track?
        var count = 0
        var hasVideo = false
    }

    /// A Cluster's children run from `start` to `end`; when its size is unknown (`end` nil) they
    /// run to the first element that cannot be a Cluster child, or to `limit`.
    struct Cluster {
        var start: UInt64
        var end: UInt64?
        var limit: UInt64
    }

    /// A SimpleBlock, or the Block of a BlockGroup, by its header.
    struct Block {
        var track: UInt64
        /// The Cluster's Timecode, in ticks; nil when the Cluster has none before this block.
        var clusterTime: UInt64?
        var relativeTime: Int16
        /// BlockGroup/BlockDuration in ticks.
        var duration: UInt64?
        var flags: UInt8
        /// Where the frame (the codec's packet) lies in the file.
        var frameStart: UInt64
        var frameSize: UInt64

        /// Start time in ticks.
        var time: Double? { clusterTime.map { Double($0) + Double(relativeTime) } }
        var isLaced: Bool { flags & 0x06 != 0 }
    }

    enum Element {
        case info(Info)
        case tracks(Tracks)
        case cluster(Cluster)
    }

    /// What `walk` does after a visit: go past the element (for a Cluster of unknown size, by
    /// walking its children's headers), go on from where the reader's own walk of the Cluster
    /// ended, or stop.
    enum Next {
        case skip
        case resume(at: UInt64)
        case stop
    }

    let file: FileBytes
    let segmentStart: UInt64
    let segmentEnd: UInt64

    /// Reads the EBML header and finds the Segment.
    init(_ file: FileBytes) throws {
        self.file = file
        let head = try file.read(at: 0, count: Self.maxHeaderRead)
        guard let ebml = EBML.element(in: head, at: 0), ebml.id == EBML.ID.header, let ebmlSize = ebml.size else {
            throw AudioProblem.invalidFormat("WebM header is damaged")
        }
        let segmentAt = UInt64(ebml.dataStart) &+ ebmlSize
        guard let (segment, start) = try Self.header(file, at: segmentAt), segment.id == EBML.ID.segment else {
            throw AudioProblem.invalidFormat("WebM file has no Segment after its header (truncated?)")
        }
        segmentStart = start
        segmentEnd = segment.size.map { min(file.size, start &+ $0) } ?? file.size
    }

    /// Visits Info, Tracks and each Cluster of the Segment in file order; stops at a truncated tail.
    func walk(_ visit: (Element) throws -> Next) throws {
        var pos = segmentStart
        while pos < segmentEnd {
            guard let (element, dataStart) = try Self.header(file, at: pos) else { return }
            let next: Next
            switch element.id {
            case EBML.ID.info:
                next = try visit(.info(Self.parseInfo(try payload(element, at: dataStart, what: "Info"))))
            case EBML.ID.tracks:
                next = try visit(.tracks(Self.parseTracks(try payload(element, at: dataStart, what: "Tracks"))))
            case EBML.ID.cluster:
                let cluster = Cluster(start: dataStart, end: element.size.map { min(segmentEnd, dataStart &+ $0) }, limit: segmentEnd)
                switch try visit(.cluster(cluster)) {
                case .stop: return
                case .resume(let at): pos = max(at, dataStart)
                case .skip: pos = try cluster.end ?? blocks(in: cluster) { _ in }
                }
                continue
            default:
                guard element.size != nil else {
                    throw AudioProblem.invalidFormat("WebM element 0x\(String(element.id, radix: 16)) of unknown size cannot be skipped")
                }
                next = .skip
            }
            if case .stop = next { return }
            guard let size = element.size else { return }
            pos = dataStart &+ size
        }
    }

    /// Hands each block of `cluster` to `body` in file order; returns where the Cluster ends.
    func blocks(in cluster: Cluster, _ body: (Block) throws -> Void) throws -> UInt64 {
        let limit = cluster.end ?? cluster.limit
        var pos = cluster.start
        var clusterTime: UInt64?
        while pos < limit {
            guard let (element, dataStart) = try Self.header(file, at: pos) else { break }
            if cluster.end == nil && !EBML.clusterChildren.contains(element.id) { break }
            guard let size = element.size else {
                throw AudioProblem.invalidFormat("WebM cluster holds an element of unknown size")
            }
            switch element.id {
            case EBML.ID.timecode:
                if size <= 8 { clusterTime = EBML.unsigned(try file.read(at: dataStart, count: Int(size))[...]) }
            case EBML.ID.simpleBlock:
                if let block = try block(at: dataStart, size: size, clusterTime: clusterTime) { try body(block) }
            case EBML.ID.blockGroup:
                var inner = dataStart
                let groupEnd = min(limit, dataStart &+ size)
                var found: Block?
                var duration: UInt64?
                while inner < groupEnd, let (child, childData) = try Self.header(file, at: inner), let childSize = child.size {
                    if child.id == EBML.ID.block { found = try block(at: childData, size: childSize, clusterTime: clusterTime) ?? found }
                    if child.id == EBML.ID.blockDuration, childSize <= 8 {
                        duration = EBML.unsigned(try file.read(at: childData, count: Int(childSize))[...])
                    }
                    inner = childData &+ childSize
                }
                if var found {
                    found.duration = duration
                    try body(found)
                }
            default:
                break
            }
            pos = dataStart &+ size
        }
        return pos
    }

    /// The block's frame, or nil when it is empty, implausibly large or cut short by the file's end.
    func frame(of block: Block) throws -> [UInt8]? {
        guard block.frameSize > 0, block.frameSize <= Self.maxFrame else { return nil }
        return try file.readExactly(at: block.frameStart, count: Int(block.frameSize))
    }

    /// A block's header: track number, 16-bit relative time, flags.
    private func block(at pos: UInt64, size: UInt64, clusterTime: UInt64?) throws -> Block? {
        let bytes = try file.read(at: pos, count: Int(min(size, UInt64(Self.maxHeaderRead))))
        guard let track = EBML.vint(bytes, at: 0, keepMarker: false), let time = bytes.be(track.length, 2) else { return nil }
        let flagsAt = track.length + 2
        guard flagsAt < bytes.count else { return nil }
        let headerLength = UInt64(flagsAt + 1)
        return Block(track: track.value, clusterTime: clusterTime, relativeTime: Int16(bitPattern: UInt16(truncatingIfNeeded: time)),
                     duration: nil, flags: bytes[flagsAt], frameStart: pos &+ headerLength, frameSize: size - headerLength)
    }

    /// The element header at `pos` and where its data starts in the file.
    private static func header(_ file: FileBytes, at pos: UInt64) throws -> (EBML.Element, UInt64)? {
        guard pos < file.size else { return nil }
        let bytes = try file.read(at: pos, count: maxHeaderRead)
        guard let element = EBML.element(in: bytes, at: 0) else { return nil }
        return (element, pos &+ UInt64(element.headerLength))
    }

    private func payload(_ element: EBML.Element, at start: UInt64, what: String) throws -> [UInt8] {
        guard let size = element.size, size <= Self.maxMetadataSize else {
            throw AudioProblem.invalidFormat("WebM \(what) element has an unusable size")
        }
        guard let body = try file.readExactly(at: start, count: Int(size)) else {
            throw AudioProblem.invalidFormat("WebM \(what) element runs past the end of the file")
        }
        return body
    }

    /// Calls `visit` with each child of `b[range]` (id and data range); stops at the first malformed one.
    private static func forEachChild(of b: [UInt8], in range: Range<Int>, _ visit: (UInt32, Range<Int>) -> Void) {
        var at = range.lowerBound
        // A child whose header runs past the parent's end (dataStart beyond it) is malformed too.
        while at < range.upperBound, let e = EBML.element(in: b, at: at), let size = e.size,
            e.dataStart <= range.upperBound, size <= UInt64(range.upperBound - e.dataStart)
        {
            let end = e.dataStart + Int(size)
            visit(e.id, e.dataStart..<end)
            at = end
        }
    }

    private static func parseInfo(_ body: [UInt8]) -> Info {
        var info = Info()
        forEachChild(of: body, in: body.indices) { id, data in
            if id == EBML.ID.timecodeScale, let v = EBML.unsigned(body[data]), v > 0 { info.timecodeScale = v }
            if id == EBML.ID.duration, let v = EBML.float(body[data]), v.isFinite, v > 0 { info.durationTicks = v }
        }
        return info
    }

    private static func parseTracks(_ body: [UInt8]) -> Tracks {
        var tracks = Tracks()
        forEachChild(of: body, in: body.indices) { id, entry in
            guard id == EBML.ID.trackEntry else { return }
            var track = Track()
            forEachChild(of: body, in: entry) { cid, data in
                switch cid {
                case EBML.ID.trackNumber: track.number = EBML.unsigned(body[data])
                case EBML.ID.trackType: track.type = EBML.unsigned(body[data])
                case EBML.ID.codecID: track.codec = String(decoding: body[data].prefix { $0 != 0 }, as: UTF8.self)
                case EBML.ID.defaultDuration: track.defaultDurationNs = EBML.unsigned(body[data])
                case EBML.ID.audio:
                    forEachChild(of: body, in: data) { aid, adata in
                        if aid == EBML.ID.samplingFrequency { track.sampleRate = EBML.float(body[adata]) }
                        if aid == EBML.ID.channels { track.channels = EBML.unsigned(body[adata]) }
                    }
                default: break
                }
            }
            tracks.count += 1
            if track.type == 1 { tracks.hasVideo = true }
            if track.isAudio && tracks.audio == nil { tracks.audio = track }
        }
        return tracks
    }
}

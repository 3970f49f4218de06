/// MP4/M4A duration from the box tree, read by seeking from box header to box header: the audio
/// `mvhd`, else the audio track's `mdhd`, else `mvex/mehd`, else the end of its last fragment
/// (`moof/traf/tfhd|tfdt|trun`). Sample rate and channels come from `stsd`.
enum MP4Timing {
    struct Box {
        var type: String
        var start: UInt64
        var dataStart: UInt64
        var end: UInt64
    }

    private static let maxBoxes = 1_000_000
    private static let maxDepth = 8

    private struct Track {
        var id: UInt32?
        var isAudio = false
        var timescale: UInt64 = 0
        var duration: UInt64 = 0
        var sampleRate: Int?
        var channels: Int?
    }

    private struct State {
        var movieTimescale: UInt64 = 0
        var movieDuration: UInt64 = 0
        var fragmentDuration: UInt64 = 0  // mehd, in movie timescale
        var hasMovieExtends = false
        var trackDefaults: [UInt32: UInt32] = [:]  // trex default_sample_duration by track id
        var audio: Track?
        var fragmentsEnd: UInt64 = 0  // in the audio track's timescale
        var fragmentsRunning: UInt64 = 0
    }

    static func read(_ file: FileBytes) throws -> MediaTiming {
        var state = State()
        var sawMoov = false
        try forEachBox(file, from: 0, to: file.size, topLevel: true) { box in
            switch box.type {
            case "moov":
                sawMoov = true
                try parseMoov(file, box, &state)
                // A plain file is done; a fragmented one needs its fragments unless mehd says it all.
                return state.hasMovieExtends && state.fragmentDuration == 0
            case "moof":
                if sawMoov { try parseMoof(file, box, &state) }
                return true
            default:
                return true
            }
        }
        guard sawMoov else { throw AudioProblem.invalidFormat("MP4 file has no 'moov' box (truncated, or not finished by its recorder)") }
        guard let audio = state.audio else { throw AudioProblem.invalidFormat("MP4 file has no audio track") }

        // mvhd first: it is the presentation length after edit lists (AAC priming trimmed), as
        // ffprobe reports; an empty_moov fragmented file leaves it 0 and falls through.
        let seconds: Double
        if state.movieDuration > 0, state.movieDuration != UInt64(UInt32.max), state.movieTimescale > 0 {
            seconds = Double(state.movieDuration) / Double(state.movieTimescale)
        } else if audio.duration > 0, audio.duration != UInt64(UInt32.max), audio.duration != UInt64.max, audio.timescale > 0 {
            seconds = Double(audio.duration) / Double(audio.timescale)
        } else if state.fragmentDuration > 0, state.movieTimescale > 0 {
            seconds = Double(state.fragmentDuration) / Double(state.movieTimescale)
        } else if state.fragmentsEnd > 0, audio.timescale > 0 {
            seconds = Double(state.fragmentsEnd) / Double(audio.timescale)
        } else {
            throw AudioProblem.invalidFormat("MP4 file states no duration and holds no audio fragments")
        }
        guard seconds.isFinite, seconds > 0, seconds < 1e7 else {
            throw AudioProblem.invalidFormat("MP4 timing is implausible (\(seconds) s)")
        }
        return MediaTiming(duration: seconds, sampleRate: audio.sampleRate, channels: audio.channels)
    }

    /// Calls `body` for each box in [from, to) until it returns false. Sizes of 0 (to the end)
    /// and 1 (64-bit) are honoured; a top-level box running past the end of the file is clamped
    /// (a truncated mdat), one overrunning its parent is an error.
    static func forEachBox(
        _ file: FileBytes, from: UInt64, to: UInt64, topLevel: Bool = false, _ body: (Box) throws -> Bool
    ) throws {
        var pos = from
        var count = 0
        while pos + 8 <= to {
            count += 1
            guard count <= maxBoxes else { throw AudioProblem.invalidFormat("MP4 file holds too many boxes") }
            let head = try file.read(at: pos, count: 16)
            guard let size32 = head.be32(0), let type = head.ascii(4, 4) else { break }
            var headerLength: UInt64 = 8
            var end: UInt64
            switch size32 {
            case 0:
                end = to
            case 1:
                guard let large = head.be(8, 8) else { throw AudioProblem.invalidFormat("MP4 box '\(type)' cut short") }
                headerLength = 16
                guard large >= headerLength else { throw AudioProblem.invalidFormat("MP4 box '\(type)' has an impossible size") }
                let (sum, overflow) = pos.addingReportingOverflow(large)
                end = overflow ? UInt64.max : sum
            default:
                guard UInt64(size32) >= headerLength else {
                    throw AudioProblem.invalidFormat("MP4 box '\(type)' has an impossible size (\(size32))")
                }
                end = pos + UInt64(size32)
            }
            if end > to {
                guard topLevel else { throw AudioProblem.invalidFormat("MP4 box '\(type)' runs past its parent") }
                end = to
            }
            guard try body(Box(type: type, start: pos, dataStart: pos + headerLength, end: end)) else { return }
            pos = end
        }
    }

    /// The payload of a small leaf box (headers and tables), bounded so hostile sizes cannot
    /// make us allocate much.
    private static func leaf(_ file: FileBytes, _ box: Box, max: Int = 4096) throws -> [UInt8] {
        try file.read(at: box.dataStart, count: Int(Swift.min(UInt64(max), box.end - box.dataStart)))
    }

    private static func parseMoov(_ file: FileBytes, _ moov: Box, _ state: inout State) throws {
        try forEachBox(file, from: moov.dataStart, to: moov.end) { box in
            switch box.type {
            case "mvhd":
                let d = try leaf(file, box)
                guard let (scale, duration) = timescaleAndDuration(d) else { throw AudioProblem.invalidFormat("MP4 'mvhd' box cut short") }
                (state.movieTimescale, state.movieDuration) = (scale, duration)
            case "trak":
                var track = Track()
                try parseTrak(file, box, &track, depth: 2)
                if track.isAudio && state.audio == nil { state.audio = track }
            case "mvex":
                state.hasMovieExtends = true
                try forEachBox(file, from: box.dataStart, to: box.end) { child in
                    let d = try leaf(file, child)
                    if child.type == "mehd" {
                        state.fragmentDuration = (d.first == 1 ? d.be(4, 8) : d.be(4, 4)) ?? 0
                    } else if child.type == "trex", let id = d.be32(4), let duration = d.be32(12) {
                        state.trackDefaults[id] = duration
                    }
                    return true
                }
            default:
                break
            }
            return true
        }
    }

    /// Version 0 holds 32-bit times, version 1 64-bit ones (mvhd and mdhd share the layout).
    private static func timescaleAndDuration(_ d: [UInt8]) -> (UInt64, UInt64)? {
        if d.first == 1 {
            guard let scale = d.be(20, 4), let duration = d.be(24, 8) else { return nil }
            return (scale, duration)
        }
        guard let scale = d.be(12, 4), let duration = d.be(16, 4) else { return nil }
        return (scale, duration)
    }

    private static let trackContainers: Set<String> = ["trak", "mdia", "minf", "stbl"]

    private static func parseTrak(_ file: FileBytes, _ parent: Box, _ track: inout Track, depth: Int) throws {
        guard depth <= maxDepth else { throw AudioProblem.invalidFormat("MP4 boxes nest too deeply") }
        try forEachBox(file, from: parent.dataStart, to: parent.end) { box in
            if trackContainers.contains(box.type) { try parseTrak(file, box, &track, depth: depth + 1); return true }
            let d = try leaf(file, box)
            switch box.type {
            case "tkhd":
                track.id = d.first == 1 ? d.be32(20) : d.be32(12)
            case "mdhd":
                guard let (scale, duration) = timescaleAndDuration(d) else { throw AudioProblem.invalidFormat("MP4 'mdhd' box cut short") }
                (track.timescale, track.duration) = (scale, duration)
            case "hdlr":
                track.isAudio = d.ascii(8, 4) == "soun"
            case "stsd":
                // The first sample entry starts after version/flags and entry_count; AudioSampleEntry
                // keeps channelcount at +24 and a 16.16 samplerate at +32 from the entry's start.
                if let channels = d.be(8 + 24, 2), channels > 0 { track.channels = Int(channels) }
                if let rate = d.be32(8 + 32), rate >> 16 > 0 { track.sampleRate = Int(rate >> 16) }
                // mp4a's header fields are templates (always 2 channels); AAC's own config is the truth.
                if d.ascii(12, 4) == "mp4a", let config = AACConfig(sampleEntry: Array(d.dropFirst(8))) {
                    track.channels = config.channels ?? track.channels
                    track.sampleRate = config.sampleRate ?? track.sampleRate
                }
            default:
                break
            }
            return true
        }
    }

    private static func parseMoof(_ file: FileBytes, _ moof: Box, _ state: inout State) throws {
        guard let audio = state.audio, let audioID = audio.id else { return }
        try forEachBox(file, from: moof.dataStart, to: moof.end) { traf in
            guard traf.type == "traf" else { return true }
            var trackID: UInt32?
            var defaultDuration = state.trackDefaults[audioID].map(UInt64.init) ?? 0
            var decodeTime: UInt64?
            var total: UInt64 = 0
            try forEachBox(file, from: traf.dataStart, to: traf.end) { box in
                let d = try leaf(file, box, max: 64)
                switch box.type {
                case "tfhd":
                    guard let flags = d.be(1, 3), let id = d.be32(4) else { throw AudioProblem.invalidFormat("MP4 'tfhd' box cut short") }
                    trackID = id
                    var at = 8
                    if flags & 0x1 != 0 { at += 8 }
                    if flags & 0x2 != 0 { at += 4 }
                    if flags & 0x8 != 0, let v = d.be32(at) { defaultDuration = UInt64(v) }
                case "tfdt":
                    decodeTime = d.first == 1 ? d.be(4, 8) : d.be(4, 4)
                case "trun":
                    guard trackID == audioID else { return true }
                    total &+= try trunDuration(file, box, defaultDuration: defaultDuration)
                default:
                    break
                }
                return true
            }
            guard trackID == audioID else { return true }
            let start = decodeTime ?? state.fragmentsRunning
            state.fragmentsRunning = start &+ total
            state.fragmentsEnd = max(state.fragmentsEnd, start &+ total)
            return true
        }
    }

    /// Sum of a track run's sample durations: per-sample when present (read in bounded chunks),
    /// else sample_count times the default.
    private static func trunDuration(_ file: FileBytes, _ box: Box, defaultDuration: UInt64) throws -> UInt64 {
        let d = try leaf(file, box, max: 16)
        guard let flags = d.be(1, 3), let count = d.be32(4) else { throw AudioProblem.invalidFormat("MP4 'trun' box cut short") }
        guard flags & 0x100 != 0 else { return UInt64(count) &* defaultDuration }
        var tableStart = box.dataStart + 8
        if flags & 0x1 != 0 { tableStart += 4 }
        if flags & 0x4 != 0 { tableStart += 4 }
        let entry = UInt64(4 * [0x100, 0x200, 0x400, 0x800].filter { flags & UInt64($0) != 0 }.count)
        guard tableStart + UInt64(count) * entry <= box.end else {
            throw AudioProblem.invalidFormat("MP4 'trun' sample table runs past its box")
        }
        var sum: UInt64 = 0
        var done: UInt64 = 0
        let perChunk: UInt64 = 4096
        while done < UInt64(count) {
            let n = min(perChunk, UInt64(count) - done)
            guard let table = try file.readExactly(at: tableStart + done * entry, count: Int(n * entry)) else {
                throw AudioProblem.invalidFormat("MP4 'trun' sample table cut short")
            }
            for i in 0..<Int(n) { sum &+= table.be(i * Int(entry), 4) ?? 0 }
            done += n
        }
        return sum
    }
}

/// The AudioSpecificConfig inside an `mp4a` entry's `esds` box (ISO 14496-3 1.6.2.1).
struct AACConfig {
    var sampleRate: Int?
    var channels: Int?
    /// DecoderConfigDescriptor's objectTypeIndication: 0x40 MPEG-4 audio, 0x66–0x68 MPEG-2 AAC,
    /// 0x69/0x6B MP3 (nil when the descriptor is missing).
    var objectType: UInt8?
    /// The AudioSpecificConfig bytes, as a decoder is initialised with them.
    var audioSpecificConfig: [UInt8]

    private static let rates = [96_000, 88_200, 64_000, 48_000, 44_100, 32_000, 24_000, 22_050, 16_000, 12_000, 11_025, 8000, 7350]

    /// `entry` starts at the sample entry's size field; child boxes follow its 36-byte header.
    init?(sampleEntry entry: [UInt8]) {
        var at = 36
        var esds: ArraySlice<UInt8>?
        while at + 8 <= entry.count, let size = entry.be32(at), size >= 8, at + Int(size) <= entry.count {
            // A full box: 8 bytes of header and 4 of version/flags before its descriptors.
            if size >= 12, entry.ascii(at + 4, 4) == "esds" { esds = entry[(at + 12)..<(at + Int(size))] }
            at += Int(size)
        }
        guard let esds else { return nil }
        let (objectType, info) = Self.decoderConfig(Array(esds))
        guard let asc = info, asc.count >= 2 else { return nil }
        self.objectType = objectType
        audioSpecificConfig = asc
        let frequencyIndex = Int((asc[0] & 0x07) << 1 | asc[1] >> 7)
        let channelConfig = Int((asc[1] >> 3) & 0x0F)
        sampleRate = frequencyIndex < Self.rates.count ? Self.rates[frequencyIndex] : nil
        channels = (1...6).contains(channelConfig) ? channelConfig : channelConfig == 7 ? 8 : nil
    }

    /// Walks the descriptors ES (0x03) → DecoderConfig (0x04) → DecoderSpecificInfo (0x05).
    private static func decoderConfig(_ d: [UInt8]) -> (objectType: UInt8?, info: [UInt8]?) {
        var at = 0
        var guardCount = 0
        var objectType: UInt8?
        while at < d.count, guardCount < 64 {
            guardCount += 1
            let tag = d[at]
            at += 1
            var length = 0
            for _ in 0..<4 {
                guard at < d.count else { return (objectType, nil) }
                let byte = d[at]
                at += 1
                length = length << 7 | Int(byte & 0x7F)
                if byte & 0x80 == 0 { break }
            }
            switch tag {
            case 0x03:
                guard at + 3 <= d.count else { return (objectType, nil) }
                let flags = d[at + 2]
                at += 3
                if flags & 0x80 != 0 { at += 2 }
                if flags & 0x40 != 0 { guard at < d.count else { return (objectType, nil) }; at += 1 + Int(d[at]) }
                if flags & 0x20 != 0 { at += 2 }
            case 0x04:
                if at < d.count { objectType = d[at] }
                at += 13
            case 0x05:
                guard at + length <= d.count else { return (objectType, nil) }
                return (objectType, Array(d[at..<at + length]))
            default:
                at += length
            }
        }
        return (objectType, nil)
    }
}

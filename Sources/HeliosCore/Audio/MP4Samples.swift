/// The coded samples (AAC access units) of an MP4/M4A file's first audio track, in file order, for
/// the speech pass: plain files through `stsz`/`stsc`/`stco|co64`, fragmented ones through
/// `moof/traf/tfhd|trun`. Tables are read from the file in bounded chunks, so memory does not grow
/// with what a (possibly hostile) file claims; every count is capped by what its box can hold.
struct MP4AudioTrack {
    var id: UInt32?
    /// The sample entry's four-character code: `mp4a` for AAC (and MP3-in-MP4), `alac`, `Opus`, `ac-3`…
    var entryType: String?
    var config: AACConfig?
    /// Plain sample tables, when the track has them.
    var sampleSizes: MP4Timing.Box?
    var sampleToChunk: MP4Timing.Box?
    var chunkOffsets: MP4Timing.Box?
    var chunkOffsets64 = false
    /// trex's default sample size, for fragments that state none.
    var fragmentDefaultSize: UInt32 = 0

    /// AAC (MPEG-4 audio, or MPEG-2 AAC Main/LC/SSR) with its decoder configuration.
    var isAAC: Bool {
        guard entryType == "mp4a", let config, !config.audioSpecificConfig.isEmpty else { return false }
        return config.objectType.map { [0x40, 0x66, 0x67, 0x68].contains($0) } ?? true
    }

    /// What the track holds, for a note when it is not AAC.
    var codecName: String {
        switch entryType {
        case "mp4a": config?.objectType.map { [0x69, 0x6B].contains($0) } == true ? "MP3" : "an undecodable mp4a stream"
        case "alac": "ALAC"
        case "Opus": "Opus"
        case "ac-3", "ec-3": "Dolby AC-3"
        case "fLaC": "FLAC"
        case let other?: "'\(Text.terminalSafe(other))' audio"
        case nil: "no described audio"
        }
    }
}

enum MP4Samples {
    /// Larger than any AAC access unit (6144 bits per channel, 8 channels): more is damage.
    static let maximumSampleSize = 64 * 1024
    /// No recording of 3 minutes holds more (AAC at 96 kHz: about 17,000).
    static let maximumSamples = 10_000_000

    /// The first audio track's description and tables (the `moov` box only).
    static func audioTrack(_ file: FileBytes) throws -> MP4AudioTrack? {
        var found: MP4AudioTrack?
        var defaults: [UInt32: UInt32] = [:]
        try MP4Timing.forEachBox(file, from: 0, to: file.size, topLevel: true) { top in
            guard top.type == "moov" else { return true }
            try MP4Timing.forEachBox(file, from: top.dataStart, to: top.end) { box in
                switch box.type {
                case "trak":
                    var track = MP4AudioTrack()
                    var isAudio = false
                    try walkTrak(file, box, &track, &isAudio, depth: 0)
                    if isAudio, found == nil { found = track }
                case "mvex":
                    try MP4Timing.forEachBox(file, from: box.dataStart, to: box.end) { child in
                        if child.type == "trex", let d = try? file.read(at: child.dataStart, count: 24),
                           let id = d.be32(4), let size = d.be32(16) {
                            defaults[id] = size
                        }
                        return true
                    }
                default:
                    break
                }
                return true
            }
            return false
        }
        if var track = found, let id = track.id, let size = defaults[id] { track.fragmentDefaultSize = size; found = track }
        return found
    }

    private static let containers: Set<String> = ["mdia", "minf", "stbl"]

    private static func walkTrak(_ file: FileBytes, _ parent: MP4Timing.Box, _ track: inout MP4AudioTrack, _ isAudio: inout Bool, depth: Int) throws {
        guard depth < 6 else { throw AudioProblem.invalidFormat("MP4 boxes nest too deeply") }
        try MP4Timing.forEachBox(file, from: parent.dataStart, to: parent.end) { box in
            if containers.contains(box.type) { try walkTrak(file, box, &track, &isAudio, depth: depth + 1); return true }
            switch box.type {
            case "tkhd":
                let d = try file.read(at: box.dataStart, count: 24)
                track.id = d.first == 1 ? d.be32(20) : d.be32(12)
            case "hdlr":
                isAudio = try file.read(at: box.dataStart, count: 12).ascii(8, 4) == "soun"
            case "stsd":
                let d = try file.read(at: box.dataStart, count: Int(min(4096, box.end - box.dataStart)))
                track.entryType = d.ascii(12, 4)
                if track.entryType == "mp4a" { track.config = AACConfig(sampleEntry: Array(d.dropFirst(8))) }
            case "stsz": track.sampleSizes = box
            case "stsc": track.sampleToChunk = box
            case "stco": track.chunkOffsets = box
            case "co64": track.chunkOffsets = box; track.chunkOffsets64 = true
            default: break
            }
            return true
        }
    }

    /// Calls `body(offset, size)` for each sample of `track` in file order, plain tables first, then
    /// fragments, until it returns false. Throws on a table that contradicts its box or the file.
    static func forEachSample(_ file: FileBytes, track: MP4AudioTrack, _ body: (UInt64, Int) throws -> Bool) throws {
        var delivered = 0
        func deliver(_ offset: UInt64, _ size: Int) throws -> Bool {
            guard size > 0, size <= maximumSampleSize else { throw AudioProblem.invalidFormat("MP4 sample of \(size) bytes") }
            guard offset < file.size, UInt64(size) <= file.size - offset else { throw AudioProblem.invalidFormat("MP4 sample lies past the end of the file") }
            delivered += 1
            guard delivered <= maximumSamples else { throw AudioProblem.invalidFormat("MP4 file holds too many samples") }
            return try body(offset, size)
        }
        if let sizes = track.sampleSizes, let toChunk = track.sampleToChunk, let offsets = track.chunkOffsets {
            guard try plainSamples(file, sizes: sizes, toChunk: toChunk, offsets: offsets, wide: track.chunkOffsets64, deliver) else { return }
        }
        guard let id = track.id else { return }
        try MP4Timing.forEachBox(file, from: 0, to: file.size, topLevel: true) { top in
            guard top.type == "moof" else { return true }
            return try fragmentSamples(file, moof: top, trackID: id, defaultSize: track.fragmentDefaultSize, deliver)
        }
    }

    /// A full box's table of `count` entries of `width` bytes from `start`, read 4096 entries at a time.
    private struct Table {
        let file: FileBytes
        let start: UInt64
        let count: Int
        let width: Int
        private var cache: [UInt8] = []
        private var cacheFirst = -1

        init(_ file: FileBytes, start: UInt64, count: UInt64, width: Int, box: MP4Timing.Box, name: String) throws {
            guard start <= box.end, count <= (box.end - start) / UInt64(width) else {
                throw AudioProblem.invalidFormat("MP4 '\(name)' table runs past its box")
            }
            self.file = file
            self.start = start
            self.count = Int(count)
            self.width = width
        }

        mutating func value(_ index: Int, field: Int = 0, fieldWidth: Int = 4) throws -> UInt64 {
            let perRead = 4096
            let first = index / perRead * perRead
            if first != cacheFirst {
                let n = min(perRead, count - first)
                guard let bytes = try file.readExactly(at: start + UInt64(first * width), count: n * width) else {
                    throw AudioProblem.invalidFormat("MP4 sample table cut short")
                }
                cache = bytes
                cacheFirst = first
            }
            return cache.be((index - first) * width + field, fieldWidth) ?? 0
        }
    }

    private static func header(_ file: FileBytes, _ box: MP4Timing.Box, _ name: String, _ count: Int) throws -> [UInt8] {
        guard let d = try file.readExactly(at: box.dataStart, count: count), box.end - box.dataStart >= UInt64(count) else {
            throw AudioProblem.invalidFormat("MP4 '\(name)' box cut short")
        }
        return d
    }

    private static func plainSamples(
        _ file: FileBytes, sizes: MP4Timing.Box, toChunk: MP4Timing.Box, offsets: MP4Timing.Box, wide: Bool,
        _ deliver: (UInt64, Int) throws -> Bool
    ) throws -> Bool {
        let sz = try header(file, sizes, "stsz", 12)
        let constant = sz.be32(4) ?? 0
        let sampleCount = Int(min(UInt64(sz.be32(8) ?? 0), UInt64(maximumSamples)))
        var sizeTable = constant == 0
            ? try Table(file, start: sizes.dataStart + 12, count: UInt64(sampleCount), width: 4, box: sizes, name: "stsz") : nil
        let sc = try header(file, toChunk, "stsc", 8)
        var chunkTable = try Table(file, start: toChunk.dataStart + 8, count: UInt64(sc.be32(4) ?? 0), width: 12, box: toChunk, name: "stsc")
        let co = try header(file, offsets, wide ? "co64" : "stco", 8)
        var offsetTable = try Table(file, start: offsets.dataStart + 8, count: UInt64(co.be32(4) ?? 0), width: wide ? 8 : 4, box: offsets, name: wide ? "co64" : "stco")

        var sample = 0
        var entry = 0
        var perChunk: UInt64 = 0
        for chunk in 0..<offsetTable.count where sample < sampleCount {
            // stsc entries are (first_chunk, samples_per_chunk, description), first_chunk 1-based.
            while entry < chunkTable.count, try chunkTable.value(entry) <= UInt64(chunk + 1) {
                perChunk = try chunkTable.value(entry, field: 4)
                entry += 1
            }
            var offset = try offsetTable.value(chunk, fieldWidth: wide ? 8 : 4)
            var inChunk: UInt64 = 0
            while inChunk < perChunk, sample < sampleCount {
                var size = Int(constant)
                if var table = sizeTable { size = Int(try table.value(sample)); sizeTable = table }
                guard try deliver(offset, size) else { return false }
                offset &+= UInt64(size)
                inChunk += 1
                sample += 1
            }
        }
        return true
    }

    /// One `moof`'s samples of track `trackID`. Returns false when `deliver` asked to stop.
    private static func fragmentSamples(
        _ file: FileBytes, moof: MP4Timing.Box, trackID: UInt32, defaultSize: UInt32,
        _ deliver: (UInt64, Int) throws -> Bool
    ) throws -> Bool {
        var keepGoing = true
        try MP4Timing.forEachBox(file, from: moof.dataStart, to: moof.end) { traf in
            guard traf.type == "traf" else { return true }
            var ours = false
            var base = moof.start
            var size = defaultSize
            var cursor: UInt64?
            try MP4Timing.forEachBox(file, from: traf.dataStart, to: traf.end) { box in
                switch box.type {
                case "tfhd":
                    let d = try header(file, box, "tfhd", 8)
                    guard let flags = d.be(1, 3), let id = d.be32(4) else { return false }
                    ours = id == trackID
                    let more = try file.read(at: box.dataStart + 8, count: 28)
                    var at = 0
                    if flags & 0x1 != 0 { base = more.be(at, 8) ?? base; at += 8 }
                    if flags & 0x2 != 0 { at += 4 }
                    if flags & 0x8 != 0 { at += 4 }
                    if flags & 0x10 != 0, let v = more.be32(at) { size = v }
                case "trun" where ours:
                    let d = try header(file, box, "trun", 8)
                    guard let flags = d.be(1, 3), let count = d.be32(4) else { return false }
                    var at: UInt64 = 8
                    var offset = cursor ?? base
                    if flags & 0x1 != 0 {
                        let raw = try header(file, box, "trun", 12).be32(8) ?? 0
                        offset = base &+ UInt64(bitPattern: Int64(Int32(bitPattern: raw)))
                        at += 4
                    }
                    if flags & 0x4 != 0 { at += 4 }
                    let fields = [0x100, 0x200, 0x400, 0x800].filter { flags & UInt64($0) != 0 }
                    let width = 4 * fields.count
                    let sizeField = fields.firstIndex(of: 0x200).map { 4 * $0 }
                    var table = width > 0
                        ? try Table(file, start: box.dataStart + at, count: UInt64(count), width: width, box: box, name: "trun") : nil
                    for i in 0..<Int(min(UInt64(count), UInt64(maximumSamples))) {
                        var sampleSize = Int(size)
                        if let sizeField, var t = table { sampleSize = Int(try t.value(i, field: sizeField)); table = t }
                        guard try deliver(offset, sampleSize) else { keepGoing = false; return false }
                        offset &+= UInt64(sampleSize)
                    }
                    cursor = offset
                default:
                    break
                }
                return true
            }
            return keepGoing
        }
        return keepGoing
    }
}

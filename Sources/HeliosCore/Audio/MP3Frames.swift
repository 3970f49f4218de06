/// MPEG audio layer III frame headers: used to tell MP3 from random bytes when sniffing, and to
/// count frames when the file has no Xing/Info/VBRI header (libsndfile then only estimates the
/// length from the first frame's bitrate, and stops decoding at that estimate).
struct MP3FrameHeader: Equatable {
    var sampleRate: Int
    var channels: Int
    var frameLength: Int
    var samplesPerFrame: Int
    var isMPEG1: Bool

    private static let bitratesV1: [Int] = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320]
    private static let bitratesV2: [Int] = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160]

    /// Parses four bytes; nil unless every field is valid for layer III (free-format bitrate is refused).
    init?(_ b: [UInt8], at i: Int = 0) {
        guard i >= 0, i + 4 <= b.count, b[i] == 0xFF, b[i + 1] & 0xE0 == 0xE0 else { return nil }
        let version = (b[i + 1] >> 3) & 3  // 0: MPEG 2.5, 1: reserved, 2: MPEG 2, 3: MPEG 1
        let layer = (b[i + 1] >> 1) & 3  // 1: layer III
        let bitrateIndex = Int(b[i + 2] >> 4)
        let rateIndex = Int((b[i + 2] >> 2) & 3)
        guard version != 1, layer == 1, bitrateIndex != 0, bitrateIndex != 15, rateIndex != 3,
            b[i + 3] & 3 != 2
        else { return nil }
        let baseRates = [44_100, 48_000, 32_000]
        let rate = version == 3 ? baseRates[rateIndex] : version == 2 ? baseRates[rateIndex] / 2 : baseRates[rateIndex] / 4
        let kbps = (version == 3 ? Self.bitratesV1 : Self.bitratesV2)[bitrateIndex]
        let padding = Int((b[i + 2] >> 1) & 1)
        isMPEG1 = version == 3
        sampleRate = rate
        channels = b[i + 3] >> 6 == 3 ? 1 : 2
        samplesPerFrame = isMPEG1 ? 1152 : 576
        frameLength = (samplesPerFrame / 8) * kbps * 1000 / rate + padding
    }

    /// Where a Xing/Info tag would start inside this frame (after the side information).
    var xingOffset: Int { 4 + (isMPEG1 ? (channels == 1 ? 17 : 32) : (channels == 1 ? 9 : 17)) }
}

enum MP3Frames {
    /// True when `bytes` at `at` holds a valid header and, if the buffer reaches that far, a
    /// second one right after it with the same sample rate: random bytes rarely pass both.
    static func looksLikeMP3(_ bytes: [UInt8], at: Int, fileHasMore: Bool) -> Bool {
        guard let first = MP3FrameHeader(bytes, at: at) else { return false }
        let next = at + first.frameLength
        if next + 4 <= bytes.count {
            guard let second = MP3FrameHeader(bytes, at: next) else { return false }
            return second.sampleRate == first.sampleRate
        }
        return !fileHasMore || next >= bytes.count
    }

    struct Scan {
        var first: MP3FrameHeader
        var frames: Int
        var samples: Int
        var hasVBRHeader: Bool
    }

    /// Walks every frame header from `start`, seeking from one to the next; resynchronises
    /// byte-by-byte over junk (tags, damage). Reads headers only, through FileBytes' window.
    static func scan(_ file: FileBytes, from start: UInt64) throws -> Scan? {
        var offset = start
        var first: MP3FrameHeader?
        var frames = 0
        var samples = 0
        var hasVBRHeader = false
        while offset + 4 <= file.size {
            let head = try file.read(at: offset, count: 4)
            guard let header = MP3FrameHeader(head) else {
                offset = try nextSync(file, after: offset)
                continue
            }
            if first == nil {
                first = header
                let probe = try file.read(at: offset, count: header.xingOffset + 4)
                if let tag = probe.ascii(header.xingOffset, 4), tag == "Xing" || tag == "Info" {
                    hasVBRHeader = true
                } else if probe.count >= 40, (try file.read(at: offset + 36, count: 4)).ascii(0, 4) == "VBRI" {
                    hasVBRHeader = true
                }
            }
            // A frame cut short by the end of the file still decodes partly; count it only if whole.
            if offset + UInt64(header.frameLength) > file.size { break }
            frames += 1
            samples += header.samplesPerFrame
            offset += UInt64(header.frameLength)
        }
        guard let first else { return nil }
        return Scan(first: first, frames: frames, samples: samples, hasVBRHeader: hasVBRHeader)
    }

    /// The next 0xFF byte after `offset`, searched a window at a time so junk costs no per-byte reads.
    private static func nextSync(_ file: FileBytes, after offset: UInt64) throws -> UInt64 {
        var at = offset + 1
        while at < file.size {
            let chunk = try file.read(at: at, count: 64 * 1024)
            guard !chunk.isEmpty else { break }
            if let i = chunk.firstIndex(of: 0xFF) { return at + UInt64(i) }
            at += UInt64(chunk.count)
        }
        return file.size
    }
}

/// Tells the container format from the first bytes of a file, never from its name.
enum FormatSniffer {
    struct Result: Equatable {
        var format: AudioFormat
        /// Where the audio stream starts (after an ID3v2 tag), for the MP3 frame scan.
        var audioStart: UInt64 = 0
    }

    static func sniff(_ file: FileBytes) throws(AudioProblem) -> Result {
        do {
            let head = try file.read(at: 0, count: 4096)
            guard !head.isEmpty else { throw AudioProblem.empty }
            if head.hasPrefix(Array("ID3".utf8)) { return try afterID3(file, head) }
            return try sniffHead(head, file: file)
        } catch let problem as AudioProblem {
            throw problem
        } catch {
            throw .notReadable("\(error)")
        }
    }

    private static func sniffHead(_ head: [UInt8], file: FileBytes) throws(AudioProblem) -> Result {
        let tag4 = head.ascii(0, 4)
        if tag4 == "RIFF" || tag4 == "RF64" || tag4 == "BW64" {
            guard head.ascii(8, 4) == "WAVE" else { throw .invalidFormat("RIFF file that is not WAVE audio (\(head.ascii(8, 4).map { Text.printableASCII($0) } ?? "truncated"))") }
            return Result(format: .wav)
        }
        if tag4 == "fLaC" { return Result(format: .flac) }
        if tag4 == "OggS" { return Result(format: try oggCodec(head)) }
        if head.hasPrefix([0x1A, 0x45, 0xDF, 0xA3]) { return Result(format: try ebmlDocType(head)) }
        if head.ascii(4, 4) == "ftyp" { return Result(format: try mp4Brand(head)) }
        if tag4 == "FORM", let kind = head.ascii(8, 4), kind == "AIFF" || kind == "AIFC" {
            throw .invalidFormat("AIFF audio is not accepted; convert it to WAV or FLAC")
        }
        if MP3Frames.looksLikeMP3(head, at: 0, fileHasMore: file.size > UInt64(head.count)) {
            return Result(format: .mp3)
        }
        throw .invalidFormat(describeUnknown(head))
    }

    /// ID3v2 wraps MP3 (and sometimes FLAC): skip the tag by its syncsafe size and look again.
    private static func afterID3(_ file: FileBytes, _ head: [UInt8]) throws -> Result {
        guard head.count >= 10 else { throw AudioProblem.invalidFormat("ID3 tag cut short; no audio follows it") }
        let size = (0..<4).reduce(0) { $0 << 7 | Int(head[6 + $1] & 0x7F) }
        let footer = head[5] & 0x10 != 0 ? 10 : 0
        let start = UInt64(10 + size + footer)
        let after = try file.read(at: start, count: 4096)
        if after.hasPrefix(Array("fLaC".utf8)) { return Result(format: .flac, audioStart: start) }
        if MP3Frames.looksLikeMP3(after, at: 0, fileHasMore: file.size > start + UInt64(after.count)) {
            return Result(format: .mp3, audioStart: start)
        }
        throw AudioProblem.invalidFormat(after.isEmpty ? "ID3 tag with no audio after it" : "ID3 tag followed by no MP3 or FLAC audio")
    }

    /// The first Ogg page carries the first packet, whose magic names the codec.
    private static func oggCodec(_ head: [UInt8]) throws(AudioProblem) -> AudioFormat {
        guard head.count > 27 else { throw .invalidFormat("Ogg page header cut short") }
        let packet = 27 + Int(head[26])
        if head.hasPrefix([0x01] + Array("vorbis".utf8), at: packet) { return .ogg }
        if head.hasPrefix(Array("OpusHead".utf8), at: packet) { return .opus }
        let codec: String
        if head.hasPrefix([0x7F] + Array("FLAC".utf8), at: packet) { codec = "FLAC" }
        else if head.hasPrefix(Array("Speex".utf8), at: packet) { codec = "Speex" }
        else if head.hasPrefix([0x80] + Array("theora".utf8), at: packet) { codec = "Theora video" }
        else { codec = "an unknown codec" }
        throw .invalidFormat("Ogg file holding \(codec); thymia accepts Ogg Vorbis or Opus only")
    }

    /// Reads the EBML header's DocType: WebM is accepted, other Matroska files are not.
    private static func ebmlDocType(_ head: [UInt8]) throws(AudioProblem) -> AudioFormat {
        guard let header = EBML.element(in: head, at: 0), header.id == EBML.ID.header else {
            throw .invalidFormat("EBML header cut short")
        }
        var at = header.dataStart
        let end = header.size.map { min(head.count, header.dataStart + Int(clamping: $0)) } ?? head.count
        while at < end, let child = EBML.element(in: head, at: at), let size = child.size {
            let dataEnd = child.dataStart + Int(clamping: size)
            guard dataEnd <= head.count else { break }
            if child.id == EBML.ID.docType {
                let docType = String(decoding: head[child.dataStart..<dataEnd].prefix { $0 != 0 }, as: UTF8.self)
                if docType == "webm" { return .webm }
                if docType == "matroska" {
                    throw .invalidFormat("Matroska (.mkv/.mka) file; thymia accepts WebM but not other Matroska files")
                }
                throw .invalidFormat("EBML file of type \"\(Text.printableASCII(docType))\", not WebM")
            }
            at = dataEnd
        }
        throw .invalidFormat("EBML header without a DocType")
    }

    /// Brands of the ISO base media family that carry MP4/M4A audio.
    static let mp4Brands: Set<String> = [
        "isom", "iso2", "iso3", "iso4", "iso5", "iso6", "iso8", "mp41", "mp42", "M4A ", "M4B ", "M4V ",
        "dash", "msdh", "msix", "avc1", "cmfc", "cmfa", "MSNV", "f4a ", "F4A ",
    ]

    private static func mp4Brand(_ head: [UInt8]) throws(AudioProblem) -> AudioFormat {
        guard let size = head.be32(0), let major = head.ascii(8, 4) else { throw .invalidFormat("MP4 'ftyp' box cut short") }
        var brands = [major]
        var at = 16
        while at + 4 <= min(Int(size), head.count), let brand = head.ascii(at, 4) {
            brands.append(brand)
            at += 4
        }
        if brands.contains(where: mp4Brands.contains) { return .mp4 }
        if major == "qt  " { throw .invalidFormat("QuickTime movie; thymia accepts MP4/M4A, not MOV") }
        if major.hasPrefix("3g") { throw .invalidFormat("3GPP file; thymia accepts MP4/M4A, not 3GP") }
        throw .invalidFormat("ISO media file of brand \"\(Text.printableASCII(major))\", not MP4/M4A audio")
    }

    private static func describeUnknown(_ head: [UInt8]) -> String {
        let sample = head.prefix(512)
        let textual = sample.allSatisfy { $0 == 9 || $0 == 10 || $0 == 13 || ($0 >= 32 && $0 != 127) }
        // A multi-byte character cut by the 512-byte prefix is still text: drop a partial tail.
        if textual, (0..<4).contains(where: { String(validating: sample.dropLast($0), as: UTF8.self) != nil }) {
            return "file is text, not audio"
        }
        let hex = head.prefix(8).map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }
        return "not a recognised audio format (starts with \(hex.joined(separator: " "))); thymia accepts WAV, FLAC, MP3, Ogg Vorbis/Opus, WebM and MP4/M4A"
    }
}

import FoundationEssentials

/// The parsers of outside bytes, one entry each, as the libFuzzer targets under `Fuzz/` and the
/// regression replay in the tests call them. Each takes arbitrary bytes and must return (or
/// throw) without trapping, whatever they hold; what they return is thrown away.
package enum FuzzEntry {
    /// Every target by the name `make fuzz` and the regression directory use.
    package static let targets: [String: @Sendable ([UInt8]) -> Void] = [
        "sniff": sniff, "mp4": mp4, "webm": webm, "mp3": mp3, "ogg": ogg,
        "manifest-csv": manifestCSV, "manifest-jsonl": manifestJSONLines, "api": apiAnswer,
        "journal": journal,
    ]

    /// The format sniffer, then the timing parser it picks (as `validate`'s header pass does).
    package static func sniff(_ data: [UInt8]) {
        let file = FileBytes(bytes: data)
        guard let sniffed = try? FormatSniffer.sniff(file) else { return }
        switch sniffed.format {
        case .mp4: _ = try? MP4Timing.read(file)
        case .webm: _ = try? WebMTiming.read(file)
        case .mp3: _ = try? MP3Frames.scan(file, from: sniffed.audioStart)
        case .wav, .flac, .ogg, .opus: break  // libsndfile's own, fuzzed on OSS-Fuzz
        }
    }

    /// MP4 timing, the sample tables' walk, and FAAD2 on every sample it yields (the speech pass).
    package static func mp4(_ data: [UInt8]) {
        let file = FileBytes(bytes: data)
        _ = try? MP4Timing.read(file)
        _ = try? AACDecoder.analyse(file)
    }

    /// The Ogg page reader and the Opus speech pass over every packet it yields.
    package static func ogg(_ data: [UInt8]) {
        _ = try? OggOpusDecoder.analyse(FileBytes(bytes: data))
    }

    /// WebM timing, and the demuxer's walk over every block (what Opus decoding reads).
    package static func webm(_ data: [UInt8]) {
        let file = FileBytes(bytes: data)
        _ = try? WebMTiming.read(file)
        guard let demuxer = try? WebMDemuxer(file) else { return }
        var frames = 0
        try? demuxer.walk { element in
            guard case .cluster(let cluster) = element else { return .skip }
            let end = try demuxer.blocks(in: cluster) { block in
                frames += 1
                if frames < 64 { _ = try demuxer.frame(of: block) }
            }
            return .resume(at: end)
        }
    }

    package static func mp3(_ data: [UInt8]) {
        let file = FileBytes(bytes: data)
        _ = MP3Frames.looksLikeMP3(data, at: 0, fileHasMore: false)
        _ = try? MP3Frames.scan(file, from: 0)
    }

    static let defaults: RunOptions = {
        var o = RunOptions()
        o.dateOfBirth = "1990-08"
        o.birthSex = .FEMALE
        return o
    }()

    package static func manifestCSV(_ data: [UInt8]) {
        var text = String(decoding: data, as: UTF8.self)
        if text.first(where: { !$0.isWhitespace }) == "{" { text = "file\n" + text }  // stay on the CSV path
        _ = try? Manifest.parse(text, path: "/fuzz/study.csv", defaults: defaults, today: "2026-12-03")
    }

    package static func manifestJSONLines(_ data: [UInt8]) {
        _ = try? Manifest.parse("{}\n" + String(decoding: data, as: UTF8.self), path: "/fuzz/study.jsonl",
                                defaults: defaults, today: "2026-12-03")
    }

    /// One journal line as `runs` and resumes read it: the fast decoder (`JournalEntry(line:)`,
    /// the run object kept as bytes), checked against the slow path: the scores read from the
    /// bytes must be those of the run object built, an entry comes only from a line that is JSON
    /// and has the key pass 1 groups it by, and its `runs --json` line is JSONEncoder's bytes. A
    /// disagreement traps, so the fuzzer reports it.
    package static func journal(_ data: [UInt8]) {
        data.withUnsafeBytes { raw in
            let key = Journal.key(of: raw)
            guard let entry = JournalEntry(line: raw) else { return }
            precondition(JSONScanner.parse(raw) != nil, "a journal entry from a line that is not JSON")
            precondition(key == entry.key, "pass 1 groups the line under another key than the entry's")
            if let run = entry.run {
                precondition(entry.scores == ModelRun.scores(of: run.value), "scores from the bytes differ from the built run's")
            }
            // `runs --json` writes the line itself: the encoder's bytes, or nil where it refuses.
            let encoded = JSONLine.encode(entry)
            precondition(entry.jsonLine().map { $0 == encoded } ?? encoded.contains("could not encode output"),
                         "runs --json's line differs from JSONEncoder's")
        }
    }

    /// Everything helios reads out of a server's answer: the JSON of a create, a run (with its
    /// scores and transcript), a 422, a storage error body, a Retry-After, and a journal line.
    package static func apiAnswer(_ data: [UInt8]) {
        let body = Data(data)
        if let json = try? JSONDecoder().decode(JSONValue.self, from: body) {
            _ = CreateRunResponse(json: json)
            if let run = try? ModelRun(json: json) {
                _ = run.scores
                _ = run.transcript
                _ = RunID.isValid(run.id)
            }
        }
        _ = ValidationErrorBody(data: body)?.messages
        _ = APIClient.storageCode(body)
        _ = APIClient.saysExpired(body)
        let text = String(decoding: data.prefix(256), as: UTF8.self)
        _ = RetryPolicy.retryAfterSeconds(text, now: Date(timeIntervalSince1970: 1_800_000_000))
        _ = try? JSONDecoder().decode(JournalEntry.self, from: body)
        _ = Text.terminalSafe(text)
    }
}

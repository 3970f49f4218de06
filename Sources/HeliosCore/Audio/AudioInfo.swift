/// What the local check learned about a recording. Field names are the `audio` object of CLI.md's
/// JSON contract; absent values are encoded as explicit `null`s so the shape never changes.
public struct AudioInfo: Codable, Sendable, Equatable {
    public var format: AudioFormat?
    public var durationSeconds: Double?
    public var speechSeconds: Double?
    public var sampleRate: Int?
    public var channels: Int?
    public var bytes: Int64
    public var sha256: String?

    public init(
        format: AudioFormat?, durationSeconds: Double? = nil, speechSeconds: Double? = nil,
        sampleRate: Int? = nil, channels: Int? = nil, bytes: Int64, sha256: String? = nil
    ) {
        self.format = format
        self.durationSeconds = durationSeconds
        self.speechSeconds = speechSeconds
        self.sampleRate = sampleRate
        self.channels = channels
        self.bytes = bytes
        self.sha256 = sha256
    }

    enum CodingKeys: String, CodingKey {
        case format, durationSeconds, speechSeconds, sampleRate, channels, bytes, sha256
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(format, forKey: .format)
        try c.encode(durationSeconds, forKey: .durationSeconds)
        try c.encode(speechSeconds, forKey: .speechSeconds)
        try c.encode(sampleRate, forKey: .sampleRate)
        try c.encode(channels, forKey: .channels)
        try c.encode(bytes, forKey: .bytes)
        try c.encode(sha256, forKey: .sha256)
    }
}

/// A container format thymia accepts, as detected from the file's content (never its name).
public enum AudioFormat: String, Codable, Sendable, CaseIterable {
    case wav, flac, mp3, ogg, opus, webm, mp4

    /// The MIME type sent with the upload when the user does not override it.
    public var mimeType: String {
        switch self {
        case .wav: "audio/wav"
        case .flac: "audio/flac"
        case .mp3: "audio/mpeg"
        case .ogg, .opus: "audio/ogg"
        case .webm: "audio/webm"
        case .mp4: "audio/mp4"
        }
    }
}

/// One finding of the local check: a problem (the file would be rejected) or a warning.
public struct ValidationFinding: Codable, Sendable, Equatable {
    /// `CODE: message; CODE: message`, as messages and reports quote a list of findings.
    public static func summary(_ findings: [ValidationFinding]) -> String {
        findings.map { "\($0.code): \($0.message)" }.joined(separator: "; ")
    }

    public var code: String
    public var message: String
    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }
}

/// The verdict on one file: `validate --json` prints exactly this, one per line.
public struct ValidationReport: Codable, Sendable, Equatable {
    public var schemaVersion: Int = 1
    public var file: String
    public var ok: Bool { problems.isEmpty }
    public var audio: AudioInfo?
    public var problems: [ValidationFinding]
    public var warnings: [ValidationFinding]
    /// `validate --manifest`: the manifest line the recording is on (the key is written only then).
    public var manifestLine: Int?

    public init(file: String, audio: AudioInfo?, problems: [ValidationFinding], warnings: [ValidationFinding], manifestLine: Int? = nil) {
        self.manifestLine = manifestLine
        self.file = file
        self.audio = audio
        self.problems = problems
        self.warnings = warnings
    }

    enum CodingKeys: String, CodingKey { case schemaVersion, file, ok, audio, problems, warnings, manifestLine }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        schemaVersion = try c.decode(Int.self, forKey: .schemaVersion)
        file = try c.decode(String.self, forKey: .file)
        audio = try c.decodeIfPresent(AudioInfo.self, forKey: .audio)
        problems = try c.decode([ValidationFinding].self, forKey: .problems)
        warnings = try c.decode([ValidationFinding].self, forKey: .warnings)
        manifestLine = try c.decodeIfPresent(Int.self, forKey: .manifestLine)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(schemaVersion, forKey: .schemaVersion)
        try c.encode(file, forKey: .file)
        try c.encode(ok, forKey: .ok)
        try c.encode(audio, forKey: .audio)
        try c.encode(problems, forKey: .problems)
        try c.encode(warnings, forKey: .warnings)
        try c.encodeIfPresent(manifestLine, forKey: .manifestLine)
    }
}

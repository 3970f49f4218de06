import FoundationEssentials
import Glibc

/// One run as printed on stdout: CLI.md's versioned result object (`--json`), or a text block.
public struct RunResult: Encodable, Sendable {
    public struct RunError: Encodable, Sendable, Equatable {
        public var code: String
        public var reason: String?

        enum CodingKeys: String, CodingKey { case code, reason }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(code, forKey: .code)
            try c.encode(reason, forKey: .reason)
        }
    }

    public var schemaVersion = 1
    public var file: String?
    public var runId: String?
    public var status: String
    public var userLabel: String?
    public var scores: Scores?
    public var transcript: String?
    public var warnings: [String]
    public var error: RunError?
    public var audio: AudioInfo?
    public var run: JSONValue?
    /// The run's tags by name ({} when none): the row's own, else what the API's run object
    /// carries.
    public var tags: [String: String]
    /// The manifest's physical line the run came from; nil for files named on the command line.
    public var manifestLine: Int?

    init(file: String?, runId: String?, status: String, userLabel: String?, audio: AudioInfo?,
         localWarnings: [ValidationFinding] = [], run: ModelRun? = nil, tags: [ValueRules.Tag]? = nil, manifestLine: Int? = nil) {
        self.file = file
        self.manifestLine = manifestLine
        var named: [String: String] = [:]
        if let tags {
            for tag in tags { named[tag.name] = tag.value }
        } else if let listed = run?.raw["tags"]?.arrayValue {
            for tag in listed {
                if let name = tag["name"]?.stringValue, let value = tag["value"]?.stringValue { named[name] = value }
            }
        }
        self.tags = named
        self.runId = runId
        self.status = status
        self.userLabel = userLabel ?? run?.userLabel
        self.audio = audio
        scores = run?.scores
        transcript = run?.transcript
        warnings = (run?.warnings ?? []) + localWarnings.map { "local check \($0.code): \($0.message)" }
        if let run, run.status == "COMPLETE_ERROR" {
            error = RunError(code: run.errorCode ?? "ERR_UNKNOWN", reason: run.errorReason)
        }
        self.run = run?.raw
    }

    enum CodingKeys: String, CodingKey {
        case schemaVersion, file, runId, status, userLabel, scores, transcript, warnings, error, audio, run, tags, manifestLine
    }

    /// Every key is always present (null when empty), so consumers never guess.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(schemaVersion, forKey: .schemaVersion)
        try c.encode(file, forKey: .file)
        try c.encode(runId, forKey: .runId)
        try c.encode(status, forKey: .status)
        try c.encode(userLabel, forKey: .userLabel)
        try c.encode(scores, forKey: .scores)
        try c.encode(transcript, forKey: .transcript)
        try c.encode(warnings, forKey: .warnings)
        try c.encode(error, forKey: .error)
        try c.encode(audio, forKey: .audio)
        try c.encode(run, forKey: .run)
        try c.encode(tags, forKey: .tags)
        try c.encode(manifestLine, forKey: .manifestLine)
    }

    /// thymia's recommended action for each error code (Error Reference).
    static let actions: [String: String] = [
        "ERR_RECORDING_INVALID_FORMAT": "convert the file to FLAC, MP3, MP4, Ogg, WebM or WAV and submit a new run",
        "ERR_RECORDING_TOO_SHORT": "ask the person to speak for at least 10 seconds and submit a new run",
        "ERR_RECORDING_TOO_LONG": "trim the recording to under 3 minutes and submit a new run",
        "ERR_TRANSCRIPTION_FAILED": "check the audio quality and the microphone, then submit a new run",
        "ERR_INTERNAL": "submit a new run; if it persists, contact support@thymia.ai quoting the run id",
    ]

    /// The text form; `bands`: each score with helios' rough guide word (`Scores.band`), marked
    /// as helios' own.
    func text(palette: Palette, bands: Bool = true) -> String {
        var lines: [String] = []
        // Everything but the labels comes from outside (the file name, the server's answer).
        let safe: (String) -> String = { Text.terminalSafe($0) }
        lines.append(palette.bold(safe(file ?? runId ?? "run")))
        func row(_ label: String, _ value: String) { lines.append("  " + Text.padded(label, to: 11) + value) }
        if let runId { row("run", safe(runId)) }
        if let userLabel { row("user label", safe(userLabel)) }
        let statusText: String
        switch status {
        case "COMPLETE_OK": statusText = palette.green(status)
        case "COMPLETE_ERROR": statusText = palette.red(status)
        default: statusText = safe(status)
        }
        row("status", statusText)
        if let scores {
            var first = true
            for key in Scores.order {
                guard let value = scores[key] else { continue }
                var entry = Text.padded(key, to: 23) + Formatting.fixed(value, 2)
                if bands { entry += "  " + Scores.band(value) }
                row(first ? "scores" : "", entry)
                first = false
            }
            if bands, !first { row("", "(bands: helios' rough guide, not thymia's; see 'helios help output')") }
        }
        if let transcript, !transcript.isEmpty { row("transcript", safe(transcript)) }
        for warning in warnings { row("warning", safe(warning)) }
        if let error {
            row("error", safe(error.code + (error.reason.map { ": \($0)" } ?? "")))
            if let action = Self.actions[error.code] { row("action", action) }
        }
        return lines.joined(separator: "\n") + "\n\n"
    }
}

import Foundation

/// The local check of one recording (CLI.md, "Local checks").
public enum RecordingValidator {
    /// thymia's limits: recordings of 10 seconds to 3 minutes; 16 kHz or more is recommended.
    public static let minimumSeconds: Double = 10
    public static let maximumSeconds: Double = 180
    public static let recommendedSampleRate = 16_000

    /// Problem codes: EMPTY, NOT_FOUND, NOT_A_FILE, NOT_READABLE, INVALID_FORMAT, TOO_LONG,
    /// TOO_SHORT, NO_SPEECH. Warning codes: EXTENSION_MISMATCH, LOW_SAMPLE_RATE, CLIPPING, LOW_LEVEL, …
    public static func validate(path: String, displayName: String? = nil) -> ValidationReport {
        let name = displayName ?? path
        var partial: AudioInfo?
        let info: AudioInfo
        do {
            info = try AudioProbe.probe(path: path, partial: &partial)
        } catch {
            return ValidationReport(file: name, audio: partial, problems: [error.finding], warnings: partial.map { extensionWarnings(path, $0) } ?? [])
        }
        return ValidationReport(file: name, audio: info, problems: problems(info), warnings: extensionWarnings(path, info) + warnings(info))
    }

    static func problems(_ info: AudioInfo) -> [ValidationFinding] {
        guard let duration = info.durationSeconds else { return [] }
        if duration > maximumSeconds {
            return [ValidationFinding(code: "TOO_LONG", message: "recording is \(formatDuration(duration)) long; thymia accepts at most 3 minutes")]
        }
        if duration < minimumSeconds {
            return [ValidationFinding(code: "TOO_SHORT", message: "recording is \(formatDuration(duration)) long; thymia needs at least 10 seconds")]
        }
        return []
    }

    static func warnings(_ info: AudioInfo) -> [ValidationFinding] {
        guard let rate = info.sampleRate, rate < recommendedSampleRate else { return [] }
        return [ValidationFinding(code: "LOW_SAMPLE_RATE", message: "sample rate is \(rate) Hz; 16000 Hz or more is recommended")]
    }

    /// Extensions each detected format may carry without a warning.
    static let extensions: [AudioFormat: Set<String>] = [
        .wav: ["wav", "wave"], .flac: ["flac"], .mp3: ["mp3"],
        .ogg: ["ogg", "oga", "opus"], .opus: ["ogg", "oga", "opus"],
        .webm: ["webm", "weba"], .mp4: ["m4a", "mp4", "m4b"],
    ]

    static func extensionWarnings(_ path: String, _ info: AudioInfo) -> [ValidationFinding] {
        let ext = Text.pathExtension(path)
        guard !ext.isEmpty, let format = info.format, let allowed = extensions[format], !allowed.contains(ext) else { return [] }
        return [ValidationFinding(code: "EXTENSION_MISMATCH", message: "file is named .\(ext) but holds \(format.displayName) audio")]
    }

    /// `3m12.4s` from 192.4, `4.0s` from 4: the figure a user compares with the limits.
    public static func formatDuration(_ seconds: Double) -> String {
        let tenths = Int((seconds * 10).rounded())
        let minutes = tenths / 600
        let rest = String(format: "%.1f", Double(tenths % 600) / 10)
        return minutes > 0 ? "\(minutes)m\(rest)s" : "\(rest)s"
    }
}

extension AudioFormat {
    /// The name used in messages.
    public var displayName: String {
        switch self {
        case .wav: "WAV"
        case .flac: "FLAC"
        case .mp3: "MP3"
        case .ogg: "Ogg Vorbis"
        case .opus: "Ogg Opus"
        case .webm: "WebM"
        case .mp4: "MP4/M4A"
        }
    }
}

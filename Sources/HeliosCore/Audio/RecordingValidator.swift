import FoundationEssentials
import Glibc

/// The local check of one recording (CLI.md, "Local checks").
public enum RecordingValidator {
    /// thymia's limits: recordings of 10 seconds to 3 minutes; 16 kHz or more is recommended.
    public static let minimumSeconds: Double = 10
    public static let maximumSeconds: Double = 180
    public static let recommendedSampleRate = 16_000

    /// Speech verdicts, from the error of the estimate on real speech (bench/speech-real.sh):
    /// under `speechRejectBelow` seconds is TOO_SHORT, `speechRejectBelow`…`minimumSeconds` only
    /// warns (SPEECH_NEAR_MINIMUM: a false rejection costs the user more than a wasted run), and
    /// under `noSpeechBelow` seconds is NO_SPEECH. The estimate's worst undercount there was 48%
    /// (pink noise at 10 dB SNR, 12.4 s read as 6.5 s; clean speech reads a little over, not
    /// under), so 10 s of real speech read at least 5.2 s; the threshold sits 0.7 s lower still,
    /// for material noisier than the bench's (it was 5.5 s when the worst undercount was 37%).
    /// Of its 125 recordings with at least 10 s of speech, 2 read under 10 s and are warned.
    public static let speechRejectBelow: Double = 4.5
    public static let noSpeechBelow: Double = 1
    /// Quality warnings: share of clipped samples, speech level, silence at either end, and
    /// what makes a channel silent beside a live one.
    static let clippingShare = 0.001
    static let lowSpeechLevel = -42.0
    static let longSilence = 5.0
    static let silentChannelPeak: Float = 0.000_3   // about -70 dBFS: 10 LSB of 16-bit
    static let liveChannelRMS = -50.0

    /// Problem codes: EMPTY, NOT_FOUND, NOT_A_FILE, NOT_READABLE, INVALID_FORMAT, TOO_LONG,
    /// TOO_SHORT, NO_SPEECH. Warning codes: EXTENSION_MISMATCH, LOW_SAMPLE_RATE,
    /// SPEECH_NEAR_MINIMUM, SPEECH_UNKNOWN, CLIPPING, LOW_LEVEL, LEADING_SILENCE,
    /// TRAILING_SILENCE, SILENT_CHANNEL.
    public static func validate(path: String, displayName: String? = nil) -> ValidationReport {
        stage(path: path, displayName: displayName).finish()
    }

    /// The check in two passes: `header` holds what the quick header pass found (the length
    /// limits, the format, the sample rate), `finish()` adds the speech pass, which decodes every
    /// sample. `upload --url` starts sending once the header passes and runs `finish()` meanwhile.
    public struct Staged: Sendable {
        /// The report as far as the header pass goes: final when it has problems.
        public let header: ValidationReport
        let probe: AudioProbe.Staged?

        /// The whole report: the header's findings, the speech verdict and the quality warnings.
        /// A recording the header already rejects is not decoded (one reason is enough, and an
        /// hour-long file would take seconds): its report is the header's, without a speech figure.
        public func finish() -> ValidationReport {
            guard let probe, header.problems.isEmpty else { return header }
            let speech = probe.speech()
            var problems = header.problems
            var warnings = header.warnings
            switch speech {
            case .measured(let analysis):
                let verdict = speechVerdict(analysis)
                problems += verdict.problems
                warnings += verdict.warnings + qualityWarnings(analysis)
            case .unknown(let note):
                warnings.append(ValidationFinding(code: "SPEECH_UNKNOWN", message: note))
            }
            return ValidationReport(file: header.file, audio: probe.info(with: speech), problems: problems, warnings: warnings)
        }
    }

    public static func stage(path: String, displayName: String? = nil) -> Staged {
        let name = displayName ?? path
        var partial: AudioInfo?
        let probe: AudioProbe.Staged
        do {
            probe = try AudioProbe.stage(path: path, partial: &partial)
        } catch {
            let header = ValidationReport(file: name, audio: partial, problems: [error.finding], warnings: partial.map { extensionWarnings(path, $0) } ?? [])
            return Staged(header: header, probe: nil)
        }
        let info = probe.info
        let header = ValidationReport(file: name, audio: info, problems: problems(info), warnings: extensionWarnings(path, info) + warnings(info))
        return Staged(header: header, probe: probe)
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

    /// The speech verdict of a recording whose length passed.
    static func speechVerdict(_ analysis: SpeechAnalysis) -> (problems: [ValidationFinding], warnings: [ValidationFinding]) {
        let speech = analysis.speechSeconds
        let figure = formatDuration(speech)
        if speech < noSpeechBelow {
            return ([ValidationFinding(code: "NO_SPEECH", message: "no speech detected (estimated \(figure) of speech); thymia needs at least 10 seconds of speech")], [])
        }
        if speech < speechRejectBelow {
            return ([ValidationFinding(code: "TOO_SHORT", message: "recording holds about \(figure) of speech; thymia needs at least 10 seconds of speech")], [])
        }
        if speech < minimumSeconds {
            return ([], [ValidationFinding(code: "SPEECH_NEAR_MINIMUM", message: "recording holds about \(figure) of speech, near thymia's minimum of 10 seconds; it may be rejected")])
        }
        return ([], [])
    }

    static func warnings(_ info: AudioInfo) -> [ValidationFinding] {
        guard let rate = info.sampleRate, rate < recommendedSampleRate else { return [] }
        return [ValidationFinding(code: "LOW_SAMPLE_RATE", message: "sample rate is \(rate) Hz; 16000 Hz or more is recommended")]
    }

    /// Never fatal: each says what was measured, so the user can judge.
    static func qualityWarnings(_ a: SpeechAnalysis) -> [ValidationFinding] {
        var out: [ValidationFinding] = []
        if a.clippedShare >= clippingShare {
            out.append(ValidationFinding(code: "CLIPPING", message: Formatting.printf("%.2f%% of samples are at full scale; the recording is clipped", a.clippedShare * 100)))
        }
        if let level = a.speechLevel, level < lowSpeechLevel {
            out.append(ValidationFinding(code: "LOW_LEVEL", message: Formatting.printf("speech level is %.0f dBFS; the speaker is very quiet or far from the microphone", level)))
        }
        if a.speechSeconds >= noSpeechBelow {
            if a.leadingSilence >= longSilence {
                out.append(ValidationFinding(code: "LEADING_SILENCE", message: "speech starts after \(formatDuration(a.leadingSilence))"))
            }
            if a.trailingSilence >= longSilence {
                out.append(ValidationFinding(code: "TRAILING_SILENCE", message: "speech ends \(formatDuration(a.trailingSilence)) before the end of the recording"))
            }
        }
        if a.channelPeaks.count > 1, let loudest = a.channelRMS.max(), loudest >= liveChannelRMS {
            let silent = a.channelPeaks.indices.filter { a.channelPeaks[$0] < silentChannelPeak }
            if !silent.isEmpty {
                let names = silent.map { "\($0 + 1)" }.joined(separator: ", ")
                out.append(ValidationFinding(code: "SILENT_CHANNEL", message: "channel \(names) of \(a.channelPeaks.count) is silent; the recording may be mono in one channel of a stereo file"))
            }
        }
        return out
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
        let rest = Formatting.printf("%.1f", Double(tenths % 600) / 10)
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

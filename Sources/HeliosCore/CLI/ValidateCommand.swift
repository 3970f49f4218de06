import FoundationEssentials
import Glibc

/// `helios validate FILE...`: the local check of each recording, one verdict per file on stdout.
struct ValidateCommand {
    let files: [String]
    let global: GlobalOptions
    let context: CLIContext
    let console: Console

    func run() -> ExitCode {
        var allOK = true
        console.emitHeader(.validation)
        for file in files {
            // Ctrl-C between files: a list of 2,000 stops within one file's check.
            if context.cancellation.isRequested {
                console.fail(CLIFailure(.interrupted, "interrupted during the local check"))
                return .interrupted
            }
            let report = RecordingValidator.validate(path: file)
            allOK = allOK && report.ok
            console.emit(report)
        }
        return allOK ? .success : .recordingRejected
    }
}

/// The text form of a verdict: `FILE: ok (wav, 25.1s, 22050 Hz, mono)` or
/// `FILE: rejected, TOO_SHORT: …`, warnings after.
enum ValidationText {
    static func line(_ report: ValidationReport, palette: Palette) -> String {
        // The file name, and messages quoting a file's own header bytes, come from outside.
        let safe: (String) -> String = { Text.terminalSafe($0) }
        var text = "\(safe(report.file)): "
        if report.ok {
            text += palette.green("ok")
        } else {
            text += palette.red("rejected") + ", " + report.problems.map { "\($0.code): \(safe($0.message))" }.joined(separator: "; ")
        }
        if let audio = report.audio, let summary = summary(audio) { text += " (\(summary))" }
        for warning in report.warnings { text += "; " + palette.yellow("warning") + " \(warning.code): \(safe(warning.message))" }
        return text + "\n"
    }

    static func summary(_ audio: AudioInfo) -> String? {
        guard let format = audio.format else { return nil }
        var parts = [format.rawValue]
        if let d = audio.durationSeconds { parts.append(Self.seconds(d)) }
        if let s = audio.speechSeconds { parts.append("speech \(Self.seconds(s))") }
        if let r = audio.sampleRate { parts.append("\(r) Hz") }
        if let c = audio.channels { parts.append(c == 1 ? "mono" : c == 2 ? "stereo" : "\(c) channels") }
        return parts.joined(separator: ", ")
    }

    static func seconds(_ s: Double) -> String {
        guard s >= 60 else { return Formatting.fixed(s, 1) + "s" }
        let rest = Formatting.fixed(s.truncatingRemainder(dividingBy: 60), 1)
        return "\(Int(s) / 60)m" + (rest.count < 4 ? "0" + rest : rest) + "s"
    }
}

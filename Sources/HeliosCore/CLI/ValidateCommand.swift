import FoundationEssentials
import Glibc

/// `helios validate FILE...` or `helios validate --manifest FILE`: the local check of each
/// recording, one verdict per file on stdout; no key, no network. With a manifest, every row is
/// checked as `submit --manifest` would check it, and a bad row is a verdict too
/// (`INVALID_ROW`), so one pass lists everything to fix. Exit 0 when everything passes, 2 when a
/// row is invalid, else 3 when a recording is rejected.
struct ValidateCommand {
    let options: ValidateOptions
    let global: GlobalOptions
    let context: CLIContext
    let console: Console

    func run() -> ExitCode {
        console.emitHeader(.validation)
        // Each verdict in the manifest's order (bad rows included), or the files' order.
        var items: [(file: String, line: Int?, invalid: ManifestError?)] = options.files.map { ($0, nil, nil) }
        if let manifest = options.manifest {
            let loaded: (rows: [ManifestRow], invalid: [ManifestError])
            do {
                loaded = try Manifest.loadAll(path: manifest, defaults: options.rowDefaults, today: context.today)
            } catch {
                console.fail(CLIFailure(.usage, error.description))
                return .usage
            }
            items = loaded.rows.map { ($0.file, $0.line, nil) } + loaded.invalid.map { ($0.file ?? manifest, $0.line, $0) }
            items.sort { ($0.line ?? 0) < ($1.line ?? 0) }
        }
        var allOK = true, invalidRows = 0
        for item in items {
            if let error = item.invalid {
                invalidRows += 1
                console.emit(error.report)
                continue
            }
            // Ctrl-C between files: a list of 2,000 stops within one file's check.
            if context.cancellation.isRequested {
                console.fail(CLIFailure(.interrupted, "interrupted during the local check"))
                return .interrupted
            }
            var report = RecordingValidator.validate(path: item.file)
            report.manifestLine = item.line
            allOK = allOK && report.ok
            console.emit(report)
        }
        if invalidRows > 0 { return .usage }
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

import Foundation
import HeliosCore

/// How a processed run ends, judged from the stored upload by the CLI's own local check.
enum RunOutcome: Sendable {
    case ok(results: JSON, warnings: [String]?)
    case error(code: String, reason: String)

    /// A test hook: uploads carrying this marker early on end in ERR_INTERNAL.
    static let internalErrorMarker = Array("HELIOS_EMULATOR_ERR_INTERNAL".utf8)

    static let transcript = "This transcript was produced by helios-emulator; no speech recognition took place."

    static func judge(path: String, sha256: String) -> RunOutcome {
        if fileStartContainsMarker(path: path) {
            return .error(code: "ERR_INTERNAL", reason: "An internal error occurred while processing the recording. Please create a new model run; if this persists, contact support@thymia.ai quoting the model run id.")
        }
        let report = RecordingValidator.validate(path: path)
        let codes = Set(report.problems.map(\.code))
        // Ordered like the service's pipeline: decode, length limits, then speech recognition.
        if codes.contains("EMPTY") || codes.contains("INVALID_FORMAT") {
            return .error(code: "ERR_RECORDING_INVALID_FORMAT", reason: "Recording supplied is not in a supported format. Please supply a FLAC, MP3, MP4, Ogg, WebM or WAV recording.")
        }
        if codes.contains("TOO_LONG") {
            return .error(code: "ERR_RECORDING_TOO_LONG", reason: "Recording supplied is too long. Please supply a recording containing at least 10 seconds of speech and that is under 3 minutes in length.")
        }
        if codes.contains("TOO_SHORT") {
            return .error(code: "ERR_RECORDING_TOO_SHORT", reason: "Recording supplied is too short. Please supply a recording containing at least 10 seconds of speech and that is under 3 minutes in length.")
        }
        if codes.contains("NO_SPEECH") {
            return .error(code: "ERR_TRANSCRIPTION_FAILED", reason: "Transcription failed: no speech could be detected in the recording. Please check the audio quality and the user's microphone.")
        }
        if !codes.isEmpty {
            // NOT_FOUND / NOT_READABLE on our own temp file is the emulator's fault, not the caller's.
            return .error(code: "ERR_INTERNAL", reason: "An internal error occurred while reading the uploaded recording. Please create a new model run.")
        }
        // The stored upload's file name is the emulator's own, so an extension warning says
        // nothing; and a speech estimate the check could not make is no quality problem.
        let quality = report.warnings.filter { !["EXTENSION_MISMATCH", "SPEECH_UNKNOWN"].contains($0.code) }
        let warnings = quality.isEmpty ? nil : ["Audio quality may affect result accuracy."]
        return .ok(results: results(sha256: sha256, duration: report.audio?.durationSeconds), warnings: warnings)
    }

    /// Scores are a pure function of the uploaded bytes' SHA-256, so identical uploads score identically.
    static func results(sha256: String, duration: Double?) -> JSON {
        let digest = hexBytes(sha256)
        let buckets: [Double] = [0, 0.33, 0.66, 1.0]
        func bucket(_ i: Int) -> JSON { .object([("value", .number(buckets[Int(digest[i] % 4)]))]) }
        func continuous(_ i: Int) -> JSON {
            let raw = Double(UInt16(digest[10 + 2 * i]) << 8 | UInt16(digest[11 + 2 * i])) / 65535
            return .object([("value", .number((raw * 100).rounded() / 100))])
        }
        let finish = ((duration ?? 0) * 100).rounded() / 100
        let section: JSON = .object([
            ("startSecs", .number(0)),
            ("finishSecs", .number(finish)),
            ("transcript", .string(transcript)),
            ("mentalStrain", continuous(0)),
            ("distress", bucket(0)),
            ("stress", bucket(1)),
            ("exhaustion", bucket(2)),
            ("sleepPropensity", bucket(3)),
            ("lowSelfEsteem", bucket(4)),
            ("uniformDistress", continuous(1)),
            ("uniformStress", continuous(2)),
            ("uniformExhaustion", continuous(3)),
            ("uniformSleepPropensity", continuous(4)),
            ("uniformLowSelfEsteem", continuous(5)),
        ])
        return .object([("sections", .array([section]))])
    }

    private static func hexBytes(_ hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var chars = Array(hex.utf8)[...]
        while chars.count >= 2, let b = UInt8(String(decoding: chars.prefix(2), as: UTF8.self), radix: 16) {
            out.append(b)
            chars = chars.dropFirst(2)
        }
        return out + [UInt8](repeating: 0, count: max(0, 32 - out.count))
    }

    private static func fileStartContainsMarker(path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        guard let head = try? handle.read(upToCount: 64 * 1024) else { return false }
        let bytes = [UInt8](head)
        let marker = internalErrorMarker
        guard bytes.count >= marker.count else { return false }
        for start in 0...(bytes.count - marker.count) where bytes[start] == marker[0] {
            if bytes[start..<(start + marker.count)].elementsEqual(marker) { return true }
        }
        return false
    }
}

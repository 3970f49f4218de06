import Foundation

/// The local check of one recording (CLI.md, "Local checks"). PLACEHOLDER in the skeleton commit:
/// the audio work replaces the body; the signature is the contract other code builds on.
public enum RecordingValidator {
    /// Problem codes: EMPTY, NOT_FOUND, NOT_A_FILE, NOT_READABLE, INVALID_FORMAT, TOO_LONG,
    /// TOO_SHORT, NO_SPEECH. Warning codes: EXTENSION_MISMATCH, LOW_SAMPLE_RATE, CLIPPING, LOW_LEVEL, …
    public static func validate(path: String, displayName: String? = nil) -> ValidationReport {
        ValidationReport(
            file: displayName ?? path, audio: nil,
            problems: [ValidationFinding(code: "INVALID_FORMAT", message: "not implemented yet")], warnings: [])
    }
}

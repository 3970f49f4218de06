import Foundation

/// Upload progress on stderr: a live bar redrawn in place on a terminal; elsewhere a plain line at
/// most every 5 seconds; nothing under --quiet.
final class UploadProgressView: @unchecked Sendable {
    private let output: Output
    private let isTerminal: Bool
    private let quiet: Bool
    private let label: String
    private let lock = NSLock()
    private var lastDraw = Date.distantPast
    private var lastPercent = -1
    private let started = Date()

    init(output: Output, isTerminal: Bool, quiet: Bool, label: String) {
        self.output = output
        self.isTerminal = isTerminal
        self.quiet = quiet
        self.label = label
    }

    func update(_ p: UploadProgress) {
        guard !quiet, p.total > 0 else { return }
        lock.withLock {
            let percent = Int(Double(p.sent) * 100 / Double(p.total))
            let now = Date()
            if isTerminal {
                guard percent != lastPercent, now.timeIntervalSince(lastDraw) > 0.1 || p.sent == p.total else { return }
                let width = 30
                let filled = width * percent / 100
                let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
                output.err("\r\u{1B}[2Kuploading \(label) [\(bar)] \(percent)% \(Self.size(p.sent))/\(Self.size(p.total))")
                if p.sent == p.total { output.err("\n") }
            } else {
                guard now.timeIntervalSince(lastDraw) >= 5 || (p.sent == p.total && lastPercent != 100) else { return }
                output.err("uploading \(label): \(percent)% of \(Self.size(p.total))\n")
            }
            lastDraw = now
            lastPercent = percent
        }
    }

    static func size(_ bytes: Int64) -> String {
        let b = Double(bytes)
        if b >= 1_048_576 { return String(format: "%.1f MB", b / 1_048_576) }
        if b >= 1024 { return String(format: "%.0f KB", b / 1024) }
        return "\(bytes) B"
    }
}

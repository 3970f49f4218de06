import FoundationEssentials
import Glibc
import Synchronization

/// Progress of a command's runs on stderr, through the command's `Console`. On a terminal one
/// live line is redrawn in place (an upload bar, or how many runs are waiting); elsewhere a plain
/// line at most every 5 seconds; nothing under --quiet. The console clears the live line before
/// any other write, so it never mixes with results or events.
final class BatchProgress: Sendable {
    private struct Upload { var name: String; var sent: Int64; var total: Int64 }
    private struct State {
        var uploads: [Int: Upload] = [:]
        var waiting: [Int: String] = [:]
        var finished = 0
        var lastPlain = Date.distantPast
        var lastPlainText = ""
        var ticker: Worker?
        var stopped = false
    }

    private let console: Console
    private let live: Bool
    private let quiet: Bool
    private let total: Int
    private let started = Date()
    private let state = Mutex(State())

    init(console: Console, isTerminal: Bool, total: Int) {
        self.console = console
        live = isTerminal && !console.quiet && !console.json
        quiet = console.quiet
        self.total = total
    }

    func start() {
        guard !quiet else { return }
        let thread = Worker { [weak self] in
            while let self, !self.isStopped {
                self.tick()
                Worker.sleep(self.live ? 0.2 : 1)
            }
        }
        thread.detach()
        state.withLock { $0.ticker = thread }
    }

    func stop() {
        state.withLock { $0.stopped = true }
        console.clearLive()
    }

    private var isStopped: Bool { state.withLock { $0.stopped } }

    func uploadStarted(_ job: Int, name: String, bytes: Int64) { state.withLock { $0.uploads[job] = Upload(name: Text.terminalSafe(name), sent: 0, total: bytes) } }
    func uploadProgress(_ job: Int, _ p: UploadProgress) { state.withLock { $0.uploads[job]?.sent = p.sent } }
    func uploadEnded(_ job: Int) { state.withLock { _ = $0.uploads.removeValue(forKey: job) } }
    func waiting(_ job: Int, status: String) { state.withLock { $0.waiting[job] = status } }
    func ended(_ job: Int) {
        state.withLock {
            $0.waiting.removeValue(forKey: job)
            $0.uploads.removeValue(forKey: job)
            $0.finished += 1
        }
    }

    private func tick() {
        state.withLock { s in
            guard !s.stopped else { return }
            let text = describe(s)
            if live {
                console.drawLive(text)
            } else if !text.isEmpty, Date().timeIntervalSince(s.lastPlain) >= 5 || s.lastPlainText.isEmpty {
                let comparable = Self.withoutSeconds(text)
                guard comparable != s.lastPlainText || Date().timeIntervalSince(s.lastPlain) >= 30 else { return }
                console.progress(text)
                s.lastPlain = Date()
                s.lastPlainText = comparable
            }
        }
    }

    private func describe(_ s: State) -> String {
        let uploads = s.uploads, waiting = s.waiting
        var parts: [String] = []
        if !uploads.isEmpty {
            let sent = uploads.values.reduce(Int64(0)) { $0 + $1.sent }
            let all = uploads.values.reduce(Int64(0)) { $0 + $1.total }
            let percent = all > 0 ? Int(Double(sent) * 100 / Double(all)) : 0
            let what = uploads.count == 1 ? uploads.values.first!.name : "\(uploads.count) files"
            if live {
                let width = 24, filled = width * percent / 100
                parts.append("uploading \(what) [\(String(repeating: "#", count: filled))\(String(repeating: "-", count: width - filled))] \(percent)% \(Self.size(sent))/\(Self.size(all))")
            } else {
                parts.append("uploading \(what): \(percent)% of \(Self.size(all))")
            }
        }
        if !waiting.isEmpty {
            let states = Set(waiting.values).sorted().joined(separator: ", ")
            parts.append("waiting for \(waiting.count) run\(waiting.count == 1 ? "" : "s") (\(states)) \(Int(Date().timeIntervalSince(started)))s")
        }
        if total > 1, !parts.isEmpty { parts.append("\(s.finished)/\(total) done") }
        return parts.joined(separator: "; ")
    }

    /// `text` without its second counts (`12s`), so a line that differs only in the time is not
    /// printed again. What `text.replacing(/\d+s\b/, with: "")` did, without compiling a regex
    /// (the regex parser's code alone costs a waiting command a few hundred KB of memory).
    static func withoutSeconds(_ text: String) -> String {
        let isDigit: (Character) -> Bool = { c in
            c.unicodeScalars.count == 1 && c.unicodeScalars.first!.properties.numericType == .decimal
        }
        let isWord: (Character) -> Bool = { $0.isLetter || $0.isNumber || $0 == "_" }
        // Unicode word boundaries (UAX #29, the regex's `\b`) do not split `s.w` or `s:w`.
        let joinsLetters: Set<Character> = [".", ":", "'", "\u{B7}", "\u{387}", "\u{55F}", "\u{5F4}", "\u{2018}", "\u{2019}",
                                            "\u{2024}", "\u{2027}", "\u{FE13}", "\u{FE52}", "\u{FE55}", "\u{FF07}", "\u{FF0E}", "\u{FF1A}"]
        let chars = Array(text)
        let boundaryAfter: (Int) -> Bool = { i in
            guard i + 1 < chars.count else { return true }
            if isWord(chars[i + 1]) { return false }
            return !(joinsLetters.contains(chars[i + 1]) && i + 2 < chars.count && chars[i + 2].isLetter)
        }
        var out = ""
        var i = 0
        while i < chars.count {
            guard isDigit(chars[i]) else { out.append(chars[i]); i += 1; continue }
            var end = i
            while end < chars.count, isDigit(chars[end]) { end += 1 }
            if end < chars.count, chars[end] == "s", boundaryAfter(end) {
                i = end + 1  // a second count: dropped
            } else {
                out.append(contentsOf: chars[i..<end])
                i = end
            }
        }
        return out
    }

    static func size(_ bytes: Int64) -> String {
        let b = Double(bytes)
        if b >= 1_048_576 { return Formatting.fixed(b / 1_048_576, 1) + " MB" }
        if b >= 1024 { return Formatting.fixed(b / 1024, 0) + " KB" }
        return "\(bytes) B"
    }
}

import FoundationEssentials
import Glibc
import Synchronization

/// Progress of a command's runs on stderr, through the command's `Console`.
/// - On a terminal, one live line stays pinned under the scrolling events, redrawn every 0.2 s
///   and cut to the terminal's width (read at each redraw, so a resize is followed): for one
///   recording its upload bar or wait; for a batch the counts (done, running, queued, failed),
///   the elapsed time and an ETA.
/// - Elsewhere, a counts line every `plainInterval` (10 s) whatever else is printed; one
///   recording's upload or wait at most every 5 s when it changes.
/// - Nothing under --quiet; under --json the counts are `progress` events.
/// The console clears the live line before any other write, so it never mixes with results.
final class BatchProgress: Sendable {
    private struct Upload { var name: String; var sent: Int64; var total: Int64 }
    private struct State {
        var uploads: [Int: Upload] = [:]
        var waiting: [Int: String] = [:]
        var started: Set<Int> = []
        var finished = 0
        var failed = 0
        /// Finished before this command (a resumed batch): counted as done from the start.
        var alreadyDone: Set<Int> = []
        var lastPlain: Date?
        var lastPlainText = ""
        var ticker: Worker?
        var stopped = false
    }

    private let console: Console
    private let live: Bool
    private var quiet: Bool { console.quiet }
    private let total: Int
    private let plainInterval: TimeInterval
    /// The command's clock (injectable), and the terminal's width when it can be read.
    private let now: @Sendable () -> Date
    private let width: @Sendable () -> Int
    private let started: Date
    private let state = Mutex(State())

    init(console: Console, isTerminal: Bool, total: Int, alreadyDone: Set<Int> = [], plainInterval: TimeInterval = 10,
         now: @escaping @Sendable () -> Date = { Date() }, width: @escaping @Sendable () -> Int = { BatchProgress.terminalWidth() }) {
        self.console = console
        live = isTerminal && !console.quiet && !console.json
        self.total = total
        self.plainInterval = plainInterval
        self.now = now
        self.width = width
        started = now()
        state.withLock { $0.alreadyDone = alreadyDone }
    }

    /// The columns of the terminal on stderr (`TIOCGWINSZ`), else `$COLUMNS`, else 80.
    static func terminalWidth(environment: [String: String] = Text.environment()) -> Int {
        var size = winsize()
        if ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        if let columns = environment["COLUMNS"].flatMap(Int.init), columns > 0 { return columns }
        return 80
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

    func jobStarted(_ job: Int) { state.withLock { _ = $0.started.insert(job) } }
    func uploadStarted(_ job: Int, name: String, bytes: Int64) { state.withLock { $0.uploads[job] = Upload(name: Text.terminalSafe(name), sent: 0, total: bytes) } }
    func uploadProgress(_ job: Int, _ p: UploadProgress) { state.withLock { $0.uploads[job]?.sent = p.sent } }
    func uploadEnded(_ job: Int) { state.withLock { _ = $0.uploads.removeValue(forKey: job) } }
    func waiting(_ job: Int, status: String) { state.withLock { $0.waiting[job] = status } }
    func ended(_ job: Int, failed: Bool = false) {
        state.withLock {
            $0.waiting.removeValue(forKey: job)
            $0.uploads.removeValue(forKey: job)
            $0.started.remove(job)
            guard !$0.alreadyDone.contains(job) else { return }
            if failed { $0.failed += 1 } else { $0.finished += 1 }
        }
    }

    /// The counts now: done includes what finished before this command.
    var counts: ProgressCounts { state.withLock { counts($0) } }

    private func counts(_ s: State) -> ProgressCounts {
        let done = s.finished + s.alreadyDone.count
        let running = s.started.subtracting(s.alreadyDone).count
        return ProgressCounts(total: total, done: done, failed: s.failed, running: running,
                              queued: max(0, total - done - s.failed - running))
    }

    /// One redraw (the ticker calls it every 0.2 s on a terminal, every second elsewhere).
    func tick() {
        state.withLock { s in
            guard !s.stopped else { return }
            if live {
                console.drawLive(Self.fit(describe(s, live: true), width: width()))
                return
            }
            let at = now()
            if total > 1 {
                guard s.lastPlain.map({ at.timeIntervalSince($0) >= plainInterval }) ?? (at.timeIntervalSince(started) >= plainInterval) else { return }
                s.lastPlain = at
                console.progress("progress: " + describe(s, live: false), counts: counts(s))
                return
            }
            let text = describe(s, live: false)
            guard !text.isEmpty, s.lastPlain.map({ at.timeIntervalSince($0) >= 5 }) ?? true else { return }
            let comparable = Self.withoutSeconds(text)
            guard comparable != s.lastPlainText || s.lastPlain.map({ at.timeIntervalSince($0) >= 30 }) ?? true else { return }
            console.progress(text)
            s.lastPlain = at
            s.lastPlainText = comparable
        }
    }

    private func describe(_ s: State, live: Bool) -> String {
        let elapsed = max(0, now().timeIntervalSince(started))
        if total > 1 {
            let c = counts(s)
            var parts = ["\(c.done)/\(c.total) done", "\(c.running) running", "\(c.queued) queued"]
            if c.failed > 0 { parts.append("\(c.failed) failed") }
            parts.append(Self.clock(elapsed))
            // The ETA from this command's own pace, once a run has ended in it.
            let endedHere = s.finished + s.failed
            if endedHere > 0, c.queued + c.running > 0 {
                parts.append("ETA " + Self.clock(elapsed / Double(endedHere) * Double(c.queued + c.running)))
            }
            var text = parts.joined(separator: live ? " · " : ", ")
            if live, !s.uploads.isEmpty {
                let sent = s.uploads.values.reduce(Int64(0)) { $0 + $1.sent }, all = s.uploads.values.reduce(Int64(0)) { $0 + $1.total }
                text += " · uploading \(s.uploads.count) (\(all > 0 ? Int(Double(sent) * 100 / Double(all)) : 0)%)"
            }
            if live {
                let share = Double(c.done + c.failed) / Double(max(1, c.total)), bar = 12
                let filled = min(bar, Int(share * Double(bar)))
                text = "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: bar - filled) + "] " + text
            }
            return text
        }
        var parts: [String] = []
        if let upload = s.uploads.values.first {
            let percent = upload.total > 0 ? Int(Double(upload.sent) * 100 / Double(upload.total)) : 0
            if live {
                let bar = 24, filled = bar * percent / 100
                parts.append("uploading \(upload.name) [\(String(repeating: "#", count: filled))\(String(repeating: "-", count: bar - filled))] \(percent)% \(Self.size(upload.sent))/\(Self.size(upload.total))")
            } else {
                parts.append("uploading \(upload.name): \(percent)% of \(Self.size(upload.total))")
            }
        }
        if let status = s.waiting.values.first {
            parts.append("waiting for the run (\(status)) \(Int(elapsed))s")
        }
        return parts.joined(separator: "; ")
    }

    /// `text` cut to fit in `width` columns (one short of it: a full last column wraps on some
    /// terminals), with `…` where it was cut.
    static func fit(_ text: String, width: Int) -> String {
        let room = max(10, width - 1)
        guard text.count > room else { return text }
        return String(text.prefix(room - 1)) + "…"
    }

    /// `1m05s`, `2h03m`, `42s`.
    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        if s >= 3600 { return "\(s / 3600)h" + Formatting.zeroPadded((s % 3600) / 60, 2) + "m" }
        if s >= 60 { return "\(s / 60)m" + Formatting.zeroPadded(s % 60, 2) + "s" }
        return "\(s)s"
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

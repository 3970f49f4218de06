import FoundationEssentials
import Synchronization

/// Everything a command prints goes through its one console: results on stdout, every other line
/// on stderr, under one policy decided once.
/// - `--quiet` drops notes and progress; warnings and errors still print.
/// - `--json` makes every stderr line one JSON object (`helios help output`): events
///   `{"event":"note"|"warning"|"retry"|"http"|"progress"|"rejected",…}`, the resume command
///   `{"resume":…}`, and the failure that ends the command `{"error":{…}}`. Nothing on stderr is
///   then plain text, so logs can be parsed line by line.
/// - A live status line (a terminal's progress) is cleared before anything else is written, so
///   it never mixes with results or events.
/// Text from outside (file names, server answers) is escaped for the terminal here, once.
final class Console: Sendable {
    let output: Output
    let json: Bool
    let quiet: Bool
    let verbose: Bool
    let stderrPalette: Palette
    /// How results are rendered, chosen once.
    let renderer: ResultRenderer
    /// What became of each recording, for --summary and --junit.
    let reports = CIReports()
    private let live = Mutex(false)  // whether a live line is on screen
    private struct Results {
        var tagNames: [String] = []
        var headerWritten = false
    }
    private let results = Mutex(Results())

    init(output: Output, json: Bool, quiet: Bool = false, verbose: Bool = false,
         stderrPalette: Palette = Palette(mode: .never, isTerminal: false, environment: [:]), renderer: ResultRenderer? = nil) {
        self.output = output
        self.json = json
        self.quiet = quiet
        self.verbose = verbose
        self.stderrPalette = stderrPalette
        self.renderer = renderer ?? ResultRenderer(format: json ? .json : .text, palette: Palette(mode: .never, isTerminal: false, environment: [:]), bands: true)
    }

    convenience init(output: Output, global: GlobalOptions, context: CLIContext) {
        // Colour only where results reach a terminal: never in CSV or a file.
        let stdoutPalette = Palette(mode: global.format == .text && global.outputFile == nil ? global.color : .never,
                                    isTerminal: context.stdoutIsTerminal, environment: context.environment)
        self.init(output: output, json: global.json, quiet: global.quiet, verbose: global.verbose,
                  stderrPalette: Palette(mode: global.color, isTerminal: context.stderrIsTerminal, environment: context.environment),
                  renderer: ResultRenderer(format: global.format, palette: stdoutPalette, bands: !global.noBands))
    }

    // MARK: stdout

    /// One result already rendered for stdout (a line or a block).
    func result(_ text: String) { write { output.out(text) } }

    /// CSV: the `tag:NAME` columns of run results, set before the first result (a command knows
    /// every row's tags before it starts).
    func setTagColumns(_ names: [String]) { results.withLock { $0.tagNames = names } }

    /// A run's result in the chosen format (`idOnly`: see `ResultRenderer.run`).
    func emit(_ result: RunResult, idOnly: Bool = false) {
        emitRow(.run) { renderer.run(result, tagNames: $0, idOnly: idOnly) }
    }

    /// A recording's verdict in the chosen format.
    func emit(_ report: ValidationReport) { emitRow(.validation) { _ in renderer.validation(report) } }

    /// A journal entry in the chosen format (JSON or CSV), as `renderer.journal` rendered it on a
    /// reader thread (`runs`, which lays out the text table itself).
    func emitJournalLine(_ line: String) { emitRow(.journal) { _ in line } }

    /// CSV's header row, when nothing has been printed yet (a command with no results still
    /// prints its header, so the file is a valid, empty table).
    func emitHeader(_ kind: ResultRenderer.Kind) {
        results.withLock { state in
            let header = pendingHeader(kind, &state)
            if !header.isEmpty { write { output.out(header) } }
        }
    }

    private func emitRow(_ kind: ResultRenderer.Kind, _ render: ([String]) -> String) {
        results.withLock { state in
            let text = pendingHeader(kind, &state) + render(state.tagNames)
            write { output.out(text) }
        }
    }

    /// CSV's header row the first time it is asked for, else nothing.
    private func pendingHeader(_ kind: ResultRenderer.Kind, _ state: inout Results) -> String {
        guard renderer.format == .csv, !state.headerWritten else { return "" }
        state.headerWritten = true
        return renderer.csvHeader(kind, tagNames: state.tagNames)
    }

    // MARK: stderr events

    /// What is happening (a run created, an upload done): dropped by --quiet.
    func note(_ text: String) {
        guard !quiet else { return }
        event(Event(event: "note", message: text), text: Text.terminalSafe(text) + "\n")
    }

    /// Something the user should know that does not stop the command; never dropped.
    func warn(_ text: String, file: String? = nil, code: String? = nil) {
        var line = text
        if let code { line = "\(code): \(line)" }
        if let file { line = "\(file): \(line)" }
        event(Event(event: "warning", message: text, file: file, code: code),
              text: stderrPalette.yellow("warning:") + " " + Text.terminalSafe(line) + "\n")
    }

    /// A recording the local check rejected, among several (the command's failure names the last).
    func rejected(_ report: ValidationReport) {
        let problems = ValidationFinding.summary(report.problems)
        event(Event(event: "rejected", message: problems, file: report.file, problems: report.problems),
              text: "error: " + Text.terminalSafe("\(report.file): \(problems)") + "\n")
    }

    /// A row or recording `--skip-invalid` leaves out; never dropped.
    func skipped(_ report: ValidationReport) {
        reports.record(.init(file: report.file, manifestLine: report.manifestLine, outcome: .skipped,
                             errorCode: report.problems.first?.code, message: report.problems.map(\.message).joined(separator: "; ")))
        let problems = ValidationFinding.summary(report.problems)
        var line = report.file
        if let n = report.manifestLine { line += " (line \(n))" }
        event(Event(event: "skipped", message: problems, file: report.file, problems: report.problems, manifestLine: report.manifestLine),
              text: stderrPalette.yellow("skipped:") + " " + Text.terminalSafe("\(line): \(problems)") + "\n")
    }

    /// A request about to be retried: dropped by --quiet.
    func retry(_ notice: RetryNotice) {
        guard !quiet else { return }
        let text = "retrying in \(Formatting.fixed(notice.delay, 1))s after \(notice.reason) (attempt \(notice.attempt))"
        event(Event(event: "retry", message: text, attempt: notice.attempt, delaySeconds: notice.delay), text: text + "\n")
    }

    /// One line of an HTTP exchange under --verbose, already redacted by the caller.
    func http(_ line: String) {
        guard verbose else { return }
        event(Event(event: "http", message: line), text: Text.terminalSafe(line) + "\n")
    }

    /// A progress line where no live line can be drawn (stderr is not a terminal): dropped by --quiet.
    func progress(_ text: String, counts: ProgressCounts? = nil) {
        guard !quiet else { return }
        event(Event(event: "progress", message: text, counts: counts), text: text + "\n")
    }

    /// The one command that carries on the work after a stop.
    func resume(_ command: String) {
        write { output.err(json ? JSONLine.encode(["resume": command]) : "resume with: \(Text.terminalSafe(command))\n") }
    }

    /// The failure that ends the command (or one item of it, `runId` set): every failure is
    /// reported here, in the one form `--json` promises.
    func fail(_ failure: CLIFailure) { write { output.err(failure.rendered(json: json)) } }

    // MARK: the live line

    /// Replaces the live line with `text` (a terminal's progress; never under --json or --quiet).
    func drawLive(_ text: String) {
        guard !quiet, !json else { return }
        live.withLock { drawn in
            if drawn { output.err("\r\u{1B}[2K") }
            output.err(text)
            drawn = !text.isEmpty
        }
    }

    func clearLive() { live.withLock { clear(&$0) } }

    // MARK: -

    private func clear(_ drawn: inout Bool) {
        if drawn { output.err("\r\u{1B}[2K") }
        drawn = false
    }

    private func write(_ body: () -> Void) {
        live.withLock { drawn in
            clear(&drawn)
            body()
        }
    }

    private func event(_ event: Event, text: String) {
        write { output.err(json ? JSONLine.encode(event) : text) }
    }

    /// A stderr event under --json: `event` and `message` always, the rest when they apply.
    private struct Event: Encodable {
        var event: String
        var message: String
        var file: String?
        var code: String?
        var problems: [ValidationFinding]?
        var attempt: Int?
        var delaySeconds: Double?
        var counts: ProgressCounts?
        var manifestLine: Int?
    }
}

/// The counts of a batch, for progress lines and the summary.
struct ProgressCounts: Encodable, Sendable, Equatable {
    var total: Int
    var done: Int
    var failed: Int
    var running: Int
    var queued: Int
}

import FoundationEssentials

/// `--format`: how results are printed on stdout (or into `--output FILE`).
public enum ResultFormat: String, Sendable, Equatable, CaseIterable {
    case text, json, csv
}

/// Results as a command prints them, chosen once per command (`--format`, `--no-bands`, the
/// stdout palette): a run's result, a recording's verdict, a journal entry. The CSV columns are
/// documented in `helios help output`.
struct ResultRenderer: Sendable {
    enum Kind: Sendable { case run, validation, journal }

    let format: ResultFormat
    let palette: Palette
    let bands: Bool

    // MARK: runs

    /// CSV columns of a run's result, before the `tag:NAME` columns.
    static let runColumns = ["file", "manifestLine", "userLabel", "runId", "status", "errorCode"] + Scores.order
        + ["speechSeconds", "durationSeconds", "warnings"]

    /// `idOnly`: a run that was uploaded and not waited for prints its id alone in text, so that
    /// `helios upload … | helios poll -` works.
    func run(_ r: RunResult, tagNames: [String], idOnly: Bool = false) -> String {
        switch format {
        case .json: return JSONLine.encode(r)
        case .text: return idOnly ? (r.runId ?? "") + "\n" : r.text(palette: palette, bands: bands)
        case .csv:
            var cells: [String?] = [r.file, r.manifestLine.map(String.init), r.userLabel, r.runId, r.status, r.error?.code]
            cells += Scores.order.indices.map { r.scores?[position: $0].map(Self.number) }
            cells += [r.audio?.speechSeconds.map(Self.number), r.audio?.durationSeconds.map(Self.number),
                      r.warnings.isEmpty ? nil : r.warnings.joined(separator: "; ")]
            cells += tagNames.map { r.tags[$0] }
            return Self.csvLine(cells)
        }
    }

    // MARK: validate

    static let validationColumns = ["file", "ok", "format", "durationSeconds", "speechSeconds", "sampleRate", "channels",
                                    "bytes", "problems", "warnings", "manifestLine"]

    func validation(_ v: ValidationReport) -> String {
        switch format {
        case .json: return JSONLine.encode(v)
        case .text: return ValidationText.line(v, palette: palette)
        case .csv:
            let a = v.audio
            let findings = { (list: [ValidationFinding]) in
                list.isEmpty ? nil : ValidationFinding.summary(list)
            }
            return Self.csvLine([v.file, v.ok ? "true" : "false", a?.format?.rawValue, a?.durationSeconds.map(Self.number),
                                 a?.speechSeconds.map(Self.number), a?.sampleRate.map(String.init), a?.channels.map(String.init),
                                 a.map { String($0.bytes) }, findings(v.problems), findings(v.warnings), v.manifestLine.map(String.init)])
        }
    }

    // MARK: runs (the journal)

    static let journalColumns = ["runId", "time", "file", "manifestLine", "userLabel", "status", "errorCode"] + Scores.order + ["baseURL"]

    /// JSON and CSV; text is a table `runs` lays out itself.
    func journal(_ e: JournalEntry) -> String {
        if format == .json { return e.jsonLine() ?? JSONLine.encode(e) }
        let scores = e.scores
        var cells: [String?] = [e.runId, e.time, e.file, e.line.map(String.init), e.userLabel, e.status, e.errorCode]
        cells += Scores.order.indices.map { scores?[position: $0].map(Self.number) }
        cells.append(e.baseURL)
        return Self.csvLine(cells)
    }

    // MARK: CSV

    func csvHeader(_ kind: Kind, tagNames: [String] = []) -> String {
        switch kind {
        case .run: return Self.csvLine(Self.runColumns + tagNames.map { "tag:" + $0 })
        case .validation: return Self.csvLine(Self.validationColumns)
        case .journal: return Self.csvLine(Self.journalColumns)
        }
    }

    /// One CSV record (RFC 4180): a field holding a comma, a quote or a line break is quoted,
    /// its quotes doubled; an empty cell is a missing value. Text from outside has its control
    /// characters escaped (as everywhere helios prints), and a cell a spreadsheet would take for
    /// a formula (`=`, `+`, `-`, `@` first) is prefixed with `'`: a file name or tag is data,
    /// never a formula. Numbers are written plainly.
    static func csvLine(_ cells: [String?]) -> String {
        cells.map { cell -> String in
            guard var v = cell.map(Text.terminalSafe) else { return "" }
            if let first = v.unicodeScalars.first, "=+-@".unicodeScalars.contains(first), Double(v) == nil { v = "'" + v }
            guard v.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return v }
            return "\"" + v.split(separator: "\"", omittingEmptySubsequences: false).joined(separator: "\"\"") + "\""
        }.joined(separator: ",") + "\r\n"
    }

    /// The shortest decimal form that reads back as the same value (`0.33`, `12.5`).
    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : "\(value)"
    }
}

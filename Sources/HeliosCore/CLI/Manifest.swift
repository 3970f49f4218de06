import FoundationEssentials
import Glibc

/// One recording of a `--manifest`, with its user fields checked by the same `ValueRules` as the
/// command line and the command line's run options already filled in where the row left a gap.
public struct ManifestRow: Sendable, Equatable {
    /// The physical line the row starts on (the CSV header is line 1).
    public var line: Int
    /// Relative paths are resolved against the manifest's directory; absolute ones are kept.
    public var file: String
    /// The row's person and context. A `nil` user label: the row gave none, and the command
    /// line's `--user-label` never stands in for it (it would make every row the same person),
    /// so the caller gives each such row a fresh UUID.
    public var person: Person

    public init(line: Int, file: String, userLabel: String? = nil, dateOfBirth: String, birthSex: ValueRules.BirthSex,
                language: String = "en-GB", accent: String? = nil, sleepTime: String? = nil, wakeTime: String? = nil,
                recordingTime: String? = nil, tags: [ValueRules.Tag] = []) {
        self.line = line
        self.file = file
        person = Person(userLabel: userLabel, dateOfBirth: dateOfBirth, birthSex: birthSex, language: language, accent: accent,
                        sleepTime: sleepTime, wakeTime: wakeTime, recordingTime: recordingTime, tags: tags)
    }
}

/// A manifest `helios` cannot use: the manifest's path, the physical line when one is to blame,
/// and a lower-case message (the CLI layer adds `error:` and exits 2).
public struct ManifestError: Error, Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var line: Int?
    public var message: String
    /// The bad row's `file` as written, when it has one.
    public var file: String?

    public init(path: String, line: Int?, message: String) {
        self.path = path
        self.line = line
        self.message = message
    }

    /// `study.csv:7: invalid value '1990-13' for 'dob': month 13 does not exist`
    public var description: String {
        line.map { "\(path):\($0): \(message)" } ?? "\(path): \(message)"
    }

    /// The bad row as a verdict (`INVALID_ROW`), for `validate --manifest` and `--skip-invalid`.
    public var report: ValidationReport {
        ValidationReport(file: file ?? path, audio: nil, problems: [ValidationFinding(code: "INVALID_ROW", message: description)],
                         warnings: [], manifestLine: line)
    }
}

public enum Manifest {
    /// Reads and checks every row before anything is sent. The format is chosen by content: JSON
    /// Lines when the first non-blank character is `{`, else CSV with a header row. An empty value
    /// (an empty cell, `""` or `null`) is the same as leaving the field out, so `defaults` (the
    /// command line's run options) fill it; `defaults.userLabel` is never used. `today` is
    /// `YYYY-MM-DD` for the date-of-birth rule.
    public static func load(path: String, defaults: RunOptions, today: String) throws(ManifestError) -> [ManifestRow] {
        try parse(try readText(path), path: path, defaults: defaults, today: today)
    }

    /// As `load`, but a bad row does not stop the rest: the good rows, and what is wrong with each
    /// bad one (`--skip-invalid`, `validate --manifest`). A manifest that cannot be read at all
    /// (no file, no header, no rows) still throws.
    public static func loadAll(path: String, defaults: RunOptions, today: String) throws(ManifestError) -> (rows: [ManifestRow], invalid: [ManifestError]) {
        try parseAll(try readText(path), path: path, defaults: defaults, today: today)
    }

    /// `load` once the text is read: every row read and checked, `path` naming the manifest in
    /// messages and anchoring relative file names.
    package static func parse(_ text: String, path: String, defaults: RunOptions, today: String) throws(ManifestError) -> [ManifestRow] {
        let all = try parseAll(text, path: path, defaults: defaults, today: today)
        if let first = all.invalid.first { throw first }
        return all.rows
    }

    package static func parseAll(_ text: String, path: String, defaults: RunOptions, today: String) throws(ManifestError) -> (rows: [ManifestRow], invalid: [ManifestError]) {
        let fail = { (line: Int?, message: String) in ManifestError(path: path, line: line, message: message) }
        let entries: [Entry]
        do {
            entries = text.first(where: { !$0.isWhitespace }) == "{" ? try jsonLines(text) : try csv(text)
        } catch {
            throw fail(error.line, error.message)
        }
        guard !entries.isEmpty else { throw fail(nil, "no rows") }

        var rows: [ManifestRow] = []
        var invalid: [ManifestError] = []
        // The journal knows a recording by its content and user fields; a repeat would be sent twice.
        var seen: [DuplicateKey: Int] = [:]
        for entry in entries {
            let row: ManifestRow
            switch merge(entry, manifestPath: path, defaults: defaults, today: today) {
            case .success(let r): row = r
            case .failure(let f):
                var error = fail(entry.line, f.rule)
                error.file = entry.values[.file]?.value
                invalid.append(error)
                continue
            }
            let key = DuplicateKey(file: row.file, userLabel: row.person.userLabel, dateOfBirth: row.person.dateOfBirth, birthSex: row.person.birthSex)
            if let first = seen[key] {
                var error = fail(entry.line, "'\(entry.values[.file]?.value ?? row.file)' is already on line \(first) with the same user fields; it would be submitted twice")
                error.file = row.file
                invalid.append(error)
                continue
            }
            seen[key] = entry.line
            rows.append(row)
        }
        return (rows, invalid)
    }

    // MARK: - Fields

    /// What a column or key sets. The first spelling is the one messages use.
    enum Field: CaseIterable {
        case file, userLabel, dateOfBirth, birthSex, language, accent, sleepTime, wakeTime, recordingTime

        var spellings: [String] {
            switch self {
            case .file: ["file"]
            case .userLabel: ["userLabel"]
            case .dateOfBirth: ["dob", "dateOfBirth"]
            case .birthSex: ["sex", "birthSex"]
            case .language: ["language"]
            case .accent: ["accent"]
            case .sleepTime: ["sleepTime"]
            case .wakeTime: ["wakeTime"]
            case .recordingTime: ["recordingTime"]
            }
        }

        static let byName: [String: Field] = Dictionary(uniqueKeysWithValues: allCases.flatMap { f in f.spellings.map { ($0, f) } })
    }

    /// One row before its values are checked: non-empty values only, each with the name the user
    /// wrote (so a message quotes `dateOfBirth` when that is what the header says).
    struct Entry {
        var line: Int
        var values: [Field: (name: String, value: String)] = [:]
        /// In the order written; `label` is `tag:NAME` (CSV) or `tags.NAME` (JSON Lines).
        var tags: [(label: String, name: String, value: String)] = []
    }

    struct ReadError: Error {
        var line: Int?
        var message: String
    }

    private struct DuplicateKey: Hashable {
        var file: String
        var userLabel: String?
        var dateOfBirth: String
        var birthSex: ValueRules.BirthSex
    }

    /// Checks every value with the command line's rules and fills the gaps from `defaults`.
    static func merge(_ entry: Entry, manifestPath: String, defaults: RunOptions, today: String) -> Result<ManifestRow, RuleFailure> {
        func check<T>(_ field: Field, _ rule: (String) -> Result<T, RuleFailure>) throws(RuleFailure) -> T? {
            guard let (name, text) = entry.values[field] else { return nil }
            switch rule(text) {
            case .success(let value): return value
            case .failure(let f): throw RuleFailure("invalid value '\(text)' for '\(name)': \(f.rule)")
            }
        }
        do throws(RuleFailure) {
            guard let file = entry.values[.file]?.value else { throw "missing 'file'" }
            let userLabel = try check(.userLabel, ValueRules.userLabel)
            guard let dob = try check(.dateOfBirth, { ValueRules.dateOfBirth($0, today: today) }) ?? defaults.dateOfBirth else {
                throw "'dob' is needed (give it in the row or with --dob)"
            }
            guard let sex = try check(.birthSex, ValueRules.birthSex) ?? defaults.birthSex else {
                throw "'sex' is needed (give it in the row or with --sex)"
            }
            let language = try check(.language, ValueRules.language) ?? defaults.language
            let accent = try check(.accent, ValueRules.accent) ?? defaults.accent
            let sleepTime = try check(.sleepTime, ValueRules.localDateTime) ?? defaults.sleepTime
            let wakeTime = try check(.wakeTime, ValueRules.localDateTime) ?? defaults.wakeTime
            let recordingTime = try check(.recordingTime, ValueRules.localDateTime) ?? defaults.recordingTime

            var tags: [ValueRules.Tag] = []
            for (label, name, value) in entry.tags {
                switch ValueRules.tag("\(name)=\(value)") {
                case .success(let tag): tags.append(tag)
                case .failure(let f): throw RuleFailure("invalid value '\(value)' for '\(label)': \(f.rule)")
                }
            }
            // The row wins over `--tag` of the same name.
            tags += defaults.tags.filter { tag in !tags.contains { $0.name == tag.name } }
            if let f = ValueRules.tags(tags) {
                throw RuleFailure(defaults.tags.isEmpty ? f.rule : "\(f.rule), counting those from --tag")
            }
            return .success(ManifestRow(
                line: entry.line, file: resolve(file, against: manifestPath), userLabel: userLabel,
                dateOfBirth: dob, birthSex: sex, language: language, accent: accent,
                sleepTime: sleepTime, wakeTime: wakeTime, recordingTime: recordingTime, tags: tags))
        } catch {
            return .failure(error)
        }
    }

    /// `file` relative to the manifest's directory, with `.` and empty components dropped. `..` is
    /// kept: folding it away is wrong when the directory before it is a symbolic link.
    static func resolve(_ file: String, against manifestPath: String) -> String {
        var joined = file
        if !file.hasPrefix("/"), let slash = manifestPath.lastIndex(of: "/") {
            joined = manifestPath[...slash] + file
        }
        let parts = joined.split(separator: "/").filter { $0 != "." }
        let cleaned = parts.joined(separator: "/")
        if joined.hasPrefix("/") { return "/" + cleaned }
        return cleaned.isEmpty ? "." : cleaned
    }

    // MARK: - Names

    enum Column: Equatable {
        case field(Field)
        case tag(String)
    }

    /// Judges a header (or a JSON object's keys) as a whole, so every unknown name is reported at once.
    static func columns(_ names: [String], csv: Bool) -> Result<[Column], RuleFailure> {
        let noun = csv ? "column" : "key"
        // A semicolon- or tab-separated export reads as one long column name.
        if csv, names.count == 1, let only = names.first, only.contains(";") || only.contains("\t") {
            return .failure("the header '\(only)' has no commas; separate the columns with commas")
        }
        var columns: [Column] = []
        var unknown: [(name: String, hint: String?)] = []
        var firstName: [Field: String] = [:]
        var seenTags = Set<String>()
        for name in names {
            if let field = Field.byName[name] {
                if let earlier = firstName[field] {
                    return .failure(earlier == name
                        ? "\(noun) '\(name)' is given twice"
                        : "'\(earlier)' and '\(name)' give the same field; keep one")
                }
                firstName[field] = name
                columns.append(.field(field))
            } else if csv, name.hasPrefix("tag:") {
                let tagName = String(name.dropFirst(4))
                if tagName.contains("=") { return .failure("invalid tag name in '\(name)': a tag name cannot contain '='") }
                if case .failure(let f) = ValueRules.tag(tagName + "=") { return .failure("invalid tag name in '\(name)': \(f.rule)") }
                guard seenTags.insert(tagName).inserted else { return .failure("\(noun) '\(name)' is given twice") }
                columns.append(.tag(tagName))
            } else if csv, name == "tags" || name == "tag" {
                unknown.append((name, "give each tag its own 'tag:NAME' column"))
            } else if !csv, name.hasPrefix("tag:") {
                unknown.append((name, "put tags in a 'tags' object"))
            } else {
                let candidates = Field.allCases.flatMap(\.spellings) + (csv ? [] : ["tags"])
                unknown.append((name, nearestSpelling(to: name, in: candidates).map { "did you mean '\($0)'?" }))
            }
        }
        if unknown.count == 1, let only = unknown.first {
            return .failure(RuleFailure("unknown \(noun) '\(only.name)'" + (only.hint.map { "; \($0)" } ?? "")))
        }
        if !unknown.isEmpty {
            let list = unknown.map { "'\($0.name)'" + ($0.hint.map { " (\($0))" } ?? "") }
            return .failure(RuleFailure("unknown \(noun)s " + list.joined(separator: ", ")))
        }
        if csv, !firstName.keys.contains(.file) { return .failure("no 'file' column") }
        return .success(columns)
    }

    // MARK: - Formats

    static func csv(_ text: String) throws(ReadError) -> [Entry] {
        let records: [CSVRecord]
        do {
            records = try CSVReader.records(text)
        } catch {
            throw ReadError(line: error.line, message: error.message)
        }
        guard let header = records.first else { return [] }
        let columns: [Column]
        switch Self.columns(header.cells, csv: true) {
        case .success(let c): columns = c
        case .failure(let f): throw ReadError(line: header.line, message: f.rule)
        }
        return try records.dropFirst().map { record throws(ReadError) in
            guard record.cells.count == columns.count else {
                throw ReadError(line: record.line, message: "this row has \(record.cells.count) \(record.cells.count == 1 ? "cell" : "cells"); the header has \(columns.count) columns")
            }
            var entry = Entry(line: record.line)
            for (index, (column, value)) in zip(columns, record.cells).enumerated() where !value.isEmpty {
                switch column {
                case .field(let field): entry.values[field] = (header.cells[index], value)
                case .tag(let name): entry.tags.append((header.cells[index], name, value))
                }
            }
            return entry
        }
    }

    static func jsonLines(_ text: String) throws(ReadError) -> [Entry] {
        var entries: [Entry] = []
        var lineNumber = 0
        // JSON strings cannot hold a raw line break, so every physical line is one value.
        for line in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) {
            lineNumber += 1
            guard line.contains(where: { !$0.isWhitespace }) else { continue }
            guard let object = try? JSONDecoder().decode([String: JSONValue].self, from: Data(line.utf8)) else {
                throw ReadError(line: lineNumber, message: "not a JSON object")
            }
            let keys = object.keys.filter { $0 != "tags" }.sorted()
            let columns: [Column]
            switch Self.columns(keys, csv: false) {
            case .success(let c): columns = c
            case .failure(let f): throw ReadError(line: lineNumber, message: f.rule)
            }
            var entry = Entry(line: lineNumber)
            for (key, column) in zip(keys, columns) {
                guard case .field(let field) = column else { continue }
                switch object[key]! {
                case .null: continue
                case .string(let value): if !value.isEmpty { entry.values[field] = (key, value) }
                default: throw ReadError(line: lineNumber, message: "'\(key)' must be a string")
                }
            }
            switch object["tags"] {
            case nil, .null?:
                break
            case .object(let tags)?:
                for name in tags.keys.sorted() {
                    switch tags[name]! {
                    case .null: continue
                    case .string(let value): if !value.isEmpty { entry.tags.append(("tags.\(name)", name, value)) }
                    default: throw ReadError(line: lineNumber, message: "'tags.\(name)' must be a string")
                    }
                }
            default:
                throw ReadError(line: lineNumber, message: "'tags' must be an object of strings, e.g. {\"site\": \"leeds\"}")
            }
            entries.append(entry)
        }
        return entries
    }

    /// Just enough of JSON to tell a string from anything else.
    private enum JSONValue: Decodable {
        case string(String), null, object([String: JSONValue]), other

        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if c.decodeNil() {
                self = .null
            } else if let s = try? c.decode(String.self) {
                self = .string(s)
            } else if let o = try? c.decode([String: JSONValue].self) {
                self = .object(o)
            } else {
                self = .other
            }
        }
    }

    // MARK: - Reading

    /// The whole manifest as UTF-8 text without a BOM. Read with POSIX calls so a pipe
    /// (`--manifest <(make-rows)`) works too, and so the reason is the system's own.
    static func readText(_ path: String) throws(ManifestError) -> String {
        func fail(_ message: String) -> ManifestError { ManifestError(path: path, line: nil, message: message) }
        func reason(_ code: Int32) -> String {
            let text = String(cString: strerror(code))
            return text.prefix(1).lowercased() + text.dropFirst()
        }
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw fail("cannot read the manifest: \(reason(errno))") }
        defer { close(fd) }
        var info = stat()
        if fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFDIR { throw fail("cannot read the manifest: \(reason(EISDIR))") }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 { bytes += buffer[..<n]; continue }
            if n == 0 { break }
            guard errno == EINTR else { throw fail("cannot read the manifest: \(reason(errno))") }
        }
        if bytes.starts(with: [0xFF, 0xFE]) || bytes.starts(with: [0xFE, 0xFF]) {
            throw fail("the manifest is UTF-16 text; save it as UTF-8 (in Excel: 'CSV UTF-8')")
        }
        guard var text = String(validating: bytes, as: UTF8.self) else {
            throw fail("the manifest is not UTF-8 text; save it as UTF-8 (in Excel: 'CSV UTF-8')")
        }
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        return text
    }
}

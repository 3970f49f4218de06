import FoundationEssentials
import Glibc

/// What the user asked for, fully typed and checked. Produced by `Invocation.parse`, a pure function
/// of argv and today's date: every bad value is refused here, before anything is read or sent.
public struct Invocation: Sendable, Equatable {
    public var global: GlobalOptions
    public var command: Command

    public enum Command: Sendable, Equatable {
        case submit(SubmitOptions)
        case upload(UploadOptions)
        case poll(PollOptions)
        case status(StatusOptions)
        case validate(ValidateOptions)
        case runs(RunsOptions)
        case doctor
        case completion(shell: String)
        /// `nil` is the overview; otherwise a command name or a topic of `CommandTable.topics`.
        case help(String?)
        /// `--version`, `version`; `verbose` adds the build and the libraries (`-V`, `version --verbose`).
        case version(verbose: Bool)

        /// The command's name, as typed.
        public var name: String {
            switch self {
            case .submit: "submit"
            case .upload: "upload"
            case .poll: "poll"
            case .status: "status"
            case .validate: "validate"
            case .runs: "runs"
            case .doctor: "doctor"
            case .completion: "completion"
            case .help: "help"
            case .version: "version"
            }
        }
    }
}

public enum ColorMode: String, Sendable, Equatable { case auto, always, never }
public enum Region: String, Sendable, Equatable, CaseIterable { case `default`, ca, us }

public struct GlobalOptions: Sendable, Equatable {
    public var apiKeyFile: String?
    public var apiKeyStdin = false
    public var region: Region?
    public var baseURL: String?
    /// `--format`; `--json` is `--format json`.
    public var format: ResultFormat = .text
    /// `--json`, or `--format json`: results as JSON Lines, and every stderr line a JSON object.
    public var json: Bool { format == .json }
    /// `--output FILE`: results to FILE, written atomically, instead of stdout.
    public var outputFile: String?
    /// `--summary FILE` and `--junit FILE`: CI reports written when the command ends.
    public var summaryFile: String?
    public var junitFile: String?
    public var quiet = false
    public var verbose = false
    /// Text results without helios' rough-guide band words (`--no-bands`).
    public var noBands = false
    public var color: ColorMode = .auto
    public init() {}
}

public struct RunOptions: Sendable, Equatable {
    public var files: [String] = []
    public var dateOfBirth: String?
    public var birthSex: ValueRules.BirthSex?
    public var userLabel: String?
    public var language = Defaults.language
    public var languageGiven = false
    public var accent: String?
    public var sleepTime: String?
    public var wakeTime: String?
    public var recordingTime: String?
    public var tags: [ValueRules.Tag] = []
    public var deleteData = false
    public var deleteRecordings = false
    public var contentType: String?
    public var skipValidation = false
    public var manifest: String?
    public var concurrency = Defaults.concurrency
    public var force = false
    /// Carry on what the journal knows of these recordings instead of refusing them.
    public var resume = false
    /// Every check, nothing sent: print the plan and what it would cost.
    public var dryRun = false
    /// Go on with the valid rows and recordings; report the others; exit 1 at the end.
    public var skipInvalid = false
    /// On a resumed manifest, a new run for each row that ended with a retryable error code.
    public var retryFailed = false
    public init() {}

    public var deletion: DataDeletion { deleteRecordings ? .recordingsOnly : deleteData ? .all : .keep }
}

public struct WaitOptions: Sendable, Equatable {
    public var pollInterval: Double = Defaults.pollInterval
    /// Seconds; 0 waits forever.
    public var timeout: Double = Defaults.timeout
    public init() {}
}

public struct SubmitOptions: Sendable, Equatable {
    public var run = RunOptions()
    public var wait = WaitOptions()
    public var noWait = false
    public var resume = false
}

public struct UploadOptions: Sendable, Equatable {
    public var run = RunOptions()
    /// A pre-signed URL of a run created elsewhere: upload the one file there, create nothing.
    public var url: String?
}

/// `helios runs`: which journal entries to list.
public struct RunsOptions: Sendable, Equatable {
    public enum Since: Sendable, Equatable {
        /// A UTC time as the journal writes it (`2026-12-01T00:00:00Z`).
        case at(String)
        case ago(seconds: Double)
    }
    public var pending = false
    public var user: String?
    public var status: String?
    public var since: Since?
    /// Rewrite the journal with each run's latest entry first.
    public var compact = false
    public init() {}

    /// `2026-12-01`, `2026-12-01T09:00[:00]` (UTC, `Z` allowed), or a duration (`24h`, `30m`).
    static func since(_ text: String) -> Result<Since, RuleFailure> {
        if case .success(let seconds) = ValueRules.duration(text) { return .success(.ago(seconds: seconds)) }
        var t = text.hasSuffix("Z") ? String(text.dropLast()) : text
        if t.count == 10 { t += "T00:00:00" } else if t.count == 16 { t += ":00" }
        let digits = Array(t.utf8)
        let shape = "dddd-dd-ddTdd:dd:dd"
        guard digits.count == shape.utf8.count,
              zip(digits, shape.utf8).allSatisfy({ d, s in s == UInt8(ascii: "d") ? (0x30...0x39).contains(d) : d == s }) else {
            return .failure(.init("expected a date (2026-12-01), a UTC date-time (2026-12-01T09:00) or a duration (24h)"))
        }
        return .success(.at(t + "Z"))
    }
}

/// `helios validate`: files, or a manifest's rows (with the run options that fill their gaps).
public struct ValidateOptions: Sendable, Equatable {
    public var files: [String] = []
    public var manifest: String?
    public var rowDefaults = RunOptions()
    public init() {}
}

public struct PollOptions: Sendable, Equatable {
    public var ids: [String] = []
    public var idsFromStdin = false
    public var pending = false
    public var wait = WaitOptions()
}

public struct StatusOptions: Sendable, Equatable {
    public var ids: [String] = []
    public var idsFromStdin = false
    public var pending = false
}

extension Invocation {
    /// Parses argv (without the program name). `today` is `YYYY-MM-DD` for the date-of-birth rule.
    public static func parse(_ args: [String], today: String) throws(UsageError) -> Invocation {
        let raw = try ArgumentParser.split(args)
        let global = try parseGlobal(raw)

        if raw.has(Opt.version) || raw.has(Opt.versionVerbose) {
            return Invocation(global: global, command: .version(verbose: raw.has(Opt.versionVerbose) || global.verbose))
        }
        guard let name = raw.command else {
            if raw.has(Opt.helpFlag) { return Invocation(global: global, command: .help(nil)) }
            throw .missingCommand
        }
        if raw.has(Opt.helpFlag) { return Invocation(global: global, command: .help(name == "help" ? raw.positionals.first : name)) }

        let checker = ValueChecker(raw: raw, command: name)
        let command: Command
        switch name {
        case "submit":
            var o = SubmitOptions()
            o.run = try checker.runOptions(today: today)
            o.wait = try checker.waitOptions()
            o.noWait = raw.has(Opt.noWait)
            o.resume = o.run.resume
            try checker.requireFiles(o.run)
            try checker.requireUserFields(o.run)
            command = .submit(o)
        case "upload":
            var o = UploadOptions()
            o.run = try checker.runOptions(today: today)
            o.url = raw.value(Opt.url)
            if o.url != nil {
                if o.run.manifest != nil { throw .conflictingOptions(Opt.url.flag, Opt.manifest.flag, reason: "a pre-signed URL takes exactly one recording", command: name) }
                if o.run.files.isEmpty { throw .missingArgument("the FILE to upload", command: name) }
                if o.run.files.count > 1 { throw .unexpectedArgument(o.run.files[1], command: name) }
            } else {
                try checker.requireFiles(o.run)
                try checker.requireUserFields(o.run)
            }
            command = .upload(o)
        case "poll":
            var o = PollOptions()
            (o.ids, o.idsFromStdin) = try checker.runIds(stdinTakenByKey: global.apiKeyStdin)
            o.pending = raw.has(Opt.pending)
            o.wait = try checker.waitOptions()
            command = .poll(o)
        case "status":
            var o = StatusOptions()
            (o.ids, o.idsFromStdin) = try checker.runIds(stdinTakenByKey: global.apiKeyStdin)
            o.pending = raw.has(Opt.pending)
            command = .status(o)
        case "validate":
            var o = ValidateOptions()
            o.files = raw.positionals
            o.manifest = raw.value(Opt.manifest)
            if o.manifest != nil {
                if let file = o.files.first {
                    throw .conflictingOptions(Opt.manifest.flag, file, reason: "give the recordings in the manifest or on the command line, not both", command: name)
                }
                o.rowDefaults = try checker.runOptions(today: today)
            } else if o.files.isEmpty {
                throw .missingArgument("at least one FILE (or --manifest FILE)", command: name)
            }
            command = .validate(o)
        case "completion":
            guard let shell = raw.positionals.first else { throw .missingArgument("a shell: bash, zsh or fish", command: name) }
            guard Completion.shells.contains(shell) else {
                throw .invalidValue(option: "SHELL", value: shell, rule: "expected one of bash, zsh, fish", command: name)
            }
            if raw.positionals.count > 1 { throw .unexpectedArgument(raw.positionals[1], command: name) }
            command = .completion(shell: shell)
        case "doctor":
            if let extra = raw.positionals.first { throw .unexpectedArgument(extra, command: name) }
            command = .doctor
        case "version":
            if let extra = raw.positionals.first { throw .unexpectedArgument(extra, command: name) }
            command = .version(verbose: global.verbose)
        case "runs":
            if let extra = raw.positionals.first { throw .unexpectedArgument(extra, command: name) }
            var o = RunsOptions()
            o.pending = raw.has(Opt.pending)
            o.user = raw.value(Opt.user)
            o.status = raw.value(Opt.status).map { $0.uppercased() }
            o.since = try checker.optional(Opt.since) { RunsOptions.since($0) }
            o.compact = raw.has(Opt.compact)
            command = .runs(o)
        default: // help
            if raw.positionals.count > 1 { throw .unexpectedArgument(raw.positionals[1], command: name) }
            if let topic = raw.positionals.first {
                let known = CommandTable.commands.map(\.name) + CommandTable.topics
                guard known.contains(topic) else { throw .unknownHelpTopic(topic, suggestion: nearestSpelling(to: topic, in: known)) }
            }
            command = .help(raw.positionals.first)
        }
        if case .poll(let o) = command, o.pending, !o.ids.isEmpty || o.idsFromStdin {
            throw .conflictingOptions(Opt.pending.flag, o.idsFromStdin ? "-" : o.ids[0], reason: "give run ids or --pending, not both", command: name)
        }
        if case .status(let o) = command, o.pending, !o.ids.isEmpty || o.idsFromStdin {
            throw .conflictingOptions(Opt.pending.flag, o.idsFromStdin ? "-" : o.ids[0], reason: "give run ids or --pending, not both", command: name)
        }
        return Invocation(global: global, command: command)
    }

    private static func parseGlobal(_ raw: RawArguments) throws(UsageError) -> GlobalOptions {
        var g = GlobalOptions()
        let checker = ValueChecker(raw: raw, command: raw.command)
        g.apiKeyFile = raw.value(Opt.apiKeyFile)
        g.apiKeyStdin = raw.has(Opt.apiKeyStdin)
        if g.apiKeyFile != nil, g.apiKeyStdin {
            throw .conflictingOptions(Opt.apiKeyFile.flag, Opt.apiKeyStdin.flag, reason: "give the key one way", command: raw.command ?? "")
        }
        g.region = try checker.optional(Opt.region) { Region(rawValue: $0).map { .success($0) } ?? .failure("expected one of default, ca, us") }
        g.baseURL = raw.value(Opt.baseUrl)
        let format = try checker.optional(Opt.format) { ResultFormat(rawValue: $0).map { .success($0) } ?? .failure("expected one of text, json, csv") }
        if raw.has(Opt.json), let format, format != .json {
            throw .conflictingOptions(Opt.json.flag, "\(Opt.format.flag) \(format.rawValue)", reason: "--json is short for --format json", command: raw.command ?? "")
        }
        g.format = raw.has(Opt.json) ? .json : format ?? .text
        for (name, path) in [(Opt.summary.flag, raw.value(Opt.summary)), (Opt.junit.flag, raw.value(Opt.junit))] {
            guard let path else { continue }
            guard !path.isEmpty, path != "-" else { throw .invalidValue(option: name, value: path, rule: "a file to write the report to", command: raw.command ?? "") }
        }
        g.summaryFile = raw.value(Opt.summary)
        g.junitFile = raw.value(Opt.junit)
        if let file = raw.value(Opt.output) {
            guard !file.isEmpty, file != "-" else { throw .invalidValue(option: Opt.output.flag, value: file, rule: "a file to write the results to (stdout is the default)", command: raw.command ?? "") }
            g.outputFile = file
        }
        g.quiet = raw.has(Opt.quiet)
        g.verbose = raw.has(Opt.verbose)
        g.noBands = raw.has(Opt.noBands)
        if g.quiet, g.verbose { throw .conflictingOptions(Opt.quiet.flag, Opt.verbose.flag, reason: "one silences what the other asks for", command: raw.command ?? "") }
        g.color = try checker.optional(Opt.color) { ColorMode(rawValue: $0).map { .success($0) } ?? .failure("expected one of auto, always, never") } ?? .auto
        return g
    }
}

/// Applies `ValueRules` to the raw values of one command, turning rule failures into usage errors
/// that name the option.
struct ValueChecker {
    let raw: RawArguments
    let command: String?

    func optional<T>(_ option: OptionSpec, _ rule: (String) -> Result<T, RuleFailure>) throws(UsageError) -> T? {
        guard let text = raw.value(option) else { return nil }
        switch rule(text) {
        case .success(let value): return value
        case .failure(let failure): throw .invalidValue(option: option.flag, value: text, rule: failure.rule, command: command)
        }
    }

    func runOptions(today: String) throws(UsageError) -> RunOptions {
        var o = RunOptions()
        o.files = raw.positionals
        o.dateOfBirth = try optional(Opt.dob) { ValueRules.dateOfBirth($0, today: today) }
        o.birthSex = try optional(Opt.sex, ValueRules.birthSex)
        o.userLabel = try optional(Opt.userLabel, ValueRules.userLabel)
        if let language = try optional(Opt.language, ValueRules.language) {
            o.language = language
            o.languageGiven = true
        }
        o.accent = try optional(Opt.accent, ValueRules.accent)
        o.sleepTime = try optional(Opt.sleepTime, ValueRules.localDateTime)
        o.wakeTime = try optional(Opt.wakeTime, ValueRules.localDateTime)
        o.recordingTime = try optional(Opt.recordingTime, ValueRules.localDateTime)
        for text in raw.all(Opt.tag) {
            switch ValueRules.tag(text) {
            case .success(let tag): o.tags.append(tag)
            case .failure(let f): throw .invalidValue(option: Opt.tag.flag, value: text, rule: f.rule, command: command)
            }
        }
        if let rule = ValueRules.tags(o.tags) {
            throw .invalidValue(option: Opt.tag.flag, value: raw.all(Opt.tag).last ?? "", rule: rule.rule, command: command)
        }
        o.deleteData = raw.has(Opt.deleteData)
        o.deleteRecordings = raw.has(Opt.deleteRecordings)
        if o.deleteData, o.deleteRecordings {
            throw .conflictingOptions(Opt.deleteData.flag, Opt.deleteRecordings.flag, reason: "the first deletes everything, the second only the recording", command: command ?? "")
        }
        o.contentType = try optional(Opt.contentType, ValueRules.mimeType)
        o.skipValidation = raw.has(Opt.skipValidation)
        o.manifest = raw.value(Opt.manifest)
        if o.manifest != nil, o.userLabel != nil {
            throw .conflictingOptions(Opt.manifest.flag, Opt.userLabel.flag, reason: "each row names its own person (a 'userLabel' column)", command: command ?? "")
        }

        o.concurrency = try optional(Opt.concurrency) { ValueRules.integer($0, in: 1...64) } ?? Defaults.concurrency
        o.force = raw.has(Opt.force)
        o.resume = raw.has(Opt.resume)
        if o.resume, o.force {
            throw .conflictingOptions(Opt.resume.flag, Opt.force.flag, reason: "--force submits afresh, --resume reuses the journal", command: command ?? "")
        }
        o.dryRun = raw.has(Opt.dryRun)
        o.skipInvalid = raw.has(Opt.skipInvalid)
        o.retryFailed = raw.has(Opt.retryFailed)
        if o.retryFailed, o.force {
            throw .conflictingOptions(Opt.retryFailed.flag, Opt.force.flag, reason: "--force already sends every recording afresh", command: command ?? "")
        }
        if o.retryFailed, o.manifest == nil, !o.resume {
            throw .conflictingOptions(Opt.retryFailed.flag, o.files.first ?? "FILE", reason: "--retry-failed carries on a manifest (or --resume); a plain submit creates fresh runs anyway", command: command ?? "")
        }
        return o
    }

    func waitOptions() throws(UsageError) -> WaitOptions {
        var w = WaitOptions()
        if let interval = try optional(Opt.pollInterval, ValueRules.duration) {
            guard interval >= 1 else {
                throw .invalidValue(option: Opt.pollInterval.flag, value: raw.value(Opt.pollInterval) ?? "", rule: "at least 1s (thymia recommends 3s)", command: command)
            }
            w.pollInterval = interval
        }
        w.timeout = try optional(Opt.timeout, ValueRules.duration) ?? w.timeout
        return w
    }

    func requireFiles(_ o: RunOptions) throws(UsageError) {
        if o.files.isEmpty, o.manifest == nil { throw .missingArgument("at least one FILE (or --manifest FILE)", command: command ?? "") }
        if o.manifest != nil, let file = o.files.first {
            throw .conflictingOptions(Opt.manifest.flag, file, reason: "give the recordings in the manifest or on the command line, not both", command: command ?? "")
        }
    }

    /// `--dob` and `--sex` are required unless a manifest supplies them per row.
    func requireUserFields(_ o: RunOptions) throws(UsageError) {
        guard o.manifest == nil else { return }
        if o.dateOfBirth == nil { throw .missingOption(option: Opt.dob.usageFragment, command: command ?? "") }
        if o.birthSex == nil { throw .missingOption(option: Opt.sex.usageFragment, command: command ?? "") }
    }

    /// Run ids as positionals, or `-` to read them from stdin (not when the key comes from there).
    func runIds(stdinTakenByKey: Bool) throws(UsageError) -> ([String], Bool) {
        var ids: [String] = []
        var fromStdin = false
        for arg in raw.positionals {
            if arg == "-" {
                if stdinTakenByKey {
                    throw .conflictingOptions("-", Opt.apiKeyStdin.flag, reason: "standard input can carry the key or the run ids, not both", command: command ?? "")
                }
                fromStdin = true
            } else {
                guard RunID.isValid(arg) else {
                    throw .invalidValue(option: "RUN_ID", value: arg, rule: "a run id is a UUID such as 3f2b8c1e-6a4d-4e7b-9c0a-1d2e3f4a5b6c", command: command)
                }
                ids.append(arg.lowercased())
            }
        }
        if ids.isEmpty, !fromStdin, !raw.has(Opt.pending) {
            throw .missingArgument("RUN_ID..., '-' or --pending", command: command ?? "")
        }
        return (ids, fromStdin)
    }
}

public enum RunID {
    /// The API's ids are UUIDs (`format: uuid`); anything else would only earn a 422.
    public static func isValid(_ text: String) -> Bool {
        // 8-4-4-4-12 ASCII hex digits. By hand: a regex literal is compiled at run time by
        // _RegexParser, whose code costs every poll and status a few hundred KB of memory.
        let bytes = Array(text.utf8)
        guard bytes.count == 36 else { return false }
        for (i, b) in bytes.enumerated() {
            let ok = [8, 13, 18, 23].contains(i)
                ? b == UInt8(ascii: "-")
                : (b >= 0x30 && b <= 0x39) || (b | 0x20 >= 0x61 && b | 0x20 <= 0x66)
            guard ok else { return false }
        }
        return true
    }
}

/// Every option helios accepts, once: its name, short form, value, help and default. The command
/// tables (`CommandTable`) list these, help, usage, man pages and completions render them, and the
/// parser (`Invocation`) reads values through them, so a name or a default is written in one place.
public enum Opt {
    public static let apiKeyFile = OptionSpec("api-key-file", kind: .value, meta: "PATH", help: "read the API key from the first line of PATH", group: .auth, global: true)
    public static let apiKeyStdin = OptionSpec("api-key-stdin", help: "read the API key from standard input", group: .auth, global: true)
    public static let region = OptionSpec("region", kind: .value, meta: "REGION", help: "data region: default, ca or us (env THYMIA_REGION)", default: "default", group: .endpoint, global: true)
    public static let baseUrl = OptionSpec("base-url", kind: .value, meta: "URL", help: "API base URL, overrides the region (env THYMIA_BASE_URL)", group: .endpoint, global: true)
    public static let format = OptionSpec("format", kind: .value, meta: "FORMAT", help: "results as text, json (JSON Lines) or csv (a header row, one row per result)", default: "text", group: .output, global: true)
    public static let json = OptionSpec("json", help: "short for --format json; every stderr line is then a JSON object too", group: .output, global: true)
    public static let output = OptionSpec("output", short: "o", kind: .value, meta: "FILE", help: "write the results to FILE (atomically) instead of stdout", group: .output, global: true)
    public static let summary = OptionSpec("summary", kind: .value, meta: "FILE", help: "when the command ends, write one JSON object to FILE: counts by outcome and each run", group: .output, global: true)
    public static let junit = OptionSpec("junit", kind: .value, meta: "FILE", help: "when the command ends, write a JUnit XML report to FILE: one test case per recording", group: .output, global: true)
    public static let quiet = OptionSpec("quiet", short: "q", help: "no progress and no notes; errors still print", group: .output, global: true)
    public static let noBands = OptionSpec("no-bands", help: "print scores without helios' rough-guide bands (text output)", group: .output, global: true)
    public static let verbose = OptionSpec("verbose", short: "v", help: "log each HTTP exchange on stderr, secrets redacted", group: .output, global: true)
    public static let color = OptionSpec("color", kind: .value, meta: "WHEN", help: "colour on stderr: auto, always or never", default: "auto", group: .output, global: true)
    public static let helpFlag = OptionSpec("help", short: "h", help: "show help for the command", group: .output, global: true)
    public static let dob = OptionSpec("dob", kind: .value, meta: "DATE", help: "date of birth: YYYY, YYYY-MM or YYYY-MM-DD (unknown parts become 01)", group: .run)
    public static let sex = OptionSpec("sex", kind: .value, meta: "SEX", help: "birth sex: MALE, FEMALE, INTERSEX or UNKNOWN (any case)", group: .run)
    public static let userLabel = OptionSpec("user-label", short: "u", kind: .value, meta: "LABEL", help: "your id for the person, 1-50 characters (default: a fresh UUID)", group: .run)
    public static let language = OptionSpec("language", short: "l", kind: .value, meta: "CODE", help: "BCP 47 language of the speech", default: "en-GB", group: .run)
    public static let accent = OptionSpec("accent", kind: .value, meta: "ACCENT", help: "accent in addition to the language: ID, NG or KE", group: .run)
    public static let sleepTime = OptionSpec("sleep-time", kind: .value, meta: "TIME", help: "local time the person fell asleep, e.g. 2026-11-24T23:10", group: .run)
    public static let wakeTime = OptionSpec("wake-time", kind: .value, meta: "TIME", help: "local time the person woke up", group: .run)
    public static let recordingTime = OptionSpec("recording-time", kind: .value, meta: "TIME", help: "local time the recording was made", group: .run)
    public static let tag = OptionSpec("tag", kind: .repeatable, meta: "NAME=VALUE", help: "label the run (repeatable, at most 20)", group: .run)
    public static let deleteData = OptionSpec("delete-data", help: "thymia deletes all the run's data 12 h after completion", group: .run)
    public static let deleteRecordings = OptionSpec("delete-recordings", help: "thymia deletes the recording 12 h after completion; results stay", group: .run)
    public static let contentType = OptionSpec("content-type", kind: .value, meta: "TYPE", help: "MIME type of the upload (default: from the detected format)", group: .run)
    public static let skipValidation = OptionSpec("skip-validation", help: "upload even when the local check rejects the recording", group: .run)
    public static let manifest = OptionSpec("manifest", kind: .value, meta: "FILE", help: "CSV or JSON Lines, one recording per row with its own user fields", group: .batch)
    public static let concurrency = OptionSpec("concurrency", kind: .value, meta: "N", help: "runs in flight at once", default: "4", group: .batch)
    public static let force = OptionSpec("force", help: "submit every recording afresh, even ones the journal has finished", group: .batch)
    public static let resume = OptionSpec("resume", help: "carry on the journal's runs for these files instead of creating fresh ones", group: .batch)
    public static let dryRun = OptionSpec("dry-run", help: "run every check and print what would be created and how many runs it costs; send nothing", group: .batch)
    public static let skipInvalid = OptionSpec("skip-invalid", help: "go on with the valid rows and recordings, report the others, exit 1 at the end", group: .batch)
    public static let retryFailed = OptionSpec("retry-failed", help: "on a resumed manifest, new runs for rows that ended with a retryable error (ERR_INTERNAL)", group: .batch)
    public static let pollInterval = OptionSpec("poll-interval", kind: .value, meta: "DUR", help: "time between status checks, at least 1s", default: "3s", group: .wait)
    public static let timeout = OptionSpec("timeout", kind: .value, meta: "DUR", help: "give up waiting for a run after DUR (exit 7); 0 waits forever", default: "15m", group: .wait)
    public static let pending = OptionSpec("pending", help: "every unfinished run in the local journal")
    public static let noWait = OptionSpec("no-wait", help: "stop after the upload, like 'helios upload'", group: .wait)
    public static let url = OptionSpec("url", kind: .value, meta: "UPLOAD_URL", help: "upload to the pre-signed URL of a run created elsewhere")
    public static let validateManifest = OptionSpec("manifest", kind: .value, meta: "FILE", help: "check a manifest's rows and their recordings", group: .batch)
    public static let runsPending = OptionSpec("pending", help: "only runs that have not finished")
    public static let user = OptionSpec("user", kind: .value, meta: "LABEL", help: "only runs for this user label")
    public static let status = OptionSpec("status", kind: .value, meta: "STATUS", help: "only runs with this status (COMPLETE_OK, COMPLETE_ERROR, RUNNING, UPLOADED, ...; any case)")
    public static let since = OptionSpec("since", kind: .value, meta: "WHEN", help: "only runs recorded at or after WHEN: a UTC date or date-time (2026-12-01, 2026-12-01T09:00), or a duration ago (24h)")
    public static let compact = OptionSpec("compact", help: "rewrite the journal keeping only the latest state of each run, then list as asked")
    /// `--version` (the parser's own: `helios --version`).
    public static let version = OptionSpec("version", help: "print the version", group: .output, global: true)
    /// `-V`: the version with the build and the libraries, as `helios version --verbose`.
    public static let versionVerbose = OptionSpec(
        "version-verbose", short: "V", help: "print the version, the build (commit, date, Swift) and the libraries' runtime versions",
        group: .output, global: true)
}

extension OptionSpec {
    /// `--name`, as messages quote it.
    public var flag: String { "--" + long }

    /// The same option with another help line (one name, two commands' wording).
    func with(help: String) -> OptionSpec {
        var copy = self
        copy.help = help
        return copy
    }
}

/// The defaults the option table states, typed once for the option structs.
enum Defaults {
    static let concurrency = Int(Opt.concurrency.defaultValue ?? "") ?? 4
    static let language = Opt.language.defaultValue ?? "en-GB"
    static let pollInterval = (try? ValueRules.duration(Opt.pollInterval.defaultValue ?? "").get()) ?? 3
    static let timeout = (try? ValueRules.duration(Opt.timeout.defaultValue ?? "").get()) ?? 900
}

/// The command-line contract of CLI.md as data: every command and option `helios` knows.
public enum CommandTable {
    public static let globalOptions: [OptionSpec] = [
        OptionSpec("api-key-file", kind: .value, meta: "PATH",
                   help: "read the API key from the first line of PATH", group: .auth, global: true),
        OptionSpec("api-key-stdin", help: "read the API key from standard input", group: .auth, global: true),
        OptionSpec("region", kind: .value, meta: "REGION",
                   help: "data region: default, ca or us (env THYMIA_REGION)", default: "default",
                   group: .endpoint, global: true),
        OptionSpec("base-url", kind: .value, meta: "URL",
                   help: "API base URL, overrides the region (env THYMIA_BASE_URL)", group: .endpoint, global: true),
        OptionSpec("format", kind: .value, meta: "FORMAT", help: "results as text, json (JSON Lines) or csv (a header row, one row per result)",
                   default: "text", group: .output, global: true),
        OptionSpec("json", help: "short for --format json; every stderr line is then a JSON object too", group: .output, global: true),
        OptionSpec("output", short: "o", kind: .value, meta: "FILE", help: "write the results to FILE (atomically) instead of stdout",
                   group: .output, global: true),
        OptionSpec("summary", kind: .value, meta: "FILE", help: "when the command ends, write one JSON object to FILE: counts by outcome and each run",
                   group: .output, global: true),
        OptionSpec("junit", kind: .value, meta: "FILE", help: "when the command ends, write a JUnit XML report to FILE: one test case per recording",
                   group: .output, global: true),
        OptionSpec("quiet", short: "q", help: "no progress and no notes; errors still print", group: .output, global: true),
        OptionSpec("no-bands", help: "print scores without helios' rough-guide bands (text output)", group: .output, global: true),
        OptionSpec("verbose", short: "v", help: "log each HTTP exchange on stderr, secrets redacted",
                   group: .output, global: true),
        OptionSpec("color", kind: .value, meta: "WHEN", help: "colour on stderr: auto, always or never",
                   default: "auto", group: .output, global: true),
        OptionSpec("help", short: "h", help: "show help for the command", group: .output, global: true),
    ]

    static let runOptions: [OptionSpec] = [
        OptionSpec("dob", kind: .value, meta: "DATE", help: "date of birth: YYYY, YYYY-MM or YYYY-MM-DD (unknown parts become 01)", group: .run),
        OptionSpec("sex", kind: .value, meta: "SEX", help: "birth sex: MALE, FEMALE, INTERSEX or UNKNOWN (any case)", group: .run),
        OptionSpec("user-label", short: "u", kind: .value, meta: "LABEL",
                   help: "your id for the person, 1-50 characters (default: a fresh UUID)", group: .run),
        OptionSpec("language", short: "l", kind: .value, meta: "CODE", help: "BCP 47 language of the speech",
                   default: "en-GB", group: .run),
        OptionSpec("accent", kind: .value, meta: "ACCENT", help: "accent in addition to the language: ID, NG or KE", group: .run),
        OptionSpec("sleep-time", kind: .value, meta: "TIME", help: "local time the person fell asleep, e.g. 2026-11-24T23:10", group: .run),
        OptionSpec("wake-time", kind: .value, meta: "TIME", help: "local time the person woke up", group: .run),
        OptionSpec("recording-time", kind: .value, meta: "TIME", help: "local time the recording was made", group: .run),
        OptionSpec("tag", kind: .repeatable, meta: "NAME=VALUE", help: "label the run (repeatable, at most 20)", group: .run),
        OptionSpec("delete-data", help: "thymia deletes all the run's data 12 h after completion", group: .run),
        OptionSpec("delete-recordings", help: "thymia deletes the recording 12 h after completion; results stay", group: .run),
        OptionSpec("content-type", kind: .value, meta: "TYPE", help: "MIME type of the upload (default: from the detected format)", group: .run),
        OptionSpec("skip-validation", help: "upload even when the local check rejects the recording", group: .run),
    ]

    static let batchOptions: [OptionSpec] = [
        OptionSpec("manifest", kind: .value, meta: "FILE", help: "CSV or JSON Lines, one recording per row with its own user fields", group: .batch),
        OptionSpec("concurrency", kind: .value, meta: "N", help: "runs in flight at once", default: "4", group: .batch),
        OptionSpec("force", help: "submit every recording afresh, even ones the journal has finished", group: .batch),
        OptionSpec("resume", help: "carry on the journal's runs for these files instead of creating fresh ones", group: .batch),
        OptionSpec("dry-run", help: "run every check and print what would be created and how many runs it costs; send nothing", group: .batch),
        OptionSpec("skip-invalid", help: "go on with the valid rows and recordings, report the others, exit 1 at the end", group: .batch),
        OptionSpec("retry-failed", help: "on a resumed manifest, new runs for rows that ended with a retryable error (ERR_INTERNAL)", group: .batch),
    ]

    static let pollInterval = OptionSpec("poll-interval", kind: .value, meta: "DUR",
                                         help: "time between status checks, at least 1s", default: "3s", group: .wait)
    static let timeout = OptionSpec("timeout", kind: .value, meta: "DUR",
                                    help: "give up waiting for a run after DUR (exit 7); 0 waits forever", default: "15m", group: .wait)
    static let pending = OptionSpec("pending", help: "every unfinished run in the local journal")

    public static let submit = CommandSpec(
        name: "submit", abstract: "check locally, create a run, upload, wait and print the results",
        positionals: "FILE...",
        options: runOptions + batchOptions + [
            pollInterval, timeout,
            OptionSpec("no-wait", help: "stop after the upload, like 'helios upload'", group: .wait),
        ],
        required: ["dob", "sex"],
        discussion: "Durations: 500ms, 3s, 2m, 1h, or a bare number of seconds; at most 168h."
    )

    public static let upload = CommandSpec(
        name: "upload", abstract: "check locally, create a run and upload; print run ids without waiting",
        positionals: "FILE...",
        forms: ["FILE... --dob DATE --sex SEX [options]", "FILE --url UPLOAD_URL [options]"],
        options: runOptions + batchOptions + [
            OptionSpec("url", kind: .value, meta: "UPLOAD_URL", help: "upload to the pre-signed URL of a run created elsewhere"),
        ],
        required: ["dob", "sex"]
    )

    public static let poll = CommandSpec(
        name: "poll", abstract: "wait until each run finishes and print its results",
        positionals: "RUN_ID... | -",
        options: [pending, pollInterval, timeout],
        discussion: "'-' reads run ids from standard input, one per line."
    )

    public static let status = CommandSpec(
        name: "status", abstract: "print each run's current state once, without waiting",
        positionals: "RUN_ID... | -",
        options: [pending],
        discussion: "'-' reads run ids from standard input, one per line."
    )

    public static let validate = CommandSpec(
        name: "validate", abstract: "check recordings locally; no key, no network",
        positionals: "FILE... | --manifest FILE",
        options: [OptionSpec("manifest", kind: .value, meta: "FILE", help: "check a manifest's rows and their recordings", group: .batch)]
            + runOptions.filter { ["dob", "sex", "language", "accent", "sleep-time", "wake-time", "recording-time", "tag"].contains($0.long) },
        discussion: "With --manifest, the run options fill the cells a row leaves empty, as they would for 'submit --manifest'."
    )

    public static let runs = CommandSpec(
        name: "runs", abstract: "list the runs in the local journal",
        options: [
            OptionSpec("pending", help: "only runs that have not finished"),
            OptionSpec("user", kind: .value, meta: "LABEL", help: "only runs for this user label"),
            OptionSpec("status", kind: .value, meta: "STATUS",
                       help: "only runs with this status (COMPLETE_OK, COMPLETE_ERROR, RUNNING, UPLOADED, ...; any case)"),
            OptionSpec("since", kind: .value, meta: "WHEN",
                       help: "only runs recorded at or after WHEN: a UTC date or date-time (2026-12-01, 2026-12-01T09:00), or a duration ago (24h)"),
            OptionSpec("compact", help: "rewrite the journal keeping only the latest state of each run, then list as asked"),
        ]
    )

    public static let help = CommandSpec(
        name: "help", abstract: "show help for a command or topic",
        positionals: "[COMMAND | exit-codes | environment | output]", options: []
    )

    public static let doctor = CommandSpec(
        name: "doctor", abstract: "check the key, endpoint, proxy, clock, journal and libraries; no run is created",
        options: [],
        discussion: "Exit 0 when the key is accepted (GET /v1/account), 4 when it is missing or refused, 6 when the API cannot be reached."
    )

    public static let commands: [CommandSpec] = [submit, upload, poll, status, validate, runs, doctor, help]

    public static func command(named name: String) -> CommandSpec? { commands.first { $0.name == name } }

    /// Help topics that are not commands.
    public static let topics = ["exit-codes", "environment", "output"]
}

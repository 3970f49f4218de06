/// The command-line contract of CLI.md as data: every command and option `helios` knows.
public enum CommandTable {
    public static let globalOptions: [OptionSpec] = [
        Opt.apiKeyFile,
        Opt.apiKeyStdin,
        Opt.region,
        Opt.baseUrl,
        Opt.format,
        Opt.json,
        Opt.output,
        Opt.summary,
        Opt.junit,
        Opt.quiet,
        Opt.noBands,
        Opt.verbose,
        Opt.color,
        Opt.helpFlag,
    ]

    static let runOptions: [OptionSpec] = [
        Opt.dob,
        Opt.sex,
        Opt.userLabel,
        Opt.language,
        Opt.accent,
        Opt.sleepTime,
        Opt.wakeTime,
        Opt.recordingTime,
        Opt.tag,
        Opt.deleteData,
        Opt.deleteRecordings,
        Opt.contentType,
        Opt.skipValidation,
    ]

    static let batchOptions: [OptionSpec] = [
        Opt.manifest,
        Opt.concurrency,
        Opt.force,
        Opt.resume,
        Opt.dryRun,
        Opt.skipInvalid,
        Opt.retryFailed,
    ]


    public static let submit = CommandSpec(
        name: "submit", abstract: "check locally, create a run, upload, wait and print the results",
        positionals: "FILE...",
        options: runOptions + batchOptions + [
            Opt.pollInterval, Opt.timeout,
            Opt.noWait,
        ],
        required: ["dob", "sex"],
        discussion: "Durations: 500ms, 3s, 2m, 1h, or a bare number of seconds; at most 168h."
    )

    public static let upload = CommandSpec(
        name: "upload", abstract: "check locally, create a run and upload; print run ids without waiting",
        positionals: "FILE...",
        forms: ["FILE... --dob DATE --sex SEX [options]", "FILE --url UPLOAD_URL [options]"],
        options: runOptions + batchOptions + [
            Opt.url,
        ],
        required: ["dob", "sex"]
    )

    public static let poll = CommandSpec(
        name: "poll", abstract: "wait until each run finishes and print its results",
        positionals: "RUN_ID... | -",
        options: [Opt.pending, Opt.pollInterval, Opt.timeout],
        discussion: "'-' reads run ids from standard input, one per line."
    )

    public static let status = CommandSpec(
        name: "status", abstract: "print each run's current state once, without waiting",
        positionals: "RUN_ID... | -",
        options: [Opt.pending],
        discussion: "'-' reads run ids from standard input, one per line."
    )

    public static let validate = CommandSpec(
        name: "validate", abstract: "check recordings locally; no key, no network",
        positionals: "FILE... | --manifest FILE",
        options: [Opt.validateManifest]
            + runOptions.filter { ["dob", "sex", "language", "accent", "sleep-time", "wake-time", "recording-time", "tag"].contains($0.long) },
        discussion: "With --manifest, the run options fill the cells a row leaves empty, as they would for 'submit --manifest'."
    )

    public static let runs = CommandSpec(
        name: "runs", abstract: "list the runs in the local journal",
        options: [
            Opt.runsPending,
            Opt.user,
            Opt.status,
            Opt.since,
            Opt.compact,
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

    public static let completion = CommandSpec(
        name: "completion", abstract: "print shell completions, generated from these option tables",
        positionals: "bash|zsh|fish", options: [],
        discussion: "bash: source <(helios completion bash); zsh: helios completion zsh > \"${fpath[1]}/_helios\"; fish: helios completion fish > ~/.config/fish/completions/helios.fish"
    )

    public static let version = CommandSpec(
        name: "version", abstract: "print the version; --verbose adds the build and the libraries helios runs on",
        options: [Opt.versionVerbose],
        discussion: "'helios --version' prints the one line; 'helios version --verbose' (or 'helios -V') adds the git commit, the build date, the Swift version and the runtime versions of libcurl (with its TLS library), libsndfile, libopus and FAAD2. With --json, one JSON object."
    )

    public static let commands: [CommandSpec] = [submit, upload, poll, status, validate, runs, doctor, completion, version, help]

    public static func command(named name: String) -> CommandSpec? { commands.first { $0.name == name } }

    /// Help topics that are not commands.
    public static let topics = ["exit-codes", "environment", "output"]
}

import Testing
import HeliosTestSupport
@testable import HeliosCore

private let today = "2026-11-25"

private func parse(_ line: String) throws(UsageError) -> Invocation {
    try Invocation.parse(line.split(separator: " ").map(String.init), today: today)
}

private func usageError(_ line: String) -> UsageError? {
    do {
        _ = try parse(line)
        return nil
    } catch {
        return error
    }
}

@Suite(.blocking) struct ParserErrorTests {
    /// Every usage error's exact message: the culprit named, the nearest spelling offered.
    @Test(arguments: [
        ("", "no command given"),
        ("submti a.wav", "unknown command 'submti'; did you mean 'submit'?"),
        ("valdiate a.wav", "unknown command 'valdiate'; did you mean 'validate'?"),
        ("frobnicate", "unknown command 'frobnicate'"),
        ("submit a.wav --dbo 1990 --sex male", "unknown option '--dbo' for 'helios submit'; did you mean '--dob'?"),
        ("submit a.wav --dob 1990 --sex male --delete-recording", "unknown option '--delete-recording' for 'helios submit'; did you mean '--delete-recordings'?"),
        ("poll --pendng", "unknown option '--pendng' for 'helios poll'; did you mean '--pending'?"),
        ("validate -x a.wav", "unknown option '-x' for 'helios validate'"),
        ("--jsn validate a.wav", "unknown option '--jsn'; did you mean '--json'?"),
        ("--dob 1990 submit a.wav", "unknown option '--dob'; did you mean 'helios submit … --dob'?"),
        ("submit a.wav --dob", "option '--dob' for 'helios submit' needs a value"),
        ("submit a.wav --dob 1990 --sex male -u", "option '-u' for 'helios submit' needs a value"),
        ("validate --json=yes a.wav", "option '--json' for 'helios validate' takes no value"),
        ("submit a.wav --dob 1990 --sex male --no-wait=1", "option '--no-wait' for 'helios submit' takes no value"),
        ("submit a.wav --sex male", "'helios submit' needs '--dob DATE'"),
        ("submit a.wav --dob 1990", "'helios submit' needs '--sex SEX'"),
        ("upload a.wav --dob 1990", "'helios upload' needs '--sex SEX'"),
        ("submit --dob 1990 --sex male", "'helios submit' needs at least one FILE (or --manifest FILE)"),
        ("validate", "'helios validate' needs at least one FILE (or --manifest FILE)"),
        ("poll", "'helios poll' needs RUN_ID..., '-' or --pending"),
        ("status", "'helios status' needs RUN_ID..., '-' or --pending"),
        ("runs extra", "unexpected argument 'extra' for 'helios runs'"),
        ("upload a.wav b.wav --url https://x/y", "unexpected argument 'b.wav' for 'helios upload'"),
        ("help submit poll", "unexpected argument 'poll' for 'helios help'"),
        ("help exti-codes", "no help topic 'exti-codes'; did you mean 'exit-codes'?"),
        ("help sbumit", "no help topic 'sbumit'; did you mean 'submit'?"),
        ("poll not-a-uuid", "invalid value 'not-a-uuid' for 'RUN_ID': a run id is a UUID such as 3f2b8c1e-6a4d-4e7b-9c0a-1d2e3f4a5b6c"),
        ("poll --pending 3f2b8c1e-6a4d-4e7b-9c0a-1d2e3f4a5b6c", "'--pending' and '3f2b8c1e-6a4d-4e7b-9c0a-1d2e3f4a5b6c' cannot be used together: give run ids or --pending, not both"),
        ("--api-key-stdin poll -", "'-' and '--api-key-stdin' cannot be used together: standard input can carry the key or the run ids, not both"),
        ("validate a.wav -q -v", "'--quiet' and '--verbose' cannot be used together: one silences what the other asks for"),
        ("validate a.wav --api-key-file k --api-key-stdin", "'--api-key-file' and '--api-key-stdin' cannot be used together: give the key one way"),
        ("submit a.wav --dob 1990 --sex male --delete-data --delete-recordings", "'--delete-data' and '--delete-recordings' cannot be used together: the first deletes everything, the second only the recording"),
        ("submit a.wav --dob 1990 --sex male --resume --force", "'--resume' and '--force' cannot be used together: --force submits afresh, --resume reuses the journal"),
        ("submit --manifest m.csv -u p1", "'--manifest' and '--user-label' cannot be used together: each row names its own person (a 'userLabel' column)"),
        ("upload a.wav --manifest m.csv", "'--manifest' and 'a.wav' cannot be used together: give the recordings in the manifest or on the command line, not both"),
        ("upload --url https://x/y", "'helios upload' needs the FILE to upload"),
        ("upload a.wav --url https://x/y --manifest m.csv", "'--url' and '--manifest' cannot be used together: a pre-signed URL takes exactly one recording"),
    ])
    func message(line: String, expected: String) {
        #expect(usageError(line)?.message == expected)
    }

    /// Every value rule, through the option that applies it.
    @Test(arguments: [
        ("--dob 90", "invalid value '90' for '--dob': expected YYYY, YYYY-MM or YYYY-MM-DD"),
        ("--dob 1990-13", "invalid value '1990-13' for '--dob': month 13 does not exist"),
        ("--dob 1990-02-30", "invalid value '1990-02-30' for '--dob': 1990-02 has no day 30"),
        ("--dob 2027", "invalid value '2027' for '--dob': date of birth is in the future"),
        ("--dob 2026-11-26", "invalid value '2026-11-26' for '--dob': date of birth is in the future"),
        ("--dob 1850", "invalid value '1850' for '--dob': a year before 1900 is not a plausible birth date"),
        ("--dob 1990-8-1", "invalid value '1990-8-1' for '--dob': expected YYYY, YYYY-MM or YYYY-MM-DD"),
        ("--sex woman", "invalid value 'woman' for '--sex': expected one of MALE, FEMALE, INTERSEX, UNKNOWN (any case)"),
        ("-u 123456789012345678901234567890123456789012345678901", "invalid value '123456789012345678901234567890123456789012345678901' for '--user-label': a user label has at most 50 characters (this one has 51)"),
        ("--language english", "invalid value 'english' for '--language': expected a BCP 47 language tag such as en-GB"),
        ("-l en_GB", "invalid value 'en_GB' for '--language': expected a BCP 47 language tag such as en-GB"),
        ("--accent US", "invalid value 'US' for '--accent': expected one of ID, NG, KE"),
        ("--sleep-time 2026-11-24T23:10Z", "invalid value '2026-11-24T23:10Z' for '--sleep-time': give the person's local time without a time zone (thymia reads it as local time), e.g. 2026-11-24T23:10"),
        ("--wake-time 2026-11-25T07:00:00+01:00", "invalid value '2026-11-25T07:00:00+01:00' for '--wake-time': give the person's local time without a time zone (thymia reads it as local time), e.g. 2026-11-24T23:10"),
        ("--recording-time 2026-11-25", "invalid value '2026-11-25' for '--recording-time': expected YYYY-MM-DDTHH:MM or YYYY-MM-DDTHH:MM:SS"),
        ("--recording-time 2026-02-29T10:00", "invalid value '2026-02-29T10:00' for '--recording-time': 2026-02-29T10:00 is not a real date and time"),
        ("--recording-time 2026-11-25T24:00", "invalid value '2026-11-25T24:00' for '--recording-time': 2026-11-25T24:00 is not a real date and time"),
        ("--tag site", "invalid value 'site' for '--tag': expected NAME=VALUE"),
        ("--tag =x", "invalid value '=x' for '--tag': a tag name has 1 to 40 characters"),
        ("--tag 12345678901234567890123456789012345678901=x", "invalid value '12345678901234567890123456789012345678901=x' for '--tag': a tag name has 1 to 40 characters"),
        ("--content-type audio", "invalid value 'audio' for '--content-type': expected a MIME type such as audio/wav"),
        ("--concurrency 0", "invalid value '0' for '--concurrency': expected a whole number from 1 to 64"),
        ("--concurrency many", "invalid value 'many' for '--concurrency': expected a whole number from 1 to 64"),
        ("--poll-interval 500ms", "invalid value '500ms' for '--poll-interval': at least 1s (thymia recommends 3s)"),
        ("--poll-interval fast", "invalid value 'fast' for '--poll-interval': expected a duration such as 500ms, 3s, 2m, 1h or a number of seconds"),
        ("--timeout -5", "invalid value '-5' for '--timeout': expected a duration such as 500ms, 3s, 2m, 1h or a number of seconds"),
        ("--poll-interval 99999999999", "invalid value '99999999999' for '--poll-interval': at most 168h (a week)"),
        ("--timeout 169h", "invalid value '169h' for '--timeout': at most 168h (a week)"),
        ("--region eu", "invalid value 'eu' for '--region': expected one of default, ca, us"),
        ("--color sometimes", "invalid value 'sometimes' for '--color': expected one of auto, always, never"),
    ])
    func valueRule(options: String, expected: String) {
        #expect(usageError("submit a.wav --dob 1990 --sex male " + options)?.message == expected)
    }

    @Test func tooManyTags() {
        let tags = (1...21).map { "--tag t\($0)=v" }.joined(separator: " ")
        #expect(usageError("submit a.wav --dob 1990 --sex male " + tags)?.message == "invalid value 't21=v' for '--tag': at most 20 tags per run (21 given)")
    }

    @Test func usageFailureCarriesTheCommandsUsageLine() {
        let failure = CLIFailure.usage(usageError("submit a.wav --dbo 1990")!)
        #expect(failure.exitCode == .usage)
        #expect(failure.hints.first == "usage: helios submit FILE... --dob DATE --sex SEX [options]")
    }
}

@Suite(.blocking) struct ParserAcceptanceTests {
    @Test func allSpellingsOfValuesAndGlobalsAnywhere() throws {
        let forms = [
            "submit a.wav --dob 1990-08 --sex female -u p1 --json",
            "--json submit a.wav --dob=1990-08 --sex=FEMALE --user-label=p1",
            "submit --json -u p1 --sex Female --dob 1990-08 a.wav",
            "submit -up1 --dob 1990-08 --sex FEMALE --json -- a.wav",
        ]
        for form in forms {
            let inv = try parse(form)
            #expect(inv.global.json, "\(form)")
            guard case .submit(let o) = inv.command else { Issue.record("not submit: \(form)"); continue }
            #expect(o.run.files == ["a.wav"], "\(form)")
            #expect(o.run.dateOfBirth == "1990-08-01")
            #expect(o.run.birthSex == .FEMALE)
            #expect(o.run.userLabel == "p1")
        }
    }

    @Test func doubleDashMakesOptionLikeFilesPositional() throws {
        guard case .validate(let o) = try parse("validate -- --weird.wav -").command else { Issue.record("not validate"); return }
        #expect(o.files == ["--weird.wav", "-"])
    }

    @Test func bundledShortFlagsAndDefaults() throws {
        let inv = try parse("-q submit a.wav b.wav --dob 1990 --sex unknown")
        #expect(inv.global.quiet)
        guard case .submit(let o) = inv.command else { Issue.record("not submit"); return }
        #expect(o.run.files == ["a.wav", "b.wav"])
        #expect(o.run.dateOfBirth == "1990-01-01")
        #expect(o.run.language == "en-GB")
        #expect(o.run.concurrency == 4)
        #expect(o.wait.pollInterval == 3)
        #expect(o.wait.timeout == 900)
    }

    @Test func noBandsIsAGlobalOutputFlagBeforeOrAfterTheCommand() throws {
        #expect(try parse("poll --no-bands 3f2b8c1e-6a4d-4e7b-9c0a-1d2e3f4a5b6c").global.noBands)
        #expect(try parse("--no-bands status 3f2b8c1e-6a4d-4e7b-9c0a-1d2e3f4a5b6c").global.noBands)
        #expect(try !parse("status 3f2b8c1e-6a4d-4e7b-9c0a-1d2e3f4a5b6c").global.noBands)
    }

    @Test func everyRunOptionIsTyped() throws {
        let line = "submit a.wav --dob 1990-08-24 --sex intersex -l pt-BR --accent ng --sleep-time 2026-11-24T23:10 --wake-time 2026-11-25T07:05:30 --recording-time 2026-11-25 09:00 --tag site=depot-7 --tag shift=early --delete-recordings --content-type audio/x-wav --skip-validation --concurrency 8 --poll-interval 2s --timeout 0 --no-wait"
        let args = line.split(separator: " ").map(String.init)
        // `--recording-time` with a space is two argv words here; rebuild it as one.
        var fixed = args
        if let i = fixed.firstIndex(of: "2026-11-25"), fixed[i - 1] == "--recording-time" {
            fixed[i] = "2026-11-25T09:00"
            fixed.remove(at: i + 1)
        }
        guard case .submit(let o) = try Invocation.parse(fixed, today: today).command else { Issue.record("not submit"); return }
        #expect(o.run.birthSex == .INTERSEX)
        #expect(o.run.language == "pt-BR")
        #expect(o.run.accent == "NG")
        #expect(o.run.sleepTime == "2026-11-24T23:10:00")
        #expect(o.run.wakeTime == "2026-11-25T07:05:30")
        #expect(o.run.recordingTime == "2026-11-25T09:00:00")
        #expect(o.run.tags == [.init(name: "site", value: "depot-7"), .init(name: "shift", value: "early")])
        #expect(o.run.deleteRecordings && !o.run.deleteData)
        #expect(o.run.contentType == "audio/x-wav")
        #expect(o.run.skipValidation)
        #expect(o.run.concurrency == 8)
        #expect(o.wait.pollInterval == 2 && o.wait.timeout == 0)
        #expect(o.noWait)
    }

    @Test func laterValueOverridesEarlier() throws {
        guard case .submit(let o) = try parse("submit a.wav --dob 1990 --sex male --language fr-FR --language de-DE").command else { Issue.record("not submit"); return }
        #expect(o.run.language == "de-DE")
    }

    @Test func manifestMakesUserFieldsOptional() throws {
        guard case .upload(let o) = try parse("upload --manifest study.csv").command else { Issue.record("not upload"); return }
        #expect(o.run.manifest == "study.csv" && o.run.files.isEmpty)
    }

    @Test func uploadToURLNeedsNoUserFields() throws {
        guard case .upload(let o) = try parse("upload a.wav --url https://store.example/x?sig=1").command else { Issue.record("not upload"); return }
        #expect(o.url == "https://store.example/x?sig=1")
    }

    @Test func runIdsFromArgumentsAndStdin() throws {
        guard case .poll(let o) = try parse("poll 3F2B8C1E-6A4D-4E7B-9C0A-1D2E3F4A5B6C - --timeout 2m").command else { Issue.record("not poll"); return }
        #expect(o.ids == ["3f2b8c1e-6a4d-4e7b-9c0a-1d2e3f4a5b6c"])
        #expect(o.idsFromStdin)
        #expect(o.wait.timeout == 120)
        guard case .status(let s) = try parse("status --pending").command else { Issue.record("not status"); return }
        #expect(s.pending && s.ids.isEmpty)
    }

    @Test func helpAndVersionWinOverMissingValues() throws {
        #expect(try parse("submit --help").command == .help("submit"))
        #expect(try parse("submit -h").command == .help("submit"))
        #expect(try parse("help poll").command == .help("poll"))
        #expect(try parse("help exit-codes").command == .help("exit-codes"))
        #expect(try parse("--help").command == .help(nil))
        #expect(try parse("help").command == .help(nil))
        #expect(try parse("--version").command == .version(verbose: false))
    }

    @Test func versionVerboseHasFourSpellings() throws {
        for line in ["-V", "version --verbose", "version -v", "version -V", "--version --verbose", "-v --version"] {
            #expect(try parse(line).command == .version(verbose: true), "\(line)")
        }
        #expect(try parse("version").command == .version(verbose: false))
        #expect(throws: UsageError.self) { try parse("version extra") }
    }

    @Test func globalsBeforeOrAfterTheCommand() throws {
        let a = try parse("--region ca -v --color never --api-key-file k validate x.wav")
        let b = try parse("validate x.wav --region=ca --verbose --color=never --api-key-file=k")
        #expect(a == b)
        #expect(a.global.region == .ca && a.global.verbose && a.global.color == .never && a.global.apiKeyFile == "k")
    }

    @Test(arguments: [
        ("500ms", 0.5), ("3s", 3.0), ("2m", 120.0), ("1h", 3600.0), ("42", 42.0), ("1.5s", 1.5), ("0", 0.0),
    ])
    func durations(text: String, seconds: Double) throws {
        #expect(try ValueRules.duration(text).get() == seconds)
    }

    @Test(arguments: ["en", "en-GB", "pt-BR", "zh-Hant-TW", "es-419", "sr-Latn-RS", "de-CH-1996"])
    func wellFormedLanguageTags(tag: String) {
        #expect((try? ValueRules.language(tag).get()) == tag)
    }

    @Test(arguments: [("1990", "1990-01-01"), ("1990-08", "1990-08-01"), ("2000-02-29", "2000-02-29"), ("2026-11-25", "2026-11-25")])
    func datesOfBirth(text: String, iso: String) {
        #expect((try? ValueRules.dateOfBirth(text, today: today).get()) == iso)
    }

    @Test(arguments: [("submti", "submit"), ("stauts", "status"), ("pol", "poll"), ("xyzzy", nil)] as [(String, String?)])
    func nearestCommandSpelling(word: String, expected: String?) {
        #expect(nearestSpelling(to: word, in: CommandTable.commands.map(\.name)) == expected)
    }
}

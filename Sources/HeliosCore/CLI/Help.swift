/// Help texts, rendered from the command tables (never written per option by hand).
public enum Help {
    public static func overview(version: String) -> String {
        var lines = [
            "helios \(version): submit recordings to thymia's Helios voice-biomarker API and read the scores.",
            "",
            "Usage:",
            "  helios COMMAND [options]",
            "",
            "Commands:",
        ]
        let width = CommandTable.commands.map(\.name.count).max() ?? 0
        for c in CommandTable.commands {
            lines.append("  \(Text.padded(c.name, to: width))  \(c.abstract)")
        }
        lines += ["", "Global options (before or after the command):"]
        lines += optionLines(CommandTable.globalOptions + ArgumentParser.versionOptions)
        lines += [
            "",
            "Example:",
            "  export THYMIA_API_KEY=...",
            "  helios submit interview.wav --dob 1990-08 --sex FEMALE",
            "",
            "Run 'helios help COMMAND' for a command's options; 'helios help exit-codes',",
            "'helios help environment' and 'helios help output' for the rest.",
        ]
        return lines.joined(separator: "\n") + "\n"
    }

    public static func command(_ spec: CommandSpec) -> String {
        var lines = ["helios \(spec.name): \(spec.abstract)", "", "Usage:"]
        lines += spec.usageLines.map { "  \($0)" }
        for group in OptionSpec.Group.allCases {
            let options = spec.options.filter { $0.group == group }
            guard !options.isEmpty else { continue }
            lines += ["", "\(group.rawValue):"]
            lines += optionLines(options)
        }
        if let discussion = spec.discussion { lines += ["", discussion] }
        lines += ["", "Global options (auth, endpoint, output) are listed by 'helios --help'."]
        return lines.joined(separator: "\n") + "\n"
    }

    public static func exitCodes() -> String {
        var lines = ["Exit codes:"]
        for code in ExitCode.allCases {
            lines.append("  \(Text.padded(String(code.rawValue), to: 4)) \(code.meaning)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    public static func environment() -> String {
        """
        Environment:
          THYMIA_API_KEY    the API key (or --api-key-file PATH, or --api-key-stdin); never printed or stored
          THYMIA_REGION     data region: default, ca or us (--region)
          THYMIA_BASE_URL   API base URL, overrides the region (--base-url); http:// only on loopback
          HELIOS_STATE_DIR  where the run journal runs.jsonl lives
                            (default $XDG_STATE_HOME/helios, else ~/.local/state/helios)
          NO_COLOR          when set, no colour whatever --color says, except --color always
          https_proxy, no_proxy, ...  libcurl's proxy variables are honoured

        """
    }

    public static func output() -> String {
        """
        Output:
          stdout carries results only; progress, notes, warnings and errors go to stderr.
          Text is the default. --json prints one JSON object per line (JSON Lines), a stable contract:

          validate:  {"schemaVersion":1,"file":...,"ok":true|false,"audio":{...},
                      "problems":[{"code":"TOO_LONG","message":"..."}],"warnings":[...]}
          runs:      {"schemaVersion":1,"file":...,"runId":...,"status":...,"userLabel":...,
                      "scores":{...}|null,"transcript":...|null,"warnings":[...],"error":null|{...},
                      "audio":{...}|null,"run":{...the API's model-run object...},
                      "tags":{"NAME":"VALUE",...},"manifestLine":N|null}

          audio:     {"format","durationSeconds","speechSeconds","sampleRate","channels","bytes","sha256"}

          --format csv prints a header row, then one row per result (RFC 4180, CRLF line ends; an
          empty cell is a missing value):
            submit, upload, poll, status:  file, manifestLine, userLabel, runId, status, errorCode,
                      mentalStrain, distress, stress, exhaustion, sleepPropensity, lowSelfEsteem,
                      uniformDistress, uniformStress, uniformExhaustion, uniformSleepPropensity,
                      uniformLowSelfEsteem, speechSeconds, durationSeconds, warnings, then one
                      tag:NAME column per tag name the command's rows use
            validate: file, ok, format, durationSeconds, speechSeconds, sampleRate, channels, bytes,
                      problems, warnings
            runs:     runId, time, file, manifestLine, userLabel, status, errorCode, the 11 scores, baseURL
          Text from outside has control characters escaped, and a cell that starts with = + - @
          (and is not a number) gets a leading ' so that a spreadsheet never runs it as a formula.

          --output FILE (-o) writes the results to FILE instead of stdout: to a temporary file
          beside it, renamed into place when the command ends (also after a failure or Ctrl-C,
          with the results of the runs that finished), mode 0600.

          CI reports, written when the command ends (whatever its exit code), mode 0600:
            --summary FILE  {"schemaVersion":1,"command":...,"exitCode":N,"total":N,
                             "counts":{"COMPLETE_OK":N,"COMPLETE_ERROR":N,"uploaded":N,"failed":N,
                                       "pending":N,"unconfirmed":N,"not-started":N,"skipped":N},
                             "items":[{"file","manifestLine","runId","outcome","errorCode","message"}...]}
            --junit FILE    JUnit XML, one test case per recording: COMPLETE_ERROR is a failure
                            (thymia's code and recommended action), a helios failure an error,
                            skipped rows and runs left pending or not started are skipped.

          Score bands (text only; --no-bands drops them): helios' own rough guide, one scale for
          all eleven scores: low under 0.25, mild under 0.5, elevated under 0.75, high from 0.75.
          thymia publishes no bands or thresholds; these are not thymia's and not clinical. The
          bucketed scores (distress, stress, exhaustion, sleepPropensity, lowSelfEsteem) take the
          values 0, 0.33, 0.66 and 1: low, mild, elevated, high. JSON and CSV carry the numbers only.

          Under --json every stderr line is one JSON object too:
            events:  {"event":"note","message":...}          what is happening (not under --quiet)
                     {"event":"warning","message":...,"file":...,"code":...}
                     {"event":"rejected","message":...,"file":...,"problems":[...]}
                     {"event":"skipped","message":...,"file":...,"problems":[...],"manifestLine":N}  (--skip-invalid)
                     {"event":"retry","message":...,"attempt":N,"delaySeconds":S}  (not under --quiet)
                     {"event":"progress","message":...}      off a terminal (not under --quiet)
                     {"event":"http","message":...}          with -v, secrets redacted
            resume:  {"resume":"helios ..."}
            failure: {"error":{"kind":"auth","message":"...","exitCode":4,"runId":...,"resume":...}}
                     (the last line when a failure ends the command)

        """
    }

    static func optionLines(_ options: [OptionSpec]) -> [String] {
        let width = min(34, options.map(\.synopsis.count).max() ?? 0)
        return options.map { o in
            var line = "  " + Text.padded(o.synopsis, to: max(width, o.synopsis.count)) + "  " + o.help
            if let d = o.defaultValue { line += " (default: \(d))" }
            if o.kind == .repeatable, !o.help.contains("repeatable") { line += " (repeatable)" }
            return line
        }
    }
}

import Foundation
import HeliosCore
import HeliosTestSupport
import Testing

/// The real binary's usage behaviour: stdout, stderr and exit status asserted apart.
@Suite(.blocking) struct UsageCLITests {
    /// `-` and --api-key-stdin with a terminal on stdin refuse at once (exit 2, naming what to
    /// do) instead of waiting, silently, for input typed by hand. The terminal is a real
    /// pseudo-terminal; the 20 s timeout is only a hang guard.
    @Test(arguments: [
        (["poll", "-"], "'-' reads run ids from standard input, which is a terminal", "line 1 of standard input is not a run id"),
        (["status", "-"], "'-' reads run ids from standard input, which is a terminal", "line 1 of standard input is not a run id"),
        (["status", "3f2b8c1e-6a4d-4e7b-9c0a-1d2e3f4a5b6c", "--api-key-stdin"], "--api-key-stdin reads the key from standard input, which is a terminal",
         "the API key contains control characters, spaces"),
    ])
    func stdinThatIsATerminalIsRefusedAtOnce(arguments: [String], refusal: String, pipedAnswer: String) throws {
        let r = try CommandRunner.helios(arguments + ["--base-url", "http://127.0.0.1:9"], environment: ["THYMIA_API_KEY": "k"],
                                         timeout: 20, stdinIsTerminal: true)
        #expect(r.status == 2, "\(r.stderr)")
        #expect(r.stderr.hasPrefix("error: " + refusal), "\(r.stderr)")
        // Piped, stdin is read: what it holds (not an id, not a usable key) is what is refused.
        let piped = try CommandRunner.helios(arguments + ["--base-url", "http://127.0.0.1:9"], environment: ["THYMIA_API_KEY": "k"],
                                             stdin: "not an id or a key\n", timeout: 20)
        #expect(piped.stderr.hasPrefix("error: " + pipedAnswer), "\(piped.stderr)")
    }

    @Test func mistypedCommandSuggestsAndExits2() throws {
        let r = try CommandRunner.helios(["submti", "a.wav"])
        #expect(r.status == 2)
        #expect(r.stdout.isEmpty)
        #expect(r.stderr.hasPrefix("error: unknown command 'submti'; did you mean 'submit'?\n"))
        #expect(r.stderr.contains("usage: helios COMMAND [options]"))
    }

    @Test func mistypedOptionNamesCommandUsage() throws {
        let r = try CommandRunner.helios(["submit", "a.wav", "--dbo", "1990", "--sex", "male"])
        #expect(r.status == 2)
        #expect(r.stdout.isEmpty)
        #expect(r.stderr == """
            error: unknown option '--dbo' for 'helios submit'; did you mean '--dob'?
            usage: helios submit FILE... --dob DATE --sex SEX [options]
            Run 'helios help submit' for all options.

            """)
    }

    @Test func usageErrorUnderJSONIsOneObjectOnStderr() throws {
        let r = try CommandRunner.helios(["submit", "a.wav", "--json", "--dob", "1990-13", "--sex", "male"])
        #expect(r.status == 2)
        #expect(r.stdout.isEmpty)
        let object = try JSONSerialization.jsonObject(with: Data(r.stderr.utf8)) as? [String: Any]
        let error = try #require(object?["error"] as? [String: Any])
        #expect(error["kind"] as? String == "usage")
        #expect(error["exitCode"] as? Int == 2)
        #expect(error["message"] as? String == "invalid value '1990-13' for '--dob': month 13 does not exist")
    }

    @Test func helpGoesToStdoutWithStatus0() throws {
        for args in [["--help"], ["help"], ["-h"]] {
            let r = try CommandRunner.helios(args)
            #expect(r.status == 0)
            #expect(r.stderr.isEmpty)
            for name in ["submit", "upload", "poll", "status", "validate", "runs", "help"] { #expect(r.stdout.contains("  \(name) ")) }
        }
        let sub = try CommandRunner.helios(["help", "submit"])
        #expect(sub.status == 0 && sub.stdout.contains("--dob DATE") && sub.stdout.contains("--poll-interval DUR"))
        let same = try CommandRunner.helios(["submit", "--help"])
        #expect(same.stdout == sub.stdout)
    }

    @Test func helpTopics() throws {
        let codes = try CommandRunner.helios(["help", "exit-codes"])
        #expect(codes.status == 0)
        #expect(codes.stdout.contains("130  interrupted"))
        let env = try CommandRunner.helios(["help", "environment"])
        #expect(env.stdout.contains("THYMIA_API_KEY") && env.stdout.contains("HELIOS_STATE_DIR") && env.stdout.contains("NO_COLOR"))
        let output = try CommandRunner.helios(["help", "output"])
        #expect(output.stdout.contains("schemaVersion"))
    }

    @Test func versionLine() throws {
        let r = try CommandRunner.helios(["--version"])
        #expect(r.status == 0)
        #expect(r.stdout.wholeMatch(of: /helios \d+\.\d+\.\d+\n/) != nil)
    }

    /// `-V`: the build and the libraries loaded at run time (libcurl's as `curl --version` reports
    /// the same shared library), as text and as one JSON object.
    @Test func versionVerboseNamesTheBuildAndTheRuntimeLibraries() throws {
        let text = try CommandRunner.helios(["-V"])
        #expect(text.status == 0)
        for row in ["commit:", "built:", "swift:", "libcurl:", "libsndfile:", "libopus:", "faad2:"] {
            #expect(text.stdout.contains("\n  \(row)"), "\(row) in \(text.stdout)")
        }
        let json = try CommandRunner.helios(["version", "--verbose", "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let libraries = try #require(object["libraries"] as? [String: String])
        #expect(Set(libraries.keys) == ["libcurl", "tls", "libsndfile", "libopus", "faad2"])
        #expect(libraries["libsndfile"]?.hasPrefix("libsndfile-") == true)
        #expect(libraries["libopus"]?.hasPrefix("libopus ") == true)
        #expect(libraries["tls"]?.hasPrefix("OpenSSL/") == true)
        let curl = try CommandRunner.run("/usr/bin/curl", ["--version"])
        #expect(curl.stdout.contains("libcurl/\(libraries["libcurl"] ?? "?") "), "\(curl.stdout)")
        #expect((object["version"] as? String)?.isEmpty == false)
        #expect(object["commit"] is String && object["buildDate"] is String && object["swift"] is String)
    }

    @Test func noCommandIsAUsageError() throws {
        let r = try CommandRunner.helios([])
        #expect(r.status == 2)
        #expect(r.stdout.isEmpty)
        #expect(r.stderr.hasPrefix("error: no command given\n"))
    }
}

/// `helios doctor` end to end: the real binary, libcurl and the emulator's account endpoint.
@Suite(.blocking) struct DoctorCLITests {
    @Test func doctorAgainstTheEmulatorIsReady() throws {
        let h = try RunHarness()
        let r = try h.helios(["doctor"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("accepted: account emulator-account"), "\(r.stdout)")
        #expect(r.stdout.contains("TLS        none: http to this machine only"))
        // The emulator dates its answers: the clock check ran (this machine against itself).
        #expect(r.stdout.contains("(fine)"), "\(r.stdout)")
        let refused = try h.helios(["doctor"], env: ["THYMIA_API_KEY": "wrong"])
        #expect(refused.status == 4)
        let down = try CommandRunner.helios(["doctor", "--base-url", "http://127.0.0.1:9"], environment: ["THYMIA_API_KEY": "k"])
        #expect(down.status == 6, "\(down.stderr)")
    }
}

/// `helios completion bash|zsh|fish`, generated from the option tables: every command and option
/// appears in each, and bash's really completes (sourced by bash, driven as readline would).
@Suite(.blocking) struct CompletionCLITests {
    @Test(arguments: ["bash", "zsh", "fish"])
    func everyCommandAndOptionOfTheTablesIsInTheScript(shell: String) throws {
        let r = try CommandRunner.helios(["completion", shell])
        #expect(r.status == 0, "\(r.stderr)")
        for command in CommandTable.commands {
            #expect(r.stdout.contains(command.name), "\(shell): \(command.name)")
            for option in command.allOptions {
                let spelled = shell == "fish" ? "-l \(option.long)" : "--\(option.long)"
                #expect(r.stdout.contains(spelled), "\(shell): \(command.name) \(spelled)")
            }
        }
    }

    @Test func bashCompletesCommandsOptionsAndValues() throws {
        let script = try CommandRunner.helios(["completion", "bash"]).stdout
        let path = TestPaths.makeTempDir("helios-completion") + "/helios.bash"
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        func complete(_ words: [String]) throws -> [String] {
            let array = words.map { "'\($0)'" }.joined(separator: " ")
            let r = try CommandRunner.run("/bin/bash", ["-c", "source '\(path)'; COMP_WORDS=(\(array)); COMP_CWORD=\(words.count - 1); _helios; printf '%s\\n' \"${COMPREPLY[@]}\""])
            #expect(r.status == 0, "\(r.stderr)")
            return r.stdout.split(separator: "\n").map(String.init)
        }
        #expect(try complete(["helios", "sub"]) == ["submit"])
        #expect(try complete(["helios", "submit", "--so"]).isEmpty)
        #expect(try complete(["helios", "submit", "--dr"]) == ["--dry-run"])
        #expect(try complete(["helios", "submit", "--sex", ""]) == ["MALE", "FEMALE", "INTERSEX", "UNKNOWN"])
        #expect(try complete(["helios", "runs", "--format", "c"]) == ["csv"])
        #expect(try complete(["helios", "completion", "--"]).contains("--json"))
    }

    @Test func anUnknownShellIsAUsageError() throws {
        let r = try CommandRunner.helios(["completion", "tcsh"])
        #expect(r.status == 2)
        #expect(r.stderr.hasPrefix("error: invalid value 'tcsh' for 'SHELL': expected one of bash, zsh, fish"), "\(r.stderr)")
    }
}

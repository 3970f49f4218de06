import Foundation
import HeliosTestSupport
import Testing

/// The real binary's usage behaviour: stdout, stderr and exit status asserted apart.
@Suite(.blocking) struct UsageCLITests {
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

    @Test func noCommandIsAUsageError() throws {
        let r = try CommandRunner.helios([])
        #expect(r.status == 2)
        #expect(r.stdout.isEmpty)
        #expect(r.stderr.hasPrefix("error: no command given\n"))
    }
}

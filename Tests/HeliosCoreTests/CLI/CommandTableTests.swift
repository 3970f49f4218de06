import Foundation
import Testing
import HeliosTestSupport
@testable import HeliosCore

/// The tables themselves (git's parse_options_check): a broken table breaks help and parsing alike.
@Suite(.blocking) struct CommandTableTests {
    @Test(arguments: CommandTable.commands.map(\.name))
    func commandHasAbstractAndUniqueOptionNames(name: String) throws {
        let spec = try #require(CommandTable.command(named: name))
        #expect(!spec.abstract.isEmpty)
        let longs = spec.allOptions.map(\.long)
        #expect(Set(longs).count == longs.count, "duplicate long option in \(name): \(longs)")
        let shorts = spec.allOptions.compactMap(\.short)
        #expect(Set(shorts).count == shorts.count, "duplicate short option in \(name)")
        for option in spec.allOptions {
            #expect(!option.help.isEmpty, "--\(option.long) has no help")
            #expect(option.takesValue == (option.meta != nil), "--\(option.long): a value option needs a meta name, a flag none")
            #expect(option.long.allSatisfy { $0.isLowercase || $0 == "-" }, "--\(option.long) is not kebab-case")
        }
        for required in spec.required { #expect(spec.option(long: required) != nil, "\(name) requires unknown --\(required)") }
    }

    @Test func commandNamesAreUniqueAndCoverCLIContract() {
        let names = CommandTable.commands.map(\.name)
        #expect(Set(names).count == names.count)
        #expect(Set(names) == ["submit", "upload", "poll", "status", "validate", "runs", "doctor", "completion", "version", "help"])
    }

    @Test func overviewListsEveryCommandAndGlobalOption() {
        let text = Help.overview(version: "9.9")
        for c in CommandTable.commands { #expect(text.contains("  \(c.name) ")) }
        for o in CommandTable.globalOptions { #expect(text.contains("--\(o.long)")) }
        #expect(text.contains("--version"))
    }

    @Test(arguments: CommandTable.commands.map(\.name))
    func commandHelpListsEveryOwnOption(name: String) throws {
        let spec = try #require(CommandTable.command(named: name))
        let text = Help.command(spec)
        for line in spec.usageLines { #expect(text.contains(line)) }
        for o in spec.options { #expect(text.contains(o.synopsis.trimmingCharacters(in: .whitespaces)), "\(name) help lacks --\(o.long)") }
    }

    @Test func exitCodeHelpIsTheContractTable() {
        let text = Help.exitCodes()
        for code in [0, 1, 2, 3, 4, 5, 6, 7, 130] { #expect(text.contains("  \(code) ")) }
    }
}

/// Issue 12: the option table is the one place an option's name and default are written. The
/// CLI's sources spell no option name again (`--name` or a bare table key), outside the table,
/// help prose and comments; defaults come from the table.
@Suite(.blocking) struct OptionTableSourceTests {
    @Test func noOptionNameIsSpelledOutsideTheTable() throws {
        let names = Set(CommandTable.commands.flatMap(\.allOptions).map(\.long) + [Opt.version.long])
        let dir = TestPaths.packageRoot.appendingPathComponent("Sources/HeliosCore/CLI").path
        var offences: [String] = []
        for file in try FileManager.default.contentsOfDirectory(atPath: dir).sorted() where file.hasSuffix(".swift") {
            // The table itself, and help texts written for people (their prose names options).
            if ["Options.swift", "Help.swift", "CommandTable.swift"].contains(file) { continue }
            let text = try String(contentsOfFile: dir + "/" + file, encoding: .utf8)
            for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let code = line.components(separatedBy: "//").first ?? ""
                // Only string literals that are exactly an option: "--name" or "name" in a lookup.
                for name in names where code.contains("\"--\(name)\"") || code.contains("(\"\(name)\")") {
                    offences.append("\(file):\(n + 1): \(name)")
                }
            }
        }
        #expect(offences.isEmpty, "\(offences)")
    }

    @Test func theStructDefaultsAreTheTablesDefaults() {
        #expect(RunOptions().concurrency == Int(Opt.concurrency.defaultValue ?? ""))
        #expect(RunOptions().language == Opt.language.defaultValue)
        #expect(WaitOptions().pollInterval == 3 && Opt.pollInterval.defaultValue == "3s")
        #expect(WaitOptions().timeout == 900 && Opt.timeout.defaultValue == "15m")
    }
}

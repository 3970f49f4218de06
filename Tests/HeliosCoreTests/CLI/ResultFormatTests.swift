import Foundation
import Testing
@testable import HeliosCore
import HeliosTestSupport

/// Issue 12: results as a table (`--format csv`), tags and the manifest line in JSON and CSV,
/// `--output FILE` written atomically; driven through `HeliosCLI.run` against the fake thymia.
@Suite(.blocking) struct ResultFormatTests {
    static let wait = LifecycleRuleTests.wait

    /// A world with three recordings in a CSV manifest; rows 2 and 4 are tagged, row 3 is not.
    static func study() throws -> (RunWorld, manifest: String, files: [String]) {
        let (world, files) = try LifecycleRuleTests.world(3)
        let manifest = world.dir + "/study.csv"
        let csv = "file,userLabel,dob,sex,tag:site,tag:arm\n"
            + "\(files[0]),p1,1980,MALE,\"London, UK\",=1+1\n"
            + "\(files[1]),p2,1981-02,FEMALE,,\n"
            + "\(files[2]),p3,1982,UNKNOWN,Leeds,b\n"
        try csv.write(toFile: manifest, atomically: true, encoding: .utf8)
        return (world, manifest, files)
    }

    /// Parses RFC 4180 CSV (quoted fields, doubled quotes, CRLF) into rows of cells.
    static func parseCSV(_ text: String) -> [[String]] {
        var rows: [[String]] = [], row: [String] = [], cell = ""
        var quoted = false
        var chars = Array(text)[...]
        while let c = chars.popFirst() {
            if quoted {
                if c == "\"" {
                    if chars.first == "\"" { cell.append("\""); chars.removeFirst() } else { quoted = false }
                } else { cell.append(c) }
            } else if c == "\"" {
                quoted = true
            } else if c == "," {
                row.append(cell); cell = ""
            } else if c == "\r\n" || c == "\n" {
                row.append(cell); rows.append(row); row = []; cell = ""
            } else {
                cell.append(c)
            }
        }
        if !cell.isEmpty || !row.isEmpty { row.append(cell); rows.append(row) }
        return rows
    }

    @Test func aStudyAsCSVHasAHeaderAndOneRowPerRunWithScoresAndTags() throws {
        let (world, manifest, files) = try Self.study()
        let r = world.run(["submit", "--manifest", manifest, "--format", "csv", "--concurrency", "1"] + Self.wait)
        #expect(r.status == 0, "\(r.stderr)")
        let rows = Self.parseCSV(r.stdout)
        let header = try #require(rows.first)
        #expect(header == ResultRenderer.runColumns + ["tag:site", "tag:arm"])
        #expect(rows.count == 4, "\(r.stdout)")
        let byFile = Dictionary(uniqueKeysWithValues: rows.dropFirst().map { (Text.lastPathComponent($0[0]), $0) })
        let first = try #require(byFile[Text.lastPathComponent(files[0])])
        func cell(_ row: [String], _ name: String) -> String { row[header.firstIndex(of: name)!] }
        #expect(cell(first, "manifestLine") == "2" && cell(first, "userLabel") == "p1" && cell(first, "status") == "COMPLETE_OK")
        // The fake scores distress and stress only: the other score cells are empty, not 0.
        #expect(cell(first, "distress") == "0.33" && cell(first, "stress") == "0.66", "\(first)")
        #expect(cell(first, "uniformStress").isEmpty && cell(first, "mentalStrain").isEmpty)
        #expect(Double(cell(first, "speechSeconds")) != nil && Double(cell(first, "durationSeconds")) != nil)
        // A comma inside a quoted cell survives; a formula is data, not a formula.
        #expect(cell(first, "tag:site") == "London, UK")
        #expect(cell(first, "tag:arm") == "'=1+1")
        let second = try #require(byFile[Text.lastPathComponent(files[1])])
        #expect(cell(second, "manifestLine") == "3" && cell(second, "tag:site").isEmpty)
        // CSV on stdout means no colour and no text blocks.
        #expect(!r.stdout.contains("\u{1B}[") && !r.stdout.contains("rough guide"))
    }

    @Test func jsonResultsCarryTagsAndTheManifestLine() throws {
        let (world, manifest, _) = try Self.study()
        let r = world.run(["submit", "--manifest", manifest, "--json"] + Self.wait)
        #expect(r.status == 0, "\(r.stderr)")
        let results = try r.stdout.split(separator: "\n").map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        #expect(results.count == 3)
        let p1 = try #require(results.first { $0["userLabel"] as? String == "p1" })
        #expect(p1["manifestLine"] as? Int == 2)
        #expect(p1["tags"] as? [String: String] == ["site": "London, UK", "arm": "=1+1"])
        let p2 = try #require(results.first { $0["userLabel"] as? String == "p2" })
        #expect(p2["tags"] as? [String: String] == [:])
        // Files named on the command line have no manifest line.
        let (other, files) = try LifecycleRuleTests.world()
        let plain = other.run(["submit"] + files + LifecycleRuleTests.person + Self.wait + ["--json", "--tag", "visit=1"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(plain.stdout.utf8)) as? [String: Any])
        #expect(object["manifestLine"] is NSNull && object["tags"] as? [String: String] == ["visit": "1"], "\(object)")
    }

    @Test func outputFileGetsTheResultsAtomicallyAndStdoutNone() throws {
        let (world, manifest, _) = try Self.study()
        let target = world.dir + "/results.csv"
        let r = world.run(["submit", "--manifest", manifest, "--format", "csv", "-o", target] + Self.wait)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.isEmpty)
        let written = try String(contentsOfFile: target, encoding: .utf8)
        #expect(Self.parseCSV(written).count == 4)
        let attributes = try FileManager.default.attributesOfItem(atPath: target)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        // No temporary file is left beside it.
        #expect(try FileManager.default.contentsOfDirectory(atPath: world.dir).filter { $0.contains(".helios-") }.isEmpty)
    }

    @Test func anInterruptedBatchStillLeavesTheResultsOfFinishedRuns() throws {
        let (world, manifest, _) = try Self.study()
        let target = world.dir + "/partial.jsonl"
        let cancellation = Cancellation()
        // Ctrl-C as the second run is being created: the first has finished and printed.
        world.server.rewrite = { route, nth, honest in
            if route == "create", nth == 1 { cancellation.request() }
            return honest
        }
        let r = world.run(["submit", "--manifest", manifest, "--json", "--concurrency", "1", "--output", target] + Self.wait,
                          cancellation: cancellation)
        #expect(r.status == ExitCode.interrupted.rawValue, "\(r.stderr)")
        let lines = try String(contentsOfFile: target, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 1, "\(lines)")
    }

    @Test func aCommandThatWritesNothingLeavesTheOutputFileAsItWas() throws {
        let (world, manifest, _) = try Self.study()
        let target = world.dir + "/results.csv"
        try "the last study's results\n".write(toFile: target, atomically: true, encoding: .utf8)
        let typo = world.run(["submit", "--manifest", manifest, "--output", target, "--concurrency", "0"] + Self.wait)
        #expect(typo.status == ExitCode.usage.rawValue)
        let rejected = world.run(["submit", world.dir + "/gone.wav", "--dob", "1980", "--sex", "male", "--json", "-o", target])
        #expect(rejected.status == ExitCode.recordingRejected.rawValue)
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "the last study's results\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: world.dir).filter { $0.contains(".helios-") }.isEmpty)
    }

    @Test func anUnwritableOutputFileIsAUsageErrorBeforeAnythingIsSent() throws {
        let (world, manifest, _) = try Self.study()
        let r = world.run(["submit", "--manifest", manifest, "--output", world.dir + "/no/such/dir/results.csv"] + Self.wait)
        #expect(r.status == ExitCode.usage.rawValue)
        #expect(r.stderr.contains("cannot write the results to"), "\(r.stderr)")
        #expect(world.server.runs.isEmpty)
    }

    @Test func validateAndRunsPrintCSVToo() throws {
        let (world, manifest, files) = try Self.study()
        let v = world.run(["validate", files[0], world.dir + "/missing.wav", "--format", "csv"])
        #expect(v.status == ExitCode.recordingRejected.rawValue)
        let rows = Self.parseCSV(v.stdout)
        #expect(rows.first == ResultRenderer.validationColumns)
        #expect(rows.count == 3 && rows[1][1] == "true" && rows[2][1] == "false" && rows[2][8].hasPrefix("NOT_FOUND"), "\(rows)")

        #expect(world.run(["submit", "--manifest", manifest] + Self.wait).status == 0)
        let runs = world.run(["runs", "--format", "csv"])
        let table = Self.parseCSV(runs.stdout)
        #expect(table.first == ResultRenderer.journalColumns)
        #expect(table.count == 4, "\(runs.stdout)")
        let header = table[0]
        for row in table.dropFirst() {
            #expect(row[header.firstIndex(of: "status")!] == "COMPLETE_OK")
            #expect(row[header.firstIndex(of: "distress")!] == "0.33", "scores in runs: \(row)")
        }
    }

    @Test func runsFiltersByUserStatusAndTimeAndShowsScores() throws {
        let (world, manifest, _) = try Self.study()
        #expect(world.run(["submit", "--manifest", manifest] + Self.wait).status == 0)
        let all = world.run(["runs"])
        let lines = all.stdout.split(separator: "\n")
        #expect(lines.count == 4, "\(all.stdout)")
        #expect(lines[0].contains("DISTRESS") && lines[1].contains("0.33") && lines[1].contains("0.66"), "\(all.stdout)")
        let p2 = world.run(["runs", "--user", "p2", "--json"])
        let objects = p2.stdout.split(separator: "\n")
        #expect(objects.count == 1 && objects[0].contains("\"userLabel\":\"p2\""), "\(p2.stdout)")
        #expect(world.run(["runs", "--status", "complete_ok", "--json"]).stdout.split(separator: "\n").count == 3)
        let none = world.run(["runs", "--status", "RUNNING"])
        #expect(none.stdout.isEmpty && none.stderr.contains("no runs match"), "\(none.stderr)")
        #expect(world.run(["runs", "--since", "2000-01-01", "--json"]).stdout.split(separator: "\n").count == 3)
        #expect(world.run(["runs", "--since", "2999-01-01T00:00", "--json"]).stdout.isEmpty)
        let bad = world.run(["runs", "--since", "yesterday"])
        #expect(bad.status == ExitCode.usage.rawValue && bad.stderr.contains("invalid value 'yesterday' for '--since'"), "\(bad.stderr)")
    }

    @Test(arguments: [
        ("2026-12-01", RunsOptions.Since.at("2026-12-01T00:00:00Z")),
        ("2026-12-01T09:30", .at("2026-12-01T09:30:00Z")),
        ("2026-12-01T09:30:15Z", .at("2026-12-01T09:30:15Z")),
        ("24h", .ago(seconds: 86_400)),
        ("90", .ago(seconds: 90)),
    ])
    func sinceTakesDatesTimesAndDurations(text: String, since: RunsOptions.Since) throws {
        #expect(try RunsOptions.since(text).get() == since)
    }

    @Test func csvCellsAreQuotedEscapedAndNeverFormulas() {
        let line = ResultRenderer.csvLine(["a,b", "say \"hi\"", "two\nlines", "=SUM(A1)", "-0.5", "@home", "+1 800", nil, "plain", "\u{1B}[31mred"])
        #expect(line == "\"a,b\",\"say \"\"hi\"\"\",two\\nlines,'=SUM(A1),-0.5,'@home,'+1 800,,plain,\\x1b[31mred\r\n", "\(line)")
        let cells = Self.parseCSV(line)[0]
        #expect(cells[0] == "a,b" && cells[1] == "say \"hi\"")
        #expect(cells[3] == "'=SUM(A1)" && cells[4] == "-0.5" && cells[5] == "'@home" && cells[6] == "'+1 800")
        #expect(cells[7].isEmpty && cells[8] == "plain")
        #expect(!cells.joined().contains("\u{1B}") && !cells.joined().contains("\n"))
    }

    @Test(arguments: [
        ("validate a.wav --json --format csv", "'--json' and '--format csv' cannot be used together"),
        ("validate a.wav --format xml", "invalid value 'xml' for '--format': expected one of text, json, csv"),
        ("validate a.wav --output -", "invalid value '-' for '--output'"),
    ])
    func formatAndOutputMistakesAreUsageErrors(line: String, message: String) {
        let r = RunWorld().run(line.split(separator: " ").map(String.init))
        #expect(r.status == ExitCode.usage.rawValue)
        #expect(r.stderr.contains(message), "\(r.stderr)")
    }
}

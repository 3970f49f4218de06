import Foundation
import Testing
import HeliosTestSupport
@testable import HeliosCore

private let today = "2026-11-25"

/// The run options a command line gives, parsed by the real parser so defaults are what users get.
private func options(_ line: String) throws -> RunOptions {
    let args = ["submit", "--manifest", "m.csv"] + line.split(separator: " ").map(String.init)
    guard case .submit(let o) = try Invocation.parse(args, today: today).command else {
        Issue.record("not a submit command")
        return RunOptions()
    }
    return o.run
}

/// Writes `content` at `name` inside a fresh directory and loads it; `$DIR` in messages and
/// expected paths stands for that directory.
private func load(_ name: String, _ content: [UInt8]?, options line: String = "") throws -> (dir: String, result: Result<[ManifestRow], ManifestError>) {
    let dir = TestPaths.makeTempDir("helios-manifest")
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let path = "\(dir)/\(name)"
    if let content {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(content).write(to: URL(fileURLWithPath: path))
    }
    let defaults = try options(line)
    do {
        return (dir, .success(try Manifest.load(path: path, defaults: defaults, today: today)))
    } catch {
        return (dir, .failure(error))
    }
}

private func row(_ line: Int, _ file: String, label: String? = nil, dob: String = "2000-01-01", sex: ValueRules.BirthSex = .MALE,
                 language: String = "en-GB", accent: String? = nil, sleep: String? = nil, wake: String? = nil,
                 recording: String? = nil, tags: [(String, String)] = []) -> ManifestRow {
    ManifestRow(line: line, file: file, userLabel: label, dateOfBirth: dob, birthSex: sex, language: language, accent: accent,
                sleepTime: sleep, wakeTime: wake, recordingTime: recording,
                tags: tags.map { ValueRules.Tag(name: $0.0, value: $0.1) })
}

struct GoodManifest: Sendable, CustomTestStringConvertible {
    var name: String
    var path = "m.csv"
    var text: String
    var options = ""
    var rows: [ManifestRow]
    var testDescription: String { name }
}

struct BadManifest: Sendable, CustomTestStringConvertible {
    var name: String
    var path = "m.csv"
    /// `nil`: the file is not created.
    var bytes: [UInt8]?
    var options = ""
    var error: String
    var testDescription: String { name }

    init(_ name: String, path: String = "m.csv", _ text: String, options: String = "", _ error: String) {
        self.name = name
        self.path = path
        bytes = Array(text.utf8)
        self.options = options
        self.error = error
    }

    init(_ name: String, path: String = "m.csv", bytes: [UInt8]?, _ error: String) {
        self.name = name
        self.path = path
        self.bytes = bytes
        self.error = error
    }
}

private let longLabel = String(repeating: "x", count: 51)
private let longValue = String(repeating: "v", count: 101)
private let longTagName = String(repeating: "n", count: 41)
private let twentyTagColumns = (1...20).map { "tag:t\($0)" }.joined(separator: ",")
private let twentyTagCells = (1...20).map { "v\($0)" }.joined(separator: ",")

@Suite(.blocking) struct ManifestTests {
    @Test(arguments: [
        GoodManifest(name: "CSV with every field, values normalised as on the command line", text: """
            file,userLabel,dob,sex,language,accent,sleepTime,wakeTime,recordingTime
            a.wav,p-001,1990,female,fr-FR,ng,2026-11-23T23:10,2026-11-24T07:00:30,2026-11-24 09:15

            """, rows: [
                row(2, "$DIR/a.wav", label: "p-001", dob: "1990-01-01", sex: .FEMALE, language: "fr-FR", accent: "NG",
                    sleep: "2026-11-23T23:10:00", wake: "2026-11-24T07:00:30", recording: "2026-11-24T09:15:00"),
            ]),
        GoodManifest(name: "RFC 4180 quoting: commas, doubled quotes, a line break inside a cell", text: """
            file,userLabel,dob,sex,tag:note
            "a, b.wav","the ""first"" one",1990-04,MALE,"two
            lines"
            c.wav,p2,1985-02-03,unknown,""
            """, rows: [
                row(2, "$DIR/a, b.wav", label: "the \"first\" one", dob: "1990-04-01", tags: [("note", "two\nlines")]),
                row(4, "$DIR/c.wav", label: "p2", dob: "1985-02-03", sex: .UNKNOWN),
            ]),
        GoodManifest(name: "UTF-8 BOM, CRLF and trailing blank lines",
                     text: "\u{FEFF}file,dob,sex\r\na.wav,2000-01-01,intersex\r\nb.wav,2001,male\r\n\r\n\r\n",
                     rows: [row(2, "$DIR/a.wav", sex: .INTERSEX), row(3, "$DIR/b.wav", dob: "2001-01-01")]),
        GoodManifest(name: "lone CR line ends (old Mac CSV export)",
                     text: "file,dob,sex\ra.wav,2000,male\rb.wav,2001,male\r",
                     rows: [row(2, "$DIR/a.wav"), row(3, "$DIR/b.wav", dob: "2001-01-01")]),
        GoodManifest(name: "a CRLF inside a quoted cell is kept and counts as one physical line",
                     text: "file,dob,sex,tag:note\r\na.wav,2000,male,\"x\r\ny\"\r\nb.wav,2001,male,\r\n",
                     rows: [row(2, "$DIR/a.wav", tags: [("note", "x\r\ny")]), row(4, "$DIR/b.wav", dob: "2001-01-01")]),
        GoodManifest(name: "blank lines between rows are skipped but still counted",
                     text: "file,dob,sex\n\na.wav,2000,male\n   \nb.wav,2001,male\n",
                     rows: [row(3, "$DIR/a.wav"), row(5, "$DIR/b.wav", dob: "2001-01-01")]),
        GoodManifest(name: "tag columns: an empty cell is no tag; --tag fills in; the row wins on a name", text: """
            file,dob,sex,tag:visit,tag:site
            a.wav,2000,male,1,york
            b.wav,2000,female,,
            """, options: "--tag site=leeds --tag arm=control", rows: [
                row(2, "$DIR/a.wav", tags: [("visit", "1"), ("site", "york"), ("arm", "control")]),
                row(3, "$DIR/b.wav", sex: .FEMALE, tags: [("site", "leeds"), ("arm", "control")]),
            ]),
        GoodManifest(name: "JSON Lines: tags object, aliases, null and empty values fall back to the command line", path: "m.jsonl", text: """
            {"file": "a.wav", "userLabel": "p1", "dob": "1990-05-06", "sex": "female", "tags": {"visit": "2", "site": "york"}}

            {"file":"b.wav","dateOfBirth":"1970","birthSex":"MALE","accent":null,"language":"","tags":{"visit":null,"site":""}}
            """, options: "--tag site=leeds --accent ke", rows: [
                row(1, "$DIR/a.wav", label: "p1", dob: "1990-05-06", sex: .FEMALE, accent: "KE", tags: [("site", "york"), ("visit", "2")]),
                row(3, "$DIR/b.wav", dob: "1970-01-01", accent: "KE", tags: [("site", "leeds")]),
            ]),
        GoodManifest(name: "JSON Lines chosen by content: BOM, blank lines before the first object, CRLF, any extension",
                     path: "rows.txt",
                     text: "\u{FEFF}\r\n  \r\n{\"file\":\"a.wav\",\"dob\":\"2000\",\"sex\":\"male\"}\r\n",
                     rows: [row(3, "$DIR/a.wav")]),
        GoodManifest(name: "paths relative to the manifest's directory; absolute kept", path: "study/m.csv", text: """
            file,dob,sex
            a.wav,2000,male
            audio/./b.wav,2000,male
            ../c.wav,2000,male
            /data/d.wav,2000,male
            """, rows: [
                row(2, "$DIR/study/a.wav"), row(3, "$DIR/study/audio/b.wav"),
                row(4, "$DIR/study/../c.wav"), row(5, "/data/d.wav"),
            ]),
        GoodManifest(name: "command-line options fill empty cells", text: """
            file,userLabel,dob,sex,language,accent,sleepTime,wakeTime,recordingTime
            a.wav,,,,,,,,
            """, options: "--dob 1980-02 --sex female --language de-DE --accent ke --sleep-time 2026-11-23T23:00 --wake-time 2026-11-24T07:00 --recording-time 2026-11-24T09:00",
            rows: [
                row(2, "$DIR/a.wav", dob: "1980-02-01", sex: .FEMALE, language: "de-DE", accent: "KE",
                    sleep: "2026-11-23T23:00:00", wake: "2026-11-24T07:00:00", recording: "2026-11-24T09:00:00"),
            ]),
        GoodManifest(name: "command-line options fill absent columns", text: "file\na.wav\nb.wav\n",
                     options: "--dob 1980 --sex male --tag site=leeds",
                     rows: [row(2, "$DIR/a.wav", dob: "1980-01-01", tags: [("site", "leeds")]),
                            row(3, "$DIR/b.wav", dob: "1980-01-01", tags: [("site", "leeds")])]),
        GoodManifest(name: "row values override the command line", text: """
            file,userLabel,dob,sex,language,accent,sleepTime,wakeTime,recordingTime
            b.wav,p2,1999,male,en-US,id,2026-11-22T22:00,2026-11-23T06:00,2026-11-23T08:00
            """, options: "--dob 1980-02 --sex female --language de-DE --accent ke --sleep-time 2026-11-23T23:00 --wake-time 2026-11-24T07:00 --recording-time 2026-11-24T09:00",
            rows: [
                row(2, "$DIR/b.wav", label: "p2", dob: "1999-01-01", language: "en-US", accent: "ID",
                    sleep: "2026-11-22T22:00:00", wake: "2026-11-23T06:00:00", recording: "2026-11-23T08:00:00"),
            ]),
        GoodManifest(name: "the same file for two different people is two runs", text: """
            file,userLabel,dob,sex
            a.wav,p1,2000,male
            a.wav,p2,2000,male
            """, rows: [row(2, "$DIR/a.wav", label: "p1"), row(3, "$DIR/a.wav", label: "p2")]),
        GoodManifest(name: "twenty tags in the row and a --tag it overrides", text: "file,dob,sex,\(twentyTagColumns)\na.wav,2000,male,\(twentyTagCells)\n",
                     options: "--tag t20=cli",
                     rows: [row(2, "$DIR/a.wav", tags: (1...20).map { ("t\($0)", "v\($0)") })]),
    ])
    func goodManifest(_ c: GoodManifest) throws {
        let (dir, result) = try load(c.path, Array(c.text.utf8), options: c.options)
        let expected = c.rows.map { r in
            var r = r
            r.file = r.file.replacingOccurrences(of: "$DIR", with: dir)
            return r
        }
        #expect(try result.get() == expected)
    }

    @Test(arguments: [
        // The header and its names.
        BadManifest("unknown column with a suggestion", "file,dobb,sex\na.wav,2000,male\n", "m.csv:1: unknown column 'dobb'; did you mean 'dob'?"),
        BadManifest("several unknown columns, all named", "file,dobb,Sex,colour\na.wav,2000,male,red\n",
                    "m.csv:1: unknown columns 'dobb' (did you mean 'dob'?), 'Sex' (did you mean 'sex'?), 'colour'"),
        BadManifest("a 'tags' column in CSV", "file,dob,sex,tags\na.wav,2000,male,x\n",
                    "m.csv:1: unknown column 'tags'; give each tag its own 'tag:NAME' column"),
        BadManifest("both spellings of one field", "file,dob,dateOfBirth,sex\na.wav,2000,2000,male\n",
                    "m.csv:1: 'dob' and 'dateOfBirth' give the same field; keep one"),
        BadManifest("a column twice", "file,dob,sex,dob\na.wav,2000,male,2001\n", "m.csv:1: column 'dob' is given twice"),
        BadManifest("a tag column twice", "file,dob,sex,tag:a,tag:a\na.wav,2000,male,1,2\n", "m.csv:1: column 'tag:a' is given twice"),
        BadManifest("no file column", "dob,sex\n2000,male\n", "m.csv:1: no 'file' column"),
        BadManifest("semicolon-separated export", "file;dob;sex\na.wav;2000;male\n",
                    "m.csv:1: the header 'file;dob;sex' has no commas; separate the columns with commas"),
        BadManifest("tag name too long", "file,dob,sex,tag:\(longTagName)\na.wav,2000,male,1\n",
                    "m.csv:1: invalid tag name in 'tag:\(longTagName)': a tag name has 1 to 40 characters"),
        BadManifest("empty tag name", "file,dob,sex,tag:\na.wav,2000,male,1\n", "m.csv:1: invalid tag name in 'tag:': a tag name has 1 to 40 characters"),
        BadManifest("'=' in a tag name", "file,dob,sex,tag:a=b\na.wav,2000,male,1\n", "m.csv:1: invalid tag name in 'tag:a=b': a tag name cannot contain '='"),
        // A bad row on physical line 7 of 10 is the 5th record: the quoted cell on line 2 spans three lines.
        BadManifest("bad value on physical line 7 after a multi-line cell", """
            file,userLabel,dob,sex,tag:note
            a.wav,p1,1990,male,"first
            second
            third"
            b.wav,p2,1991,male,
            c.wav,p3,1992,male,
            d.wav,p4,1990-13,male,
            e.wav,p5,1993,male,
            f.wav,p6,1994,male,
            g.wav,p7,1995,male,
            """, "m.csv:7: invalid value '1990-13' for 'dob': month 13 does not exist"),
        BadManifest("message quotes the header's own spelling", "file,dateOfBirth,sex\na.wav,1990-02-30,male\n",
                    "m.csv:2: invalid value '1990-02-30' for 'dateOfBirth': 1990-02 has no day 30"),
        BadManifest("too few cells", "file,dob,sex\na.wav,2000,male\nb.wav,2000\n", "m.csv:3: this row has 2 cells; the header has 3 columns"),
        BadManifest("too many cells after a multi-line cell", "file,dob,sex,tag:n\na.wav,2000,male,\"x\ny\"\nb.wav,2000,male,1,2\n",
                    "m.csv:4: this row has 5 cells; the header has 4 columns"),
        BadManifest("empty file cell", "file,dob,sex\na.wav,2000,male\nb.wav,2000,male\n,2000,male\n", "m.csv:4: missing 'file'"),
        BadManifest("no dob in the row or on the command line", "file,dob,sex\na.wav,2000,male\nb.wav,2000,male\nc.wav,2000,male\nd.wav,,male\n",
                    "m.csv:5: 'dob' is needed (give it in the row or with --dob)"),
        BadManifest("no sex in the row or on the command line", "file,dob\na.wav,2000\n", options: "--dob 1990",
                    "m.csv:2: 'sex' is needed (give it in the row or with --sex)"),
        BadManifest("bad sex", "file,dob,sex\na.wav,2000,m\n", "m.csv:2: invalid value 'm' for 'sex': expected one of MALE, FEMALE, INTERSEX, UNKNOWN (any case)"),
        BadManifest("bad birthSex", "file,dob,birthSex\na.wav,2000,x\n", "m.csv:2: invalid value 'x' for 'birthSex': expected one of MALE, FEMALE, INTERSEX, UNKNOWN (any case)"),
        BadManifest("bad language", "file,dob,sex,language\na.wav,2000,male,english\n",
                    "m.csv:2: invalid value 'english' for 'language': expected a BCP 47 language tag such as en-GB"),
        BadManifest("bad accent", "file,dob,sex,accent\na.wav,2000,male,US\n", "m.csv:2: invalid value 'US' for 'accent': expected one of ID, NG, KE"),
        BadManifest("a time with a zone", "file,dob,sex,sleepTime\na.wav,2000,male,2026-11-24T23:10Z\n",
                    "m.csv:2: invalid value '2026-11-24T23:10Z' for 'sleepTime': give the person's local time without a time zone (thymia reads it as local time), e.g. 2026-11-24T23:10"),
        BadManifest("user label too long", "file,userLabel,dob,sex\na.wav,\(longLabel),2000,male\n",
                    "m.csv:2: invalid value '\(longLabel)' for 'userLabel': a user label has at most 50 characters (this one has 51)"),
        BadManifest("date of birth in the future", "file,dob,sex\na.wav,2027,male\n", "m.csv:2: invalid value '2027' for 'dob': date of birth is in the future"),
        BadManifest("a row's bad value is refused even when the command line has a good one", "file,dob,sex\na.wav,1899,male\n", options: "--dob 1990",
                    "m.csv:2: invalid value '1899' for 'dob': a year before 1900 is not a plausible birth date"),
        BadManifest("tag value too long", "file,dob,sex,tag:note\na.wav,2000,male,\(longValue)\n",
                    "m.csv:2: invalid value '\(longValue)' for 'tag:note': a tag value has at most 100 characters"),
        BadManifest("more than 20 tags with --tag", "file,dob,sex,\(twentyTagColumns)\na.wav,2000,male,\(twentyTagCells)\n", options: "--tag extra=1",
                    "m.csv:2: at most 20 tags per run (21 given), counting those from --tag"),
        BadManifest("the same file and person twice, spelt differently", "file,dob,sex\na.wav,2000,male\nb.wav,2000,male\n./a.wav,2000-01-01,MALE\n",
                    "m.csv:4: './a.wav' is already on line 2 with the same user fields; it would be submitted twice"),
        // CSV syntax.
        BadManifest("a quoted cell never closed", "file,dob,sex\na.wav,2000,male\n\"b.wav,2000,male\nc.wav,2000,male\n",
                    "m.csv:3: a quoted cell that starts here is never closed"),
        BadManifest("a quote inside an unquoted cell", "file,dob,sex\na\"b.wav,2000,male\n",
                    "m.csv:2: a quote inside an unquoted cell; quote the whole cell and double the quotes in it"),
        BadManifest("text after a closing quote", "file,dob,sex\n\"a\"b.wav,2000,male\n",
                    "m.csv:2: text after the closing quote of a cell; quote the whole cell and double the quotes in it"),
        BadManifest("header only", "file,dob,sex\n", "m.csv: no rows"),
        BadManifest("empty file", "", "m.csv: no rows"),
        BadManifest("only blank lines", "\n\n  \r\n", "m.csv: no rows"),
        // JSON Lines.
        BadManifest("not JSON", path: "m.jsonl", "{\"file\":\"a.wav\",\"dob\":\"2000\",\"sex\":\"male\"}\n\nnot json\n", "m.jsonl:3: not a JSON object"),
        BadManifest("a JSON array", path: "m.jsonl", "{\"file\":\"a.wav\",\"dob\":\"2000\",\"sex\":\"male\"}\n[1, 2]\n", "m.jsonl:2: not a JSON object"),
        BadManifest("a truncated object", path: "m.jsonl", "{\"file\":\"a.wav\",\"dob\":\"2000\",\"sex\":\"male\"}\n{\"file\": \"b.wav\"\n", "m.jsonl:2: not a JSON object"),
        BadManifest("a number where a string belongs", path: "m.jsonl", "{\"file\":\"a.wav\",\"dob\":1990,\"sex\":\"male\"}\n", "m.jsonl:1: 'dob' must be a string"),
        BadManifest("tags not an object", path: "m.jsonl", "{\"file\":\"a.wav\",\"dob\":\"1990\",\"sex\":\"male\",\"tags\":[\"a\"]}\n",
                    "m.jsonl:1: 'tags' must be an object of strings, e.g. {\"site\": \"leeds\"}"),
        BadManifest("a tag value not a string", path: "m.jsonl", "{\"file\":\"a.wav\",\"dob\":\"1990\",\"sex\":\"male\",\"tags\":{\"visit\":2}}\n",
                    "m.jsonl:1: 'tags.visit' must be a string"),
        BadManifest("a JSON tag value too long", path: "m.jsonl", "{\"file\":\"a.wav\",\"dob\":\"1990\",\"sex\":\"male\",\"tags\":{\"note\":\"\(longValue)\"}}\n",
                    "m.jsonl:1: invalid value '\(longValue)' for 'tags.note': a tag value has at most 100 characters"),
        BadManifest("unknown key", path: "m.jsonl", "{\"file\":\"a.wav\",\"dob\":\"1990\",\"sexx\":\"male\"}\n", "m.jsonl:1: unknown key 'sexx'; did you mean 'sex'?"),
        BadManifest("a CSV-style tag key", path: "m.jsonl", "{\"file\":\"a.wav\",\"dob\":\"1990\",\"sex\":\"male\",\"tag:site\":\"york\"}\n",
                    "m.jsonl:1: unknown key 'tag:site'; put tags in a 'tags' object"),
        BadManifest("both spellings in JSON", path: "m.jsonl", "{\"file\":\"a.wav\",\"dob\":\"1990\",\"dateOfBirth\":\"1990\",\"sex\":\"male\"}\n",
                    "m.jsonl:1: 'dateOfBirth' and 'dob' give the same field; keep one"),
        BadManifest("no file key", path: "m.jsonl", "{\"file\":\"a.wav\",\"dob\":\"1990\",\"sex\":\"male\"}\n{\"dob\":\"1990\",\"sex\":\"male\"}\n", "m.jsonl:2: missing 'file'"),
        // Reading.
        BadManifest("missing manifest", path: "missing.csv", bytes: nil, "missing.csv: cannot read the manifest: no such file or directory"),
        BadManifest("UTF-16 manifest", bytes: [0xFF, 0xFE, 0x66, 0x00], "m.csv: the manifest is UTF-16 text; save it as UTF-8 (in Excel: 'CSV UTF-8')"),
        BadManifest("not UTF-8", bytes: Array("file\n".utf8) + [0xC3, 0x28], "m.csv: the manifest is not UTF-8 text; save it as UTF-8 (in Excel: 'CSV UTF-8')"),
    ])
    func badManifest(_ c: BadManifest) throws {
        let (dir, result) = try load(c.path, c.bytes, options: c.options)
        guard case .failure(let error) = result else {
            Issue.record("loaded: \(result)")
            return
        }
        #expect(error.description == "\(dir)/\(c.error)")
    }

    @Test func aDirectoryIsNotAManifest() throws {
        let dir = TestPaths.makeTempDir("helios-manifest")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(throws: ManifestError(path: dir, line: nil, message: "cannot read the manifest: is a directory")) {
            try Manifest.load(path: dir, defaults: RunOptions(), today: today)
        }
    }

    /// `--manifest <(make-rows)` hands over a pipe, which has no size and is no regular file.
    @Test func readsAManifestFromAPipe() throws {
        let pipe = Pipe()
        pipe.fileHandleForWriting.write(Data("file,dob,sex\n/data/a.wav,2000,male\n".utf8))
        try pipe.fileHandleForWriting.close()
        let path = "/dev/fd/\(pipe.fileHandleForReading.fileDescriptor)"
        #expect(try Manifest.load(path: path, defaults: RunOptions(), today: today) == [row(2, "/data/a.wav")])
    }

    /// A manifest value breaks the same rule, in the same words, as the command-line option.
    @Test(arguments: [
        ("dob", "--dob", "1990-13"), ("dob", "--dob", "90"), ("dob", "--dob", "2024-02-30"), ("dob", "--dob", "2030"),
        ("sex", "--sex", "woman"), ("language", "--language", "e"), ("accent", "--accent", "GB"),
        ("wakeTime", "--wake-time", "2026-11-24T07:00+01:00"), ("recordingTime", "--recording-time", "2026-11-31T07:00"),
        ("userLabel", "--user-label", longLabel),
    ])
    func sameRuleAsCommandLine(column: String, option: String, value: String) throws {
        let cliMessage: String?
        do {
            _ = try Invocation.parse(["submit", "a.wav", "--dob", "1990", "--sex", "male", option, value], today: today)
            cliMessage = nil
        } catch {
            cliMessage = error.message
        }
        let columns = ["file", "dob", "sex"] + (["dob", "sex"].contains(column) ? [] : [column])
        let cells = ["a.wav", column == "dob" ? value : "1990", column == "sex" ? value : "male"] + (["dob", "sex"].contains(column) ? [] : [value])
        let (_, result) = try load("m.csv", Array((columns.joined(separator: ",") + "\n" + cells.joined(separator: ",") + "\n").utf8))
        guard case .failure(let error) = result else {
            Issue.record("loaded: \(result)")
            return
        }
        let cliRule = try #require(cliMessage?.components(separatedBy: "': ").dropFirst().joined(separator: "': "))
        #expect(!cliRule.isEmpty)
        #expect(error.message == "invalid value '\(value)' for '\(column)': \(cliRule)")
    }

    @Test(arguments: [
        ("a.wav", "m.csv", "a.wav"),
        ("a.wav", "study/m.csv", "study/a.wav"),
        ("./x/../a.wav", "./s/m.csv", "s/x/../a.wav"),
        ("/abs//a.wav", "s/m.csv", "/abs/a.wav"),
        ("a.wav", "/m.csv", "/a.wav"),
        ("a.wav", "/srv/study/m.csv", "/srv/study/a.wav"),
    ])
    func resolvesAgainstTheManifestDirectory(file: String, manifest: String, expected: String) {
        #expect(Manifest.resolve(file, against: manifest) == expected)
    }

    @Test func errorDescriptionWithAndWithoutLine() {
        #expect(ManifestError(path: "study.csv", line: 7, message: "missing 'file'").description == "study.csv:7: missing 'file'")
        #expect(ManifestError(path: "study.csv", line: nil, message: "no rows").description == "study.csv: no rows")
    }
}

@Suite(.blocking) struct CSVReaderTests {
    @Test(arguments: [
        ("a,b\n1,2\n", [CSVRecord(line: 1, cells: ["a", "b"]), CSVRecord(line: 2, cells: ["1", "2"])]),
        ("a,b\r\n1,2", [CSVRecord(line: 1, cells: ["a", "b"]), CSVRecord(line: 2, cells: ["1", "2"])]),
        ("a\n\"x\n\ny\"\nb\n", [CSVRecord(line: 1, cells: ["a"]), CSVRecord(line: 2, cells: ["x\n\ny"]), CSVRecord(line: 5, cells: ["b"])]),
        (",\n\"\"\n", [CSVRecord(line: 1, cells: ["", ""]), CSVRecord(line: 2, cells: [""])]),
        ("\"a,\"\"b\"\"\", c \n", [CSVRecord(line: 1, cells: ["a,\"b\"", " c "])]),
        ("a\r\rb\n\n", [CSVRecord(line: 1, cells: ["a"]), CSVRecord(line: 3, cells: ["b"])]),
        ("é,ü\n", [CSVRecord(line: 1, cells: ["é", "ü"])]),
    ])
    func records(text: String, expected: [CSVRecord]) throws {
        #expect(try CSVReader.records(text) == expected)
    }
}

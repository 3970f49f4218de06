import Foundation
import Testing
import HeliosTestSupport
@testable import HeliosCore

/// Issue 12: the journal at scale. `JSONScanner` reads its lines (Foundation's decoder took 13 s
/// for 83,000 runs), `forEachLatest` streams it, and `runs --compact` rewrites it.
@Suite(.blocking) struct JournalScaleTests {
    static func dir() -> String { TestPaths.makeTempDir("helios-journal-scale") }

    static func entry(_ n: Int, _ state: RunState, run: JSONValue? = nil) -> JournalEntry {
        var e = JournalEntry(intent: "intent-\(n)", runId: state == .creating ? nil : "run-\(n)", time: "2026-12-0\(1 + n % 9)T09:00:00Z",
                             baseURL: "https://api.thymia.ai", file: "/rec/r\(n).wav", bytes: 1000 + Int64(n), sha256: "ab",
                             userLabel: "p\(n)", state: state, apiStatus: state == .finished ? "COMPLETE_OK" : nil, requestDigest: "d\(n)")
        e.line = n + 2
        e.run = run.map(LazyJSON.init)
        return e
    }

    // MARK: JSONScanner

    @Test(arguments: [
        (#"{"a":[1,-2.5e3,true,false,null],"b":{"c":"d"}}"#, JSONValue.object(["a": .array([.number(1), .number(-2500), .bool(true), .bool(false), .null]), "b": .object(["c": .string("d")])])),
        (#" "tab\tquote\"slash\/u\u00e9pair\ud83d\ude00" "#, .string("tab\tquote\"slash/uépair😀")),
        (#""lone \ud800 surrogate""#, .string("lone \u{FFFD} surrogate")),
        ("[]", .array([])),
        ("0", .number(0)),
    ] as [(String, JSONValue)])
    func scannerReadsValidJSON(text: String, value: JSONValue) {
        #expect(JSONScanner.parse(Array(text.utf8)) == value)
    }

    @Test(arguments: ["", "{", #"{"a":1,}"#, "[1,]", "01", "1.", "-", "tru", #""a\x""#, "\"raw\u{01}control\"", #"{"a" 1}"#, "[1] 2",
                      String(repeating: "[", count: 100) + String(repeating: "]", count: 100)])
    func scannerRefusesInvalidJSON(text: String) {
        #expect(JSONScanner.parse(Array(text.utf8)) == nil)
    }

    @Test func membersAreTheTopLevelOnesWithTheirValuesRanges() {
        let text = #"{"run":{"runId":"nested","intent":"x"}, "intent" : "top","n":[{"runId":"y"}],"r\u0075nId":"r1","s":"a\"b"}"#
        var seen: [(String, String)] = []
        let isObject = Array(text.utf8).withUnsafeBytes { raw in
            JSONScanner.forEachMember(raw) { name, range in
                seen.append((String(decoding: name, as: UTF8.self), String(decoding: raw[range], as: UTF8.self)))
            }
        }
        #expect(isObject)
        #expect(seen.map(\.0) == ["run", "intent", "n", "runId", "s"])
        #expect(seen.map(\.1) == [#"{"runId":"nested","intent":"x"}"#, #""top""#, #"[{"runId":"y"}]"#, #""r1""#, #""a\"b""#])
        for bad in ["[1]", #"{"a":1"#, #"{"a":"\x"}"#, #"{"a":1} 2"#, ""] {
            #expect(!Array(bad.utf8).withUnsafeBytes { JSONScanner.forEachMember($0) { _, _ in } }, "\(bad)")
        }
    }

    /// The scores `runs` lists are read from the journal line's bytes (`LazyJSON`); they must be
    /// what building the run object and asking `ModelRun` gives, whatever the object holds.
    @Test(arguments: [
        #"{"id":"r","status":"COMPLETE_OK","results":{"sections":[{"stress":{"value":0.33},"distress":{"value":1},"transcript":"t"}]}}"#,
        #"{"status":"COMPLETE_OK","id":"r","results":{"sections":[{"stress":{"value":0.1}},{"stress":{"value":0.9}}]},"completedAt":"x"}"#,
        #"{"id":"r","status":"COMPLETE_ERROR","results":{"sections":[{"stress":{"value":0.33}}]}}"#,
        #"{"id":5,"status":"COMPLETE_OK","results":{"sections":[{"stress":{"value":0.33}}]}}"#,
        #"{"id":"r","status":"COMPLETE_OK","results":{"sections":[]}}"#,
        #"{"id":"r","status":"COMPLETE_OK","results":{"sections":[[1,{"stress":{"value":0.5}}]]}}"#,
        #"{"id":"r","status":"COMPLETE_OK","results":{"sections":{"stress":{"value":0.5}}}}"#,
        #"{"id":"r","status":"COMPLETE_OK","results":{"sections":[{"stress":{"value":"0.5"},"exhaustion":{"value":null},"sleepPropensity":0.5}]}}"#,
        // A repeated name counts once, with its last value, as in a parsed object.
        #"{"id":"r","status":"COMPLETE_OK","results":{"sections":[{"stress":{"value":0.1},"stress":{"valu":0.2},"distress":{"value":0.3,"value":0.4}}]}}"#,
        #"{"id":"r","status":"RUNNING","status":"COMPLETE_OK","results":[],"results":{"sections":[{"stress":{"value":0.7}}]}}"#,
        #"{ "id" : "r" , "st\u0061tus" : "COMPLETE_OK" , "results" : { "sections" : [ { "str\u0065ss" : { "value" : -1.5e-3 } } ] } }"#,
        #"{"id":"r","status":"COMPLETE_OK","results":{"sections":[{"mentalStrain":{"value":0.12},"uniformLowSelfEsteem":{"value":0.98},"extra":{"deep":[[[{"stress":{"value":9}}]]]}}]}}"#,
        "[1,2]", #""COMPLETE_OK""#,
    ])
    func scoresReadFromTheBytesAreTheBuiltRunsScores(run: String) throws {
        let line = #"{"baseURL":"https://api.thymia.ai","intent":"i","run":"# + run + #","state":"finished","time":"2026-12-01T09:00:00Z"}"#
        let entry = try #require(Array(line.utf8).withUnsafeBytes { JournalEntry(line: $0) })
        let built = try #require(JSONScanner.parse(Array(run.utf8)))
        #expect(entry.run?.value == built)
        #expect(entry.scores == (try? ModelRun(json: built))?.scores)
        var copy = entry
        copy.run = LazyJSON(built)  // a built run gives the same scores through the same rule
        #expect(copy.scores == entry.scores)
    }

    /// Checking a value (skipping it) and parsing it agree on numbers out of a Double's range.
    @Test(arguments: ["1e400", "-1E+400", "0.1e30046", String(repeating: "9", count: 400)])
    func outOfRangeNumbersAreRefusedWhetherSkippedOrParsed(number: String) {
        let text = #"{"a":"# + number + "}"
        #expect(Array(text.utf8).withUnsafeBytes { JSONScanner.parse($0) } == nil)
        #expect(!Array(text.utf8).withUnsafeBytes { JSONScanner.forEachMember($0) { _, _ in } })
        #expect(Array(#"{"a":1e300,"b":1E-400}"#.utf8).withUnsafeBytes { JSONScanner.forEachMember($0) { _, _ in } })
    }

    @Test func aLineWithABrokenRunIsNotAnEntry() {
        let head = #"{"baseURL":"x","intent":"i","state":"finished","time":"t","run":"#
        for run in [#"{"id":"r","status":"COMPLETE_OK","results":{"sections":[{"stress":{"value":0.3}}]}"#,  // torn
                    #"{"id":"r\q"}"#, #"{"id":"r","n":01}"#, #"{"id":"r",}"#, String(repeating: "[", count: 70) + String(repeating: "]", count: 70),
                    #"{"id":"r","n":0.1e30046}"#, #"{"id":"r","n":-1E+400}"#] {  // out of a Double's range, as parse refuses it (fuzzing)
            #expect(Array((head + run + "}").utf8).withUnsafeBytes { JournalEntry(line: $0) } == nil, "\(run)")
        }
    }

    @Test func theFastReaderReadsWhatTheEncoderWroteAsTheDecoderDoes() throws {
        let run = JSONValue.object(["id": .string("run-1"), "status": .string("COMPLETE_OK"),
                                    "results": .object(["sections": .array([.object(["distress": .object(["value": .number(0.33)])])])])])
        var odd = Self.entry(1, .finished, run: run)
        odd.file = "/rec/\"quoted\" \u{1B} é 😀.wav"
        odd.errorCode = "ERR_INTERNAL"
        odd.replacedBy = "run-9"
        odd.uploadURLExpiresAt = "2026-12-01T10:00:00Z"
        odd.contentType = "audio/wav"
        for e in [odd, Self.entry(2, .creating), Self.entry(3, .createUnconfirmed), Self.entry(4, .uploaded)] {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let line = try encoder.encode(e)
            let slow = try JSONDecoder().decode(JournalEntry.self, from: line)
            let fast = try #require(line.withUnsafeBytes { JournalEntry(line: $0) })
            #expect(fast == slow)
            #expect(fast == e)
        }
        // A 0.1.0 line, and lines that are not entries.
        let legacy = #"{"baseURL":"http://x","runId":"r","status":"COMPLETE_OK","time":"2025-01-01T00:00:00Z"}"#
        #expect(Array(legacy.utf8).withUnsafeBytes { JournalEntry(line: $0) }?.state == .finished)
        for bad in [#"{"baseURL":"x","time":"t","state":"uploaded"}"#, #"{"runId":5,"baseURL":"x","time":"t","state":"uploaded"}"#,
                    #"{"runId":"r","baseURL":"x","time":"t","state":"no-such-state"}"#] {
            #expect(Array(bad.utf8).withUnsafeBytes { JournalEntry(line: $0) } == nil, "\(bad)")
        }
    }

    // MARK: streaming and compaction

    @Test func latestStreamsTheLastEntryOfEachRunAcrossChunkBoundaries() throws {
        let journal = Journal(path: Self.dir() + "/runs.jsonl")
        // 3,000 runs in 4 states each: about 2.5 MB, several 1 MiB reads, lines cut across them.
        for n in 0..<3000 {
            for state in [RunState.creating, .created, .uploaded, .finished] { try journal.append(Self.entry(n, state)) }
        }
        var warnings: [String] = []
        let latest = try journal.latest(warn: { warnings.append($0) })
        #expect(warnings.isEmpty)
        #expect(latest.count == 3000)
        #expect(latest.allSatisfy { $0.state == .finished })
        #expect(latest.map(\.key) == (0..<3000).map { "intent-\($0)" })
        #expect(try journal.entries().count == 12_000)
    }

    /// Pass 1 on two threads (the file split at a line start near its middle) finds the same
    /// last lines, in the same order, with the same unreadable line numbers, as one thread:
    /// runs that span the split, runs only after it, garbage on either side, a torn last line.
    @Test(arguments: [0, 1, 7, 40, 333])
    func twoHalvesFindWhatOneReadFinds(padding: Int) throws {
        let path = Self.dir() + "/runs.jsonl"
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var text = String(repeating: "{\"note\":\"no key\"}\n", count: padding % 5)
        for n in 0..<400 {
            for state in [RunState.creating, .created] { text += String(decoding: try encoder.encode(Self.entry(n, state)), as: UTF8.self) + "\n" }
            if n % 37 == 0 { text += "garbage \(n)\n\n" }
        }
        text += String(repeating: "x", count: padding) + "\n"
        for n in stride(from: 0, to: 600, by: 3) {
            text += String(decoding: try encoder.encode(Self.entry(n, .finished)), as: UTF8.self) + "\n"
        }
        text += #"{"intent":"torn"#
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let fd = open(path, O_RDONLY)
        defer { close(fd) }
        var oneWarned: [Int] = [], twoWarned: [Int] = []
        let one = Journal.lastLines(fd, threads: 1, warn: { oneWarned.append($0) })
        let two = Journal.lastLines(fd, threads: 2, splitAbove: 0, warn: { twoWarned.append($0) })
        #expect(one.count == 400 + 66)
        #expect(two.map(\.offset) == one.map(\.offset))
        #expect(two.map(\.number) == one.map(\.number))
        #expect(twoWarned == oneWarned)
        #expect(oneWarned.count == (padding % 5) + 11 + (padding > 0 ? 1 : 0) + 1)  // no-key lines, garbage, padding, torn
    }

    /// The parallel `forEachLatest` hands over what the plain one does, in order, warnings and all.
    @Test func theParallelReaderGivesWhatThePlainOneGives() throws {
        let journal = Journal(path: Self.dir() + "/runs.jsonl")
        for n in 0..<5000 {
            for state in [RunState.created, .uploaded] { try journal.append(Self.entry(n, state)) }
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: journal.path))
        handle.seekToEndOfFile()
        handle.write(Data("{\"intent\":\"intent-7\",\"state\":\"no such state\"}\nnot json\n".utf8))
        try handle.close()
        var plainWarnings: [String] = [], parallelWarnings: [String] = []
        var plain: [String] = []
        try journal.forEachLatest(warn: { plainWarnings.append($0) }) { plain.append($0.key + " " + $0.state.label) }
        var parallel: [String] = []
        try journal.forEachLatest(warn: { parallelWarnings.append($0) }, threads: 2, transform: { e in
            e.userLabel == "p13" ? nil : e.key + " " + e.state.label
        }) { parallel.append($0) }
        // In batches that do not divide the runs: the same again.
        var batched: [String] = [], batchedWarnings: [String] = []
        try journal.forEachLatest(warn: { batchedWarnings.append($0) }, threads: 2, batch: 777, transform: { e in
            e.userLabel == "p13" ? nil : e.key + " " + e.state.label
        }) { batched.append($0) }
        #expect(plain.count == 4999, "intent-7's last line does not decode: the run is skipped, with a warning")
        #expect(parallel == plain.filter { !$0.hasPrefix("intent-13 ") })
        #expect(parallelWarnings == plainWarnings)
        #expect(batched == parallel)
        #expect(batchedWarnings == plainWarnings)
        #expect(plainWarnings.count == 2, "\(plainWarnings)")
    }

    @Test func compactionKeepsEachRunsLatestStateAndLosesNoAppend() throws {
        let dir = Self.dir()
        let journal = Journal(path: dir + "/runs.jsonl")
        for n in 0..<50 {
            for state in [RunState.creating, .created, .uploaded] { try journal.append(Self.entry(n, state)) }
            if n % 2 == 0 { try journal.append(Self.entry(n, .finished)) }
        }
        let before = try journal.latest()
        let (oldSize, newSize, kept) = try journal.compact()
        #expect(kept == 50 && newSize < oldSize / 3, "\(oldSize) -> \(newSize)")
        #expect(try journal.latest() == before)
        #expect(try journal.entries().count == 50)
        let attributes = try FileManager.default.attributesOfItem(atPath: journal.path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        #expect(!FileManager.default.fileExists(atPath: journal.path + ".compact"))

        // A writer that opened the journal before a compaction and got the lock after it must
        // append to the new file, not to the one renamed away.
        let held = open(journal.path, O_RDWR)
        #expect(flock(held, LOCK_EX) == 0)
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            try? journal.append(Self.entry(99, .created))
            done.signal()
        }
        Thread.sleep(forTimeInterval: 0.2)  // the writer is waiting on the lock now
        // What a compaction does while it holds the lock: a new file renamed over the path.
        try Data(try String(contentsOfFile: journal.path, encoding: .utf8).utf8).write(to: URL(fileURLWithPath: dir + "/new"))
        #expect(rename(dir + "/new", journal.path) == 0)
        flock(held, LOCK_UN)
        close(held)
        #expect(done.wait(timeout: .now() + 10) == .success)
        #expect(try journal.latest().contains { $0.key == "intent-99" })
    }

    @Test func runsCompactThroughTheCLI() throws {
        let (world, files) = try LifecycleRuleTests.world(2)
        #expect(world.run(["submit"] + files + LifecycleRuleTests.person + LifecycleRuleTests.wait).status == 0)
        let lines = try world.journal().count
        let r = world.run(["runs", "--compact"])
        #expect(r.status == 0)
        #expect(r.stderr.contains("compacted") && r.stderr.contains("2 runs kept"), "\(r.stderr)")
        #expect(try world.journal().count == 2 && lines > 2)
        #expect(r.stdout.split(separator: "\n").count == 3)
    }
}

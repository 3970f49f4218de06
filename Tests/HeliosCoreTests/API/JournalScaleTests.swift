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
        e.run = run
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

    @Test func topLevelStringsSkipNestedKeysAndOtherTypes() {
        let text = #"{"run":{"runId":"nested","intent":"x"},"intent":"top","n":[{"runId":"y"}],"runId":"r1","s":"a\"b"}"#
        let found = Array(text.utf8).withUnsafeBytes { JSONScanner.topLevelStrings($0, keys: [Array("intent".utf8), Array("runId".utf8), Array("n".utf8)]) }
        #expect(found == ["top", "r1", nil])
        #expect(Array("[1]".utf8).withUnsafeBytes { JSONScanner.topLevelStrings($0, keys: [Array("a".utf8)]) } == nil)
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
            let fast = try #require(JSONScanner.parse(line).flatMap(JournalEntry.init(json:)))
            #expect(fast == slow)
            #expect(fast == e)
        }
        // A 0.1.0 line, and lines that are not entries.
        let legacy = #"{"baseURL":"http://x","runId":"r","status":"COMPLETE_OK","time":"2025-01-01T00:00:00Z"}"#
        #expect(JSONScanner.parse(Array(legacy.utf8)).flatMap(JournalEntry.init(json:))?.state == .finished)
        for bad in [#"{"baseURL":"x","time":"t","state":"uploaded"}"#, #"{"runId":5,"baseURL":"x","time":"t","state":"uploaded"}"#,
                    #"{"runId":"r","baseURL":"x","time":"t","state":"no-such-state"}"#] {
            #expect(JSONScanner.parse(Array(bad.utf8)).flatMap(JournalEntry.init(json:)) == nil, "\(bad)")
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

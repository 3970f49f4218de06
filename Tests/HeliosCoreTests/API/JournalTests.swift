import Foundation
import Testing
import HeliosTestSupport
@testable import HeliosCore

/// A fresh directory under the system temporary directory, removed by `cleanUp`.
private struct TempDir {
    let path: String
    init() {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("helios-journal-\(UUID().uuidString)").path
    }
    func cleanUp() { try? FileManager.default.removeItem(atPath: path) }
}

private func permissions(_ path: String) throws -> Int {
    let attributes = try FileManager.default.attributesOfItem(atPath: path)
    return try #require((attributes[.posixPermissions] as? NSNumber)?.intValue)
}

/// An entry in the state a 0.1.0 `status` string named (`CREATED`, `RUNNING`, `COMPLETE_OK`, …).
private func entry(_ id: String, _ status: String, time: String = "2025-03-14T09:12:03Z") -> JournalEntry {
    let (state, apiStatus) = JournalEntry.state(legacyStatus: status)
    return JournalEntry(runId: id, time: time, baseURL: "http://127.0.0.1:8080", file: "/rec/\(id).wav", bytes: 1_105_978,
                        sha256: String(repeating: "ab", count: 32), userLabel: "user-\(id)", state: state, apiStatus: apiStatus,
                        requestDigest: "d-\(id)")
}

private func appendRaw(_ text: String, to path: String) throws {
    let handle = try #require(FileHandle(forWritingAtPath: path))
    defer { try? handle.close() }
    try handle.seekToEnd()
    try handle.write(contentsOf: Data(text.utf8))
}

@Suite(.blocking) struct JournalTests {
    @Test func appendCreatesDirectoryAndFileWithOwnerOnlyModes() throws {
        let tmp = TempDir()
        defer { tmp.cleanUp() }
        let path = tmp.path + "/state/helios/runs.jsonl"
        let journal = Journal(path: path)
        try journal.append(entry("r1", "CREATED"))
        #expect(FileManager.default.fileExists(atPath: path))
        #expect(try permissions(path) == 0o600)
        #expect(try permissions(tmp.path + "/state/helios") & 0o077 == 0)
        #expect(try journal.entries() == [entry("r1", "CREATED")])
    }

    @Test func appendTightensALooseExistingJournal() throws {
        let tmp = TempDir()
        defer { tmp.cleanUp() }
        try FileManager.default.createDirectory(atPath: tmp.path, withIntermediateDirectories: true)
        let path = tmp.path + "/runs.jsonl"
        #expect(FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o644]))
        #expect(try permissions(path) == 0o644)
        try Journal(path: path).append(entry("r1", "CREATED"))
        #expect(try permissions(path) == 0o600)
    }

    @Test func eachAppendIsOneSortedLine() throws {
        let tmp = TempDir()
        defer { tmp.cleanUp() }
        let journal = Journal(path: tmp.path + "/runs.jsonl")
        try journal.append(entry("r1", "CREATED"))
        try journal.append(entry("r1", "UPLOADED"))
        let text = try String(contentsOfFile: journal.path, encoding: .utf8)
        #expect(text.hasSuffix("\n"))
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 3 && lines[2].isEmpty)
        #expect(lines[0].hasPrefix(#"{"baseURL":"http://127.0.0.1:8080","#)) // sorted keys, slashes unescaped
    }

    @Test func missingJournalIsEmptyAndNotCreatedByReading() throws {
        let tmp = TempDir()
        defer { tmp.cleanUp() }
        let journal = Journal(path: tmp.path + "/runs.jsonl")
        #expect(try journal.entries() == [])
        #expect(try journal.latest() == [])
        #expect(!FileManager.default.fileExists(atPath: journal.path))
    }

    @Test func latestIsTheLastStatePerRunInFirstSeenOrder() throws {
        let tmp = TempDir()
        defer { tmp.cleanUp() }
        let journal = Journal(path: tmp.path + "/runs.jsonl")
        for (id, status) in [("r1", "CREATED"), ("r2", "CREATED"), ("r1", "UPLOADED"), ("r3", "CREATED"),
                             ("r2", "COMPLETE_OK"), ("r1", "RUNNING")] {
            try journal.append(entry(id, status))
        }
        let latest = try journal.latest()
        #expect(latest.map(\.runId) == ["r1", "r2", "r3"])
        #expect(latest.map(\.status) == ["RUNNING", "COMPLETE_OK", "CREATED"])
        #expect(latest.filter(\.isPending).map(\.runId) == ["r1", "r3"])
        #expect(try journal.entries().count == 6)
    }

    @Test func tornLastLineAndCorruptMiddleLineAreSkippedWithAWarningEach() throws {
        let tmp = TempDir()
        defer { tmp.cleanUp() }
        let journal = Journal(path: tmp.path + "/runs.jsonl")
        try journal.append(entry("r1", "CREATED"))
        try appendRaw("this is not json\n", to: journal.path)
        try journal.append(entry("r2", "CREATED"))
        try appendRaw(#"{"baseURL":"http://127.0.0.1:8080","runId":"r3","sta"#, to: journal.path) // torn, no newline
        var warnings: [String] = []
        let entries = try journal.entries { warnings.append($0) }
        #expect(entries.map(\.runId) == ["r1", "r2"])
        #expect(warnings.count == 2)
        #expect(warnings.first?.contains("line 2") == true)
        #expect(warnings.last?.contains("line 4") == true)
        #expect(warnings.allSatisfy { $0.contains(journal.path) })

        var latestWarnings: [String] = []
        #expect(try journal.latest { latestWarnings.append($0) }.map(\.runId) == ["r1", "r2"])
        #expect(latestWarnings.count == 2)
    }

    /// A crash mid-append leaves a line without its newline; the next append must still be readable,
    /// or the run it records (its id!) is lost in the glued-together line.
    @Test func appendAfterATornLastLineIsStillReadable() throws {
        let tmp = TempDir()
        defer { tmp.cleanUp() }
        let journal = Journal(path: tmp.path + "/runs.jsonl")
        try journal.append(entry("r1", "CREATED"))
        try appendRaw(#"{"baseURL":"http://127.0.0.1:8080","runId":"r2","sta"#, to: journal.path)
        try journal.append(entry("r3", "CREATED"))
        var warnings: [String] = []
        let ids = try journal.entries { warnings.append($0) }.map(\.runId)
        #expect(ids == ["r1", "r3"])
        #expect(warnings.count == 1)
    }

    @Test func blankLinesAreIgnoredSilently() throws {
        let tmp = TempDir()
        defer { tmp.cleanUp() }
        let journal = Journal(path: tmp.path + "/runs.jsonl")
        try journal.append(entry("r1", "CREATED"))
        try appendRaw("\n\n", to: journal.path)
        try journal.append(entry("r2", "CREATED"))
        var warnings: [String] = []
        #expect(try journal.entries { warnings.append($0) }.map(\.runId) == ["r1", "r2"])
        #expect(warnings == [])
    }

    /// Several writers, each with its own Journal value (its own open file description), as separate
    /// helios processes would have: every line whole, none lost or interleaved.
    @Test func concurrentWritersNeverInterleave() throws {
        let tmp = TempDir()
        defer { tmp.cleanUp() }
        let path = tmp.path + "/runs.jsonl"
        let writers = 8, perWriter = 200
        let failures = Box<[String]>([])
        // A large payload on some lines makes a torn or interleaved write far more likely to show.
        let bulky = JSONValue.string(String(repeating: "x", count: 20_000))
        DispatchQueue.concurrentPerform(iterations: writers) { writer in
            let journal = Journal(path: path)
            for i in 0..<perWriter {
                var e = entry("w\(writer)-\(i)", "CREATED")
                if i % 10 == 0 { e.run = LazyJSON(.object(["padding": bulky])) }
                do { try journal.append(e) } catch { failures.update { $0.append("\(error)") } }
            }
        }
        #expect(failures.get == [])

        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(data.last == 0x0A)
        let lines = data.split(separator: 0x0A)
        #expect(lines.count == writers * perWriter)
        let decoder = JSONDecoder()
        let decoded = lines.compactMap { try? decoder.decode(JournalEntry.self, from: Data($0)) }
        #expect(decoded.count == writers * perWriter)
        #expect(Set(decoded.map(\.runId)).count == writers * perWriter)
        // Each writer's own entries stay in the order it wrote them.
        for writer in 0..<writers {
            let mine = decoded.compactMap(\.runId).filter { $0.hasPrefix("w\(writer)-") }
            #expect(mine == (0..<perWriter).map { "w\(writer)-\($0)" })
        }
        var warnings: [String] = []
        #expect(try Journal(path: path).entries { warnings.append($0) }.count == writers * perWriter)
        #expect(warnings == [])
    }

    @Test(arguments: [
        (["HELIOS_STATE_DIR": "/s", "XDG_STATE_HOME": "/x", "HOME": "/h"], "/s/runs.jsonl"),
        (["XDG_STATE_HOME": "/x", "HOME": "/h"], "/x/helios/runs.jsonl"),
        (["HOME": "/h"], "/h/.local/state/helios/runs.jsonl"),
        (["HELIOS_STATE_DIR": "", "XDG_STATE_HOME": "/x", "HOME": "/h"], "/x/helios/runs.jsonl"),
        (["HELIOS_STATE_DIR": "", "XDG_STATE_HOME": "", "HOME": "/h"], "/h/.local/state/helios/runs.jsonl"),
    ])
    func defaultPathPrecedence(environment: [String: String], expected: String) {
        #expect(Journal.defaultPath(environment: environment) == expected)
    }

    @Test func defaultPathWithoutHomeStillEndsInTheStateDirectory() {
        #expect(Journal.defaultPath(environment: [:]).hasSuffix("/.local/state/helios/runs.jsonl"))
    }

    /// Adding a field to the journal is a conscious decision: it must be added here too. The API key
    /// and the upload URL (its signature is a credential) must never be among them.
    @Test func fieldsAreExactlyTheDocumentedOnes() throws {
        let expected: Set<String> = [
            "intent", "runId", "time", "baseURL", "file", "bytes", "sha256", "userLabel", "line", "state", "apiStatus",
            "requestDigest", "uploadURLExpiresAt", "contentType", "errorCode", "replacedBy", "run",
        ]
        var e = entry("r1", "COMPLETE_OK")
        e.intent = "7d1c5f0e-1111-4222-8333-944455556666"
        e.line = 7
        e.contentType = "audio/wav"
        e.uploadURLExpiresAt = "2025-03-14T10:12:03Z"
        e.errorCode = "ERR_INTERNAL"
        e.replacedBy = "r2"
        e.run = LazyJSON(.object(["id": .string("r1")]))
        let stored = Set(Mirror(reflecting: e).children.compactMap(\.label))
        #expect(stored == expected)
        let data = try JSONEncoder().encode(e)
        let keys = Set(try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any]).keys)
        #expect(keys == expected)
        let forbidden = ["key", "apikey", "api_key", "x-api-key", "secret", "token", "uploadurl", "recordinguploadurl"]
        #expect(keys.filter { forbidden.contains($0.lowercased()) } == [])
    }

    @Test func entryRoundTripsThroughALine() throws {
        var e = entry("r1", "COMPLETE_OK")
        e.run = LazyJSON(try APIExamples.json(APIExamples.completeOK))
        let decoded = try JSONDecoder().decode(JournalEntry.self, from: try JSONEncoder().encode(e))
        #expect(decoded == e)
    }

    @Test(arguments: [
        ("CREATED", true), ("UPLOADED", true), ("RUNNING", true), ("SOMETHING_NEW", true),
        ("COMPLETE_OK", false), ("COMPLETE_ERROR", false), ("ABANDONED", false),
    ])
    func pending(status: String, isPending: Bool) {
        #expect(entry("r1", status).isPending == isPending)
    }

    @Test func journalOf010IsReadWithItsStatusesMapped() throws {
        let tmp = TempDir()
        defer { tmp.cleanUp() }
        try FileManager.default.createDirectory(atPath: tmp.path, withIntermediateDirectories: true)
        let lines = [#"{"runId":"r1","time":"t","baseURL":"b","status":"CREATED"}"#,
                     #"{"runId":"r2","time":"t","baseURL":"b","status":"RUNNING"}"#,
                     #"{"runId":"r3","time":"t","baseURL":"b","status":"COMPLETE_ERROR"}"#]
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: tmp.path + "/runs.jsonl"))
        let latest = try Journal(path: tmp.path + "/runs.jsonl").latest()
        #expect(latest.map(\.state) == [.created, .uploaded, .finished])
        #expect(latest.map(\.status) == ["CREATED", "RUNNING", "COMPLETE_ERROR"])
    }

    @Test func createIntentAndItsRunAreOneItem() throws {
        let tmp = TempDir()
        defer { tmp.cleanUp() }
        let journal = Journal(path: tmp.path + "/runs.jsonl")
        var e = JournalEntry(intent: "7d1c5f0e-1111-4222-8333-944455556666", runId: nil, baseURL: "b", state: .creating)
        try journal.append(e)
        #expect(try journal.latest().map(\.status) == ["CREATING"])
        e.runId = "3f2b8c1e-6a4d-4e7b-9c0a-1d2e3f4a5b6c"
        e.state = .created
        try journal.append(e)
        let latest = try journal.latest()
        #expect(latest.count == 1)
        #expect(latest.first?.runId == e.runId)
        #expect(latest.first?.isPending == true)
    }

    @Test func symlinkAtTheJournalPathIsRefusedNotFollowed() throws {
        let tmp = TempDir()
        defer { tmp.cleanUp() }
        try FileManager.default.createDirectory(atPath: tmp.path, withIntermediateDirectories: true)
        let target = tmp.path + "/elsewhere"
        #expect(FileManager.default.createFile(atPath: target, contents: Data(), attributes: [.posixPermissions: 0o644]))
        try FileManager.default.createSymbolicLink(atPath: tmp.path + "/runs.jsonl", withDestinationPath: target)
        #expect(throws: JournalError.self) { try Journal(path: tmp.path + "/runs.jsonl").append(entry("r1", "CREATED")) }
        #expect(try permissions(target) == 0o644)
        #expect(try Data(contentsOf: URL(fileURLWithPath: target)).isEmpty)
    }

    @Test func unwritableLocationIsAJournalError() throws {
        let tmp = TempDir()
        defer { tmp.cleanUp() }
        // A regular file where the directory should be.
        try FileManager.default.createDirectory(atPath: tmp.path, withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: tmp.path + "/blocker", contents: Data("x".utf8)))
        let journal = Journal(path: tmp.path + "/blocker/runs.jsonl")
        #expect(throws: JournalError.self) { try journal.append(entry("r1", "CREATED")) }
    }
}

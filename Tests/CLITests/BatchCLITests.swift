import Foundation
import HeliosCore
import HeliosTestSupport
import Testing

/// Many recordings: manifests, concurrency, resume, interruption, and the shared journal.
@Suite(.blocking) struct BatchCLITests {
    /// Writes `count` distinct recordings (distinct lengths, so distinct bytes) and a CSV manifest
    /// giving each its own person; returns the manifest's path and the labels by file name.
    func makeStudy(_ h: RunHarness, count: Int, csvExtra: String = "") throws -> (manifest: String, labels: [String: String]) {
        var csv = "file,userLabel,dob,sex,tag:site\n"
        var labels: [String: String] = [:]
        for i in 0..<count {
            let name = "p\(i).wav"
            _ = try h.recording(.wav, seconds: 11 + Double(i) * 0.25, name: name)
            let label = "participant-\(i)"
            labels[name] = label
            csv += "\(name),\(label),19\(70 + i)-0\(i % 9 + 1),\(i % 2 == 0 ? "FEMALE" : "male"),site-\(i % 3)\n"
        }
        csv += csvExtra
        let manifest = h.dir + "/study.csv"
        try csv.write(toFile: manifest, atomically: true, encoding: .utf8)
        return (manifest, labels)
    }

    @Test func manifestSubmitsEveryRowWithItsOwnFields() throws {
        let h = try RunHarness()
        let (manifest, labels) = try makeStudy(h, count: 12)
        let r = try h.helios(["submit", "--manifest", manifest, "--json", "--concurrency", "4", "--poll-interval", "1s"])
        #expect(r.status == 0, "\(r.stderr)")
        let results = try r.jsonLines()
        #expect(results.count == 12)
        #expect(results.allSatisfy { $0["status"] as? String == "COMPLETE_OK" })
        for result in results {
            let file = ((result["file"] as? String ?? "") as NSString).lastPathComponent
            #expect(result["userLabel"] as? String == labels[file])
        }
        let runs = try h.emulator.runs()
        #expect(runs.count == 12)
        #expect(Set(runs.map(\.userLabel)) == Set(labels.values))
        let p3 = try #require(runs.first { $0.userLabel == "participant-3" })
        #expect(p3.dateOfBirth == "1973-04-01" && p3.birthSex == "MALE")
        #expect(p3.tags.map(\.name) == ["site"] && p3.tags.first?.value == "site-0")
        #expect(r.stderr.contains("12 recordings: 12 COMPLETE_OK"))

        // The same command again resumes: nothing is sent twice, every result is printed again.
        let again = try h.helios(["submit", "--manifest", manifest, "--json", "--poll-interval", "1s"])
        #expect(again.status == 0)
        #expect(try again.jsonLines().count == 12)
        #expect(try h.emulator.runs().count == 12)
        #expect(again.stderr.contains("12 of 12 recordings found in the journal"))

        // --force sends everything afresh.
        let forced = try h.helios(["upload", "--manifest", manifest, "--force", "--concurrency", "8"])
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(forced.stdout.split(separator: "\n").count == 12)
        #expect(try h.emulator.runs().count == 24)
    }

    /// Ctrl-C part-way, then the same command: every recording uploaded exactly once, each
    /// label from its row, every result printed.
    @Test func interruptedBatchResumesWithoutDuplicates() throws {
        let h = try RunHarness(processingTime: "2s")
        let (manifest, labels) = try makeStudy(h, count: 12)
        let first = try h.interrupt(["submit", "--manifest", manifest, "--json", "--concurrency", "3", "--poll-interval", "1s"]) {
            ((try? h.journal().filter { $0.status == "UPLOADED" }.count) ?? 0) >= 4
        }
        let firstErr = first.stderr, firstOut = first.stdout
        #expect(first.status == 130, "\(firstErr)")
        #expect(firstErr.contains("interrupted"))
        let createdBefore = try h.emulator.runs().count
        #expect(createdBefore < 12, "the interruption came too late to test a resume")
        #expect(Set(try h.journal().compactMap(\.runId)).count == createdBefore, "every created run is journaled")

        let resumed = try h.helios(["submit", "--manifest", manifest, "--json", "--concurrency", "3", "--poll-interval", "1s"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let results = try resumed.jsonLines()
        #expect(results.count == 12)
        #expect(results.allSatisfy { $0["status"] as? String == "COMPLETE_OK" })
        let printedBefore = firstOut.split(separator: "\n").count
        #expect(printedBefore <= 12)

        // From the emulator's side: each recording's bytes arrived in exactly one successful upload.
        let puts = try h.uploads().filter { $0.status == 200 }
        let bySha = Dictionary(grouping: puts, by: { $0.bodySha256 ?? "" })
        #expect(bySha.count == 12)
        #expect(bySha.values.allSatisfy { $0.count == 1 })
        let completed = try h.emulator.runs().filter { $0.status == "COMPLETE_OK" }
        #expect(Set(completed.map(\.userLabel)) == Set(labels.values))
    }

    @Test func badRowStopsEverythingNamingItsLine() throws {
        let h = try RunHarness()
        let (manifest, _) = try makeStudy(h, count: 5, csvExtra: "p1.wav,late-row,1990-13,male,site-9\n")
        let r = try h.helios(["submit", "--manifest", manifest])
        #expect(r.status == 2)
        #expect(r.stderr.contains("study.csv:7:"), "\(r.stderr)")
        #expect(r.stderr.contains("month 13 does not exist"))
        #expect(try h.emulator.log().filter { $0.route != nil }.isEmpty)
    }

    @Test func aRejectedRecordingInTheManifestStopsEverything() throws {
        let h = try RunHarness()
        _ = try h.recording(.wav, seconds: 4, name: "short.wav")
        let (manifest, _) = try makeStudy(h, count: 3, csvExtra: "short.wav,px,1990,male,\n")
        let r = try h.helios(["submit", "--manifest", manifest])
        #expect(r.status == 3)
        #expect(r.stderr.contains("short.wav") && r.stderr.contains("TOO_SHORT"))
        #expect(try h.emulator.log().filter { $0.route != nil }.isEmpty)
    }

    @Test func aBadKeyFailsTheWholeBatchWithExit4Once() throws {
        let h = try RunHarness()
        let (manifest, _) = try makeStudy(h, count: 6)
        let r = try h.helios(["submit", "--manifest", manifest, "--concurrency", "2"], env: ["THYMIA_API_KEY": "wrong"])
        #expect(r.status == 4)
        #expect(r.stderr.components(separatedBy: "refused the key").count - 1 == 1)
        #expect(try h.emulator.log().filter { $0.route == "create" }.count <= 2)
    }

    @Test func mixedOutcomesExit1() throws {
        let h = try RunHarness()
        let good = try h.recording(.wav, name: "good.wav")
        let marked = try h.recording(.wav, seconds: 12.5, name: "marked.wav")
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: marked))
        try handle.seek(toOffset: 2000)
        handle.write(Data("HELIOS_EMULATOR_ERR_INTERNAL".utf8))
        try handle.close()
        let r = try h.helios(["submit", good, marked, "--json", "--poll-interval", "1s"] + RunHarness.userArgs)
        #expect(r.status == 1)
        let statuses = try r.jsonLines().compactMap { $0["status"] as? String }.sorted()
        #expect(statuses == ["COMPLETE_ERROR", "COMPLETE_OK"])
        #expect(r.stderr.contains("2 recordings: 1 COMPLETE_OK, 1 COMPLETE_ERROR"))
    }

    @Test func resumeFlagReusesTheJournalForNamedFilesAndPlainSubmitDoesNot() throws {
        let h = try RunHarness()
        let file = try h.recording()
        let first = try h.helios(["submit", file, "-u", "same-person", "--poll-interval", "1s"] + RunHarness.userArgs)
        #expect(first.status == 0)
        let resumed = try h.helios(["submit", file, "-u", "same-person", "--resume", "--json"] + RunHarness.userArgs)
        #expect(resumed.status == 0)
        #expect(try resumed.jsonLines().first?["status"] as? String == "COMPLETE_OK")
        #expect(try h.emulator.runs().count == 1)
        let plain = try h.helios(["submit", file, "-u", "same-person", "--poll-interval", "1s"] + RunHarness.userArgs)
        #expect(plain.status == 0)
        #expect(try h.emulator.runs().count == 2, "a plain submit must really reach the API")
    }

    /// --timeout is per run: the second of two sequential runs gets its own full wait.
    @Test func timeoutIsEachRunsOwn() throws {
        let h = try RunHarness(processingTime: "2s")
        let files = try (0..<2).map { try h.recording(.wav, seconds: 12 + Double($0), name: "t\($0).wav") }
        let r = try h.helios(["submit"] + files + ["--concurrency", "1", "--timeout", "4s", "--poll-interval", "1s", "--json"] + RunHarness.userArgs)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try r.jsonLines().count == 2)
    }

    @Test func pollPendingResumesEveryUnfinishedRun() throws {
        let h = try RunHarness(processingTime: "2s")
        let files = try (0..<3).map { try h.recording(.wav, seconds: 12 + Double($0), name: "r\($0).wav") }
        let up = try h.helios(["upload"] + files + RunHarness.userArgs)
        #expect(up.status == 0)
        let pending = try h.helios(["runs", "--pending", "--json"])
        #expect(pending.stdout.split(separator: "\n").count == 3)
        let polled = try h.helios(["poll", "--pending", "--json", "--poll-interval", "1s"])
        #expect(polled.status == 0, "\(polled.stderr)")
        #expect(try polled.jsonLines().count == 3)
        #expect(try h.helios(["runs", "--pending"]).stdout.isEmpty)
    }

    /// Two helios processes writing one journal at once: every line intact, every run present.
    @Test func concurrentProcessesShareOneJournal() throws {
        let h = try RunHarness()
        let a = try (0..<4).map { try h.recording(.wav, seconds: 12 + Double($0) * 0.1, name: "a\($0).wav") }
        let b = try (0..<4).map { try h.recording(.flac, seconds: 12 + Double($0) * 0.1, name: "b\($0).flac") }
        let group = DispatchGroup()
        let results = LockedResults()
        for files in [a, b] {
            group.enter()
            DispatchQueue.global().async {
                let r = try? h.helios(["submit"] + files + ["--concurrency", "4", "--poll-interval", "1s"] + RunHarness.userArgs)
                results.append(r?.status ?? -1)
                group.leave()
            }
        }
        group.wait()
        #expect(results.values == [0, 0])
        var warnings: [String] = []
        let entries = try Journal(path: h.state + "/runs.jsonl").entries(warn: { warnings.append($0) })
        #expect(warnings.isEmpty)
        let latest = Dictionary(grouping: entries, by: \.key).mapValues { $0.last!.status }
        #expect(latest.count == 8)
        #expect(latest.values.allSatisfy { $0 == "COMPLETE_OK" })
    }

    @Test func tornJournalLineIsSkippedWithAWarning() throws {
        let h = try RunHarness()
        let file = try h.recording()
        #expect(try h.helios(["upload", file] + RunHarness.userArgs).status == 0)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: h.state + "/runs.jsonl"))
        try handle.seekToEnd()
        handle.write(Data(#"{"runId":"torn","status":"CRE"#.utf8))
        try handle.close()
        let runs = try h.helios(["runs"])
        #expect(runs.status == 0)
        #expect(runs.stderr.contains("warning:") && runs.stderr.contains("unreadable line 5"))
        #expect(runs.stdout.contains("UPLOADED"))
        // The next write starts on a fresh line, so nothing after the tear is lost.
        #expect(try h.helios(["poll", "--pending", "--poll-interval", "1s"]).status == 0)
        let again = try h.helios(["runs", "--json"])
        #expect(again.stdout.contains("COMPLETE_OK"))
    }
}

private final class LockedResults: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [Int32] = []
    func append(_ v: Int32) { lock.withLock { items.append(v) } }
    var values: [Int32] { lock.withLock { items } }
}

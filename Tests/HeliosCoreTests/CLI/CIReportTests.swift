import Foundation
import Testing
@testable import HeliosCore
import HeliosTestSupport

/// Issue 12: `--summary FILE` (one JSON object) and `--junit FILE` (JUnit XML) for CI, written
/// when the command ends whatever its exit code.
@Suite(.blocking) struct CIReportTests {
    static let wait = LifecycleRuleTests.wait

    @Test func aMixedStudyGivesCountsRunIdsAndOneTestCasePerRecording() throws {
        let (world, files) = try LifecycleRuleTests.world(3)
        let manifest = world.dir + "/study.csv"
        try ("file,userLabel,dob,sex\n" + files.enumerated().map { "\($1),p\($0 + 1),1980,MALE" }.joined(separator: "\n")
             + "\n\(world.dir)/gone.ogg,p4,1980,MALE\n").write(toFile: manifest, atomically: true, encoding: .utf8)
        world.server.rewrite = { route, _, honest in
            guard route == "get", var object = try? JSONSerialization.jsonObject(with: honest.body) as? [String: Any],
                  object["status"] as? String == "COMPLETE_OK", object["userLabel"] as? String == "p2" else { return honest }
            object["status"] = "COMPLETE_ERROR"
            object["errorCode"] = "ERR_RECORDING_TOO_SHORT"
            object["errorReason"] = "<short> & \"quiet\""
            object["results"] = nil
            return HTTPResponse(status: 200, body: (try? JSONSerialization.data(withJSONObject: object)) ?? Data())
        }
        let summaryPath = world.dir + "/summary.json", junitPath = world.dir + "/junit.xml"
        let r = world.run(["submit", "--manifest", manifest, "--skip-invalid", "--summary", summaryPath, "--junit", junitPath] + Self.wait)
        #expect(r.status == ExitCode.runFailed.rawValue, "\(r.stderr)")

        let summary = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: summaryPath))) as? [String: Any])
        #expect(summary["command"] as? String == "submit" && summary["exitCode"] as? Int == 1 && summary["total"] as? Int == 4)
        let counts = try #require(summary["counts"] as? [String: Int])
        #expect(counts["COMPLETE_OK"] == 2 && counts["COMPLETE_ERROR"] == 1 && counts["skipped"] == 1 && counts["failed"] == 0, "\(counts)")
        let items = try #require(summary["items"] as? [[String: Any]])
        #expect(Set(items.compactMap { $0["runId"] as? String }) == Set(world.server.runs.map(\.id)))
        #expect(items.contains { $0["outcome"] as? String == "COMPLETE_ERROR" && $0["errorCode"] as? String == "ERR_RECORDING_TOO_SHORT" })

        let xml = try String(contentsOfFile: junitPath, encoding: .utf8)
        #expect(xml.contains("<testsuites name=\"helios\" tests=\"4\" failures=\"1\" errors=\"0\" skipped=\"1\""), "\(xml)")
        #expect(xml.components(separatedBy: "<testcase ").count == 5)
        #expect(xml.contains("<failure type=\"ERR_RECORDING_TOO_SHORT\" message=\"ERR_RECORDING_TOO_SHORT: &lt;short&gt; &amp; &quot;quiet&quot;\">"), "\(xml)")
        #expect(xml.contains("action: ask the person to speak for at least 10 seconds"))
        #expect(xml.contains("<skipped message=\""))
        #expect(Self.wellFormed(xml), "\(xml)")
    }

    /// Tags nest and close in order, attribute values are quoted, and no bare `<` or `&` is left
    /// in text or attributes (FoundationXML would need libxml2 on the test machine).
    static func wellFormed(_ xml: String) -> Bool {
        var stack: [Substring] = []
        var rest = Substring(xml)
        if rest.hasPrefix("<?xml") { guard let end = rest.range(of: "?>") else { return false }; rest = rest[end.upperBound...] }
        while let open = rest.firstIndex(of: "<") {
            let text = rest[..<open]
            if text.contains(">") || !Self.entitiesOK(text) { return false }
            guard let close = rest[open...].firstIndex(of: ">") else { return false }
            var tag = rest[rest.index(after: open)..<close]
            rest = rest[rest.index(after: close)...]
            let selfClosing = tag.hasSuffix("/")
            if selfClosing { tag = tag.dropLast() }
            if tag.hasPrefix("/") {
                guard stack.popLast() == tag.dropFirst() else { return false }
                continue
            }
            let name = tag.prefix { $0 != " " }
            let attributes = tag.dropFirst(name.count)
            // name="value" pairs: quotes balanced, no < or bare & inside.
            if attributes.filter({ $0 == "\"" }).count % 2 != 0 || attributes.contains("<") || !Self.entitiesOK(attributes) { return false }
            if !selfClosing { stack.append(name) }
        }
        return stack.isEmpty && Self.entitiesOK(rest)
    }

    static func entitiesOK(_ text: Substring) -> Bool {
        var index = text.startIndex
        while let amp = text[index...].firstIndex(of: "&") {
            guard let semi = text[amp...].firstIndex(of: ";"), text.distance(from: amp, to: semi) <= 6 else { return false }
            let entity = text[text.index(after: amp)..<semi]
            guard ["amp", "lt", "gt", "quot", "apos"].contains(entity) || entity.hasPrefix("#") else { return false }
            index = text.index(after: semi)
        }
        return true
    }

    @Test func aFailedCommandStillWritesItsReportsWithTheFailure() throws {
        let (world, files) = try LifecycleRuleTests.world()
        world.key = "wrong-key"
        let junitPath = world.dir + "/junit.xml", summaryPath = world.dir + "/summary.json"
        let r = world.run(["submit"] + files + LifecycleRuleTests.person + Self.wait + ["--junit", junitPath, "--summary", summaryPath])
        #expect(r.status == ExitCode.authFailed.rawValue, "\(r.stderr)")
        let xml = try String(contentsOfFile: junitPath, encoding: .utf8)
        #expect(xml.contains("errors=\"1\"") && xml.contains("<error type=\"auth\""), "\(xml)")
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: summaryPath))) as? [String: Any])
        #expect(summary["exitCode"] as? Int == 4)
        // A rejected recording (nothing sent) is in the report too.
        let (other, _) = try LifecycleRuleTests.world()
        let missing = other.run(["submit", other.dir + "/gone.wav"] + LifecycleRuleTests.person + ["--junit", junitPath])
        #expect(missing.status == ExitCode.recordingRejected.rawValue)
        #expect(try String(contentsOfFile: junitPath, encoding: .utf8).contains("<error type=\"NOT_FOUND\""))
    }

    @Test func xmlEscapingKeepsTheDocumentWellFormed() {
        #expect(CIReports.escape("a<b>&\"c\"'\u{1B}\n") == "a&lt;b&gt;&amp;&quot;c&quot;&apos;\\x1b&#10;")
        #expect(Self.wellFormed("<a x=\"1\"><b/>t &amp; u</a>"))
        #expect(!Self.wellFormed("<a><b></a></b>") && !Self.wellFormed("<a>x & y</a>") && !Self.wellFormed("<a x=\"<\"/>"))
    }
}

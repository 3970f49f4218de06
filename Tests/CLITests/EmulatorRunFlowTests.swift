import Foundation
import HeliosCore
import HeliosTestSupport
import Testing

/// create → PUT → poll against the real binary, and the run outcomes.
@Suite(.blocking) struct EmulatorRunFlowTests {
    static let fast = ["--processing-time", "200ms"]

    @Test func createReturnsUUIDAndSignedUploadURLOnTheEmulator() throws {
        let emu = try EmulatorProcess.start(arguments: Self.fast)
        defer { emu.stop() }
        let r = try EmulatorClient(emu: emu).create()
        #expect(r.status == 200)
        let id = try #require(r.object["id"] as? String)
        #expect(UUID(uuidString: id) != nil && id == id.lowercased())
        let url = try #require(r.object["recordingUploadUrl"] as? String)
        #expect(url.hasPrefix(emu.baseURL + "/_upload/" + id + "?expires="))
        let signature = try #require(url.components(separatedBy: "signature=").last)
        #expect(signature.count == 64 && signature.allSatisfy(\.isHexDigit))
        let fresh = try EmulatorClient(emu: emu).get(id)
        #expect(fresh.object["status"] as? String == "CREATED")
    }

    @Test func envelopeHasEveryFieldInReferenceOrderWithExplicitNulls() throws {
        let emu = try EmulatorProcess.start(arguments: Self.fast)
        defer { emu.stop() }
        let client = EmulatorClient(emu: emu)
        let run = try client.createRun()
        let text = try client.get(run.id).text
        let keys = ["id", "createdAt", "status", "userLabel", "deleteData", "runAt", "completedAt",
                    "errorReason", "warnings", "results", "errorCode"]
        let positions = keys.map { text.range(of: "\"\($0)\":")?.lowerBound }
        #expect(positions.allSatisfy { $0 != nil })
        #expect(positions.compactMap { $0 } == positions.compactMap { $0 }.sorted())
        #expect(text.contains("\"runAt\":null") && text.contains("\"results\":null"))
        let created = try #require(client.get(run.id).object["createdAt"] as? String)
        #expect(created.range(of: #"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00$"#, options: .regularExpression) != nil)
    }

    @Test func uploadMovesRunToRunningThenCompleteErrorForRandomBytes() throws {
        let emu = try EmulatorProcess.start(arguments: ["--processing-time", "1s"])
        defer { emu.stop() }
        let client = EmulatorClient(emu: emu)
        let run = try client.createRun()
        let put = try client.upload(run.uploadURL, TestWAV.randomBytes(50_000))
        #expect(put.status == 200)
        #expect(put.body.isEmpty)
        let running = try client.get(run.id).object
        #expect(running["status"] as? String == "RUNNING")
        #expect(running["runAt"] is String)
        let done = try client.waitForCompletion(run.id)
        #expect(done["status"] as? String == "COMPLETE_ERROR")
        #expect(done["errorCode"] as? String == "ERR_RECORDING_INVALID_FORMAT")
        #expect((done["errorReason"] as? String)?.isEmpty == false)
        #expect(done["completedAt"] is String)
        #expect(done["results"] is NSNull)
    }

    @Test func emptyUploadIsInvalidFormat() throws {
        let emu = try EmulatorProcess.start(arguments: Self.fast)
        defer { emu.stop() }
        let done = try EmulatorClient(emu: emu).submit(Data())
        #expect(done["errorCode"] as? String == "ERR_RECORDING_INVALID_FORMAT")
        #expect(try emu.log().last { $0.route == "upload" }?.contentLength == "0")
    }

    @Test func markerInFirst64KiBGivesInternalError() throws {
        let emu = try EmulatorProcess.start(arguments: Self.fast)
        defer { emu.stop() }
        var bytes = TestWAV.tone(seconds: 12)
        bytes.replaceSubrange(1000..<1028, with: Array("HELIOS_EMULATOR_ERR_INTERNAL".utf8))
        let done = try EmulatorClient(emu: emu).submit(bytes)
        #expect(done["status"] as? String == "COMPLETE_ERROR")
        #expect(done["errorCode"] as? String == "ERR_INTERNAL")
    }

    @Test func secondUploadIsRefusedWith409() throws {
        let emu = try EmulatorProcess.start(arguments: Self.fast)
        defer { emu.stop() }
        let client = EmulatorClient(emu: emu)
        let run = try client.createRun()
        #expect(try client.upload(run.uploadURL, Data([1, 2, 3])).status == 200)
        let again = try client.upload(run.uploadURL, Data([1, 2, 3]))
        #expect(again.status == 409)
        #expect(try emu.runs().first?.uploadCount == 1)
    }

    @Test
    func twelveSecondsOfSpeechCompleteOKWithScoresInRange() throws {
        let emu = try EmulatorProcess.start(arguments: Self.fast)
        defer { emu.stop() }
        let client = EmulatorClient(emu: emu)
        let wav = TestWAV.speech(seconds: 12)
        let done = try client.submit(wav)
        #expect(done["status"] as? String == "COMPLETE_OK")
        #expect(done["errorCode"] is NSNull)
        let results = try #require(done["results"] as? [String: Any])
        let sections = try #require(results["sections"] as? [[String: Any]])
        #expect(sections.count == 1)
        let section = sections[0]
        #expect(section["startSecs"] as? Double == 0)
        #expect(abs((section["finishSecs"] as? Double ?? 0) - 12) < 0.1)
        #expect((section["transcript"] as? String)?.contains("emulator") == true)
        func value(_ key: String) -> Double? { (section[key] as? [String: Any])?["value"] as? Double }
        for key in ["distress", "stress", "exhaustion", "sleepPropensity", "lowSelfEsteem"] {
            #expect([0, 0.33, 0.66, 1.0].contains(try #require(value(key))), "\(key)")
        }
        for key in ["mentalStrain", "uniformDistress", "uniformStress", "uniformExhaustion",
                    "uniformSleepPropensity", "uniformLowSelfEsteem"] {
            let v = try #require(value(key))
            #expect((0...1).contains(v) && (v * 100).rounded() / 100 == v, "\(key)")
        }
        // Same bytes, same scores.
        let again = try client.submit(wav)
        #expect(NSDictionary(dictionary: results) == NSDictionary(dictionary: try #require(again["results"] as? [String: Any])))
    }

    @Test
    func fourSecondToneIsTooShort() throws {
        let emu = try EmulatorProcess.start(arguments: Self.fast)
        defer { emu.stop() }
        let done = try EmulatorClient(emu: emu).submit(TestWAV.tone(seconds: 4))
        #expect(done["errorCode"] as? String == "ERR_RECORDING_TOO_SHORT")
    }

    @Test
    func twoHundredSecondToneIsTooLong() throws {
        let emu = try EmulatorProcess.start(arguments: Self.fast)
        defer { emu.stop() }
        let done = try EmulatorClient(emu: emu).submit(TestWAV.tone(seconds: 200))
        #expect(done["errorCode"] as? String == "ERR_RECORDING_TOO_LONG")
    }

    @Test func deleteDataRunDisappearsAfterDeletionDelay() throws {
        let emu = try EmulatorProcess.start(arguments: Self.fast + ["--deletion-delay", "300ms"])
        defer { emu.stop() }
        let client = EmulatorClient(emu: emu)
        var body = EmulatorClient.minimalBody
        body["deleteData"] = true
        let deleted = try client.createRun(body)
        body["dataToDelete"] = ["RECORDINGS"]
        let kept = try client.createRun(body)
        for run in [deleted, kept] {
            _ = try client.upload(run.uploadURL, Data("x".utf8))
            _ = try client.waitForCompletion(run.id)
        }
        Thread.sleep(forTimeInterval: 0.5)
        let gone = try client.get(deleted.id)
        #expect(gone.status == 404)
        #expect(gone.object["detail"] as? String == "Model run not found")
        #expect(try client.get(kept.id).status == 200)
    }

    @Test func logRecordsUploadBytesAndDigestButNeverTheKey() throws {
        let key = "super-secret-key-\(UUID().uuidString)"
        let emu = try EmulatorProcess.start(arguments: Self.fast + ["--api-key", key])
        defer { emu.stop() }
        let client = EmulatorClient(emu: emu, key: key)
        let bytes = TestWAV.randomBytes(123_457)
        let run = try client.createRun()
        _ = try client.upload(run.uploadURL, bytes)
        _ = try client.get(run.id)
        let log = try emu.log()
        #expect(log.map(\.route) == ["create", "upload", "get"])
        #expect(log.map(\.seq) == [1, 2, 3])
        let put = log[1]
        #expect(put.method == "PUT" && put.path == "/_upload/\(run.id)")
        #expect(put.bodyBytes == 123_457 && put.contentLength == "123457")
        #expect(put.bodySha256 == SHA256.hexDigest(of: bytes))
        #expect(put.contentType == "audio/wav" && put.transferEncoding == nil)
        #expect(put.hasApiKey == false && log[0].hasApiKey && log[2].hasApiKey)
        #expect(put.runId == run.id && log[0].runId == run.id)
        let raw = String(decoding: try emu.introspect("log") + emu.introspect("runs"), as: UTF8.self)
        #expect(!raw.contains(key))
        emu.stop()
        #expect(!emu.stderrText().contains(key))
        #expect(emu.stderrText().split(separator: "\n").count >= 3)
    }

    @Test func runsIntrospectionKeepsUserFields() throws {
        let emu = try EmulatorProcess.start(arguments: Self.fast)
        defer { emu.stop() }
        var body = EmulatorClient.minimalBody
        body["accent"] = "KE"
        body["tags"] = [["name": "site", "value": "depot-7"]]
        body["recordingTime"] = "2025-03-14T09:10:00"
        let run = try EmulatorClient(emu: emu).createRun(body)
        let info = try #require(try emu.runs().first)
        #expect(info.id == run.id && info.status == "CREATED" && info.uploadCount == 0)
        #expect(info.userLabel == "operator-1234" && info.dateOfBirth == "1990-08-01" && info.birthSex == "FEMALE")
        #expect(info.language == "en-GB" && info.accent == "KE" && info.recordingTime == "2025-03-14T09:10:00")
        #expect(info.tags == [EmulatorRunInfo.Tag(name: "site", value: "depot-7")])
    }
}

import Foundation
import HeliosTestSupport
import Testing

/// 422 bodies, authentication and routing of the emulator's API endpoints.
@Suite(.blocking) struct EmulatorValidationTests {
    struct BadBody: CustomStringConvertible, Sendable {
        var name: String
        var raw: String
        var loc: [String]
        var description: String { name }
    }

    static let user = #""user":{"userLabel":"u1","dateOfBirth":"1990-08-01","birthSex":"MALE"}"#
    static func body(_ extra: String) -> String { "{\(user),\"language\":\"en-GB\"\(extra)}" }

    static let cases: [BadBody] = [
        BadBody(name: "not JSON", raw: "{not json", loc: ["body"]),
        BadBody(name: "array body", raw: "[1,2]", loc: ["body"]),
        BadBody(name: "no user", raw: #"{"language":"en-GB"}"#, loc: ["body", "user"]),
        BadBody(name: "user not object", raw: #"{"user":"x","language":"en-GB"}"#, loc: ["body", "user"]),
        BadBody(name: "empty label", raw: #"{"user":{"userLabel":"","dateOfBirth":"1990-08-01","birthSex":"MALE"},"language":"en-GB"}"#, loc: ["body", "user", "userLabel"]),
        BadBody(name: "51-char label", raw: #"{"user":{"userLabel":""# + String(repeating: "a", count: 51) + #"","dateOfBirth":"1990-08-01","birthSex":"MALE"},"language":"en-GB"}"#, loc: ["body", "user", "userLabel"]),
        BadBody(name: "label not string", raw: #"{"user":{"userLabel":5,"dateOfBirth":"1990-08-01","birthSex":"MALE"},"language":"en-GB"}"#, loc: ["body", "user", "userLabel"]),
        BadBody(name: "no label", raw: #"{"user":{"dateOfBirth":"1990-08-01","birthSex":"MALE"},"language":"en-GB"}"#, loc: ["body", "user", "userLabel"]),
        BadBody(name: "Feb 30", raw: #"{"user":{"userLabel":"u","dateOfBirth":"1990-02-30","birthSex":"MALE"},"language":"en-GB"}"#, loc: ["body", "user", "dateOfBirth"]),
        BadBody(name: "future birth", raw: #"{"user":{"userLabel":"u","dateOfBirth":"2999-01-01","birthSex":"MALE"},"language":"en-GB"}"#, loc: ["body", "user", "dateOfBirth"]),
        BadBody(name: "no birth date", raw: #"{"user":{"userLabel":"u","birthSex":"MALE"},"language":"en-GB"}"#, loc: ["body", "user", "dateOfBirth"]),
        BadBody(name: "bad sex", raw: #"{"user":{"userLabel":"u","dateOfBirth":"1990-08-01","birthSex":"UNSPECIFIED"},"language":"en-GB"}"#, loc: ["body", "user", "birthSex"]),
        BadBody(name: "no language", raw: "{\(user)}", loc: ["body", "language"]),
        BadBody(name: "bad language", raw: "{\(user),\"language\":\"xx-XX\"}", loc: ["body", "language"]),
        BadBody(name: "bad accent", raw: body(#","accent":"US""#), loc: ["body", "accent"]),
        BadBody(name: "sleepTime with Z", raw: body(#","sleepTime":"2025-03-13T23:15:00Z""#), loc: ["body", "sleepTime"]),
        BadBody(name: "wakeTime with offset", raw: body(#","wakeTime":"2025-03-14T06:45:00+01:00""#), loc: ["body", "wakeTime"]),
        BadBody(name: "recordingTime garbage", raw: body(#","recordingTime":"yesterday""#), loc: ["body", "recordingTime"]),
        BadBody(name: "tags not list", raw: body(#","tags":{}"#), loc: ["body", "tags"]),
        BadBody(name: "21 tags", raw: body(",\"tags\":[" + (0..<21).map { "{\"name\":\"t\($0)\",\"value\":\"v\"}" }.joined(separator: ",") + "]"), loc: ["body", "tags"]),
        BadBody(name: "duplicate tag", raw: body(#","tags":[{"name":"a","value":"1"},{"name":"a","value":"2"}]"#), loc: ["body", "tags", "1", "name"]),
        BadBody(name: "41-char tag name", raw: body(",\"tags\":[{\"name\":\"\(String(repeating: "n", count: 41))\",\"value\":\"v\"}]"), loc: ["body", "tags", "0", "name"]),
        BadBody(name: "101-char tag value", raw: body(",\"tags\":[{\"name\":\"n\",\"value\":\"\(String(repeating: "v", count: 101))\"}]"), loc: ["body", "tags", "0", "value"]),
        BadBody(name: "deleteData string", raw: body(#","deleteData":"yes""#), loc: ["body", "deleteData"]),
        BadBody(name: "dataToDelete unknown", raw: body(#","dataToDelete":["RESULTS"]"#), loc: ["body", "dataToDelete", "0"]),
    ]

    @Test(arguments: cases)
    func badBodyIs422WithLoc(_ c: BadBody) throws {
        let emu = try EmulatorProcess.start()
        defer { emu.stop() }
        let r = try EmulatorClient(emu: emu).createRaw(Data(c.raw.utf8))
        #expect(r.status == 422, "\(r.text)")
        let detail = try #require(r.object["detail"] as? [[String: Any]], "\(r.text)")
        let locs = detail.map { ($0["loc"] as? [Any] ?? []).map { "\($0)" } }
        #expect(locs.contains(c.loc), "\(r.text)")
        #expect(detail.allSatisfy { $0["msg"] is String && $0["type"] is String })
        #expect(try emu.runs().isEmpty)
    }

    @Test func invalidUTF8BodyIs422() throws {
        let emu = try EmulatorProcess.start()
        defer { emu.stop() }
        var raw = Data(#"{"user":{"userLabel":""#.utf8)
        raw.append(contentsOf: [0xff, 0xfe, 0xc3])
        raw.append(contentsOf: Data(#"","dateOfBirth":"1990-08-01","birthSex":"MALE"},"language":"en-GB"}"#.utf8))
        let r = try EmulatorClient(emu: emu).createRaw(raw)
        #expect(r.status == 422)
        #expect(emu.isRunning)
    }

    @Test func everyErrorIsListedAndEnumMessagesNameThePermittedValues() throws {
        let emu = try EmulatorProcess.start(arguments: ["--languages", "en-GB,de-DE"])
        defer { emu.stop() }
        let raw = #"{"user":{"userLabel":"","dateOfBirth":"x","birthSex":"M"},"language":"fr","accent":"X"}"#
        let r = try EmulatorClient(emu: emu).createRaw(Data(raw.utf8))
        let detail = try #require(r.object["detail"] as? [[String: Any]])
        #expect(detail.count == 5)
        let msgs = detail.compactMap { $0["msg"] as? String }.joined(separator: "\n")
        #expect(msgs.contains("'MALE', 'FEMALE', 'INTERSEX', 'UNKNOWN'"))
        #expect(msgs.contains("'en-GB', 'de-DE'"))
    }

    @Test func fullValidBodyIsAccepted() throws {
        let emu = try EmulatorProcess.start()
        defer { emu.stop() }
        let raw = #"{"user":{"userLabel":"operator-1234","dateOfBirth":"1990-08-01","birthSex":"FEMALE"},"language":"en-US","accent":"NG","sleepTime":"2025-03-13T23:15","wakeTime":"2025-03-14T06:45:00","recordingTime":"2025-03-14T09:10:00.123","tags":[{"name":"site","value":"depot-7"},{"name":"shift","value":""}],"deleteData":true,"dataToDelete":["RECORDINGS"],"unknownExtra":1}"#
        let r = try EmulatorClient(emu: emu).createRaw(Data(raw.utf8))
        #expect(r.status == 200, "\(r.text)")
    }

    @Test func missingOrWrongKeyIs401ByDefault() throws {
        let emu = try EmulatorProcess.start(arguments: ["--api-key", "right"])
        defer { emu.stop() }
        for key in [nil, "wrong", ""] as [String?] {
            let r = try EmulatorClient(emu: emu, key: key).create()
            #expect(r.status == 401)
            #expect(r.object["detail"] as? String == "Invalid API key")
        }
        #expect(try EmulatorClient(emu: emu, key: "right").create().status == 200)
        #expect(try emu.runs().count == 1)
    }

    @Test func authFault403AnswersForbidden() throws {
        let emu = try EmulatorProcess.start(arguments: ["--fault", "auth:403"])
        defer { emu.stop() }
        for r in [try EmulatorClient(emu: emu, key: nil).create(),
                  try Curl.request("GET", emu.baseURL + "/v1/account"),
                  try EmulatorClient(emu: emu, key: nil).get(UUID().uuidString)] {
            #expect(r.status == 403)
            #expect(r.object["message"] as? String == "Forbidden")
        }
    }

    @Test func anyNonEmptyKeyWorksWithoutApiKeyOption() throws {
        let emu = try EmulatorProcess.start()
        defer { emu.stop() }
        let r = try Curl.request("GET", emu.baseURL + "/v1/account", headers: ["x-api-key": "whatever"])
        #expect(r.status == 200)
        #expect(r.object["id"] as? String == "emulator-account")
        #expect((r.object["features"] as? [Any])?.isEmpty == true)
    }

    @Test func getAnswers422ForNonUUIDAnd404ForUnknown() throws {
        let emu = try EmulatorProcess.start()
        defer { emu.stop() }
        let client = EmulatorClient(emu: emu)
        let bad = try client.get("not-a-uuid")
        #expect(bad.status == 422)
        let loc = (bad.object["detail"] as? [[String: Any]])?.first?["loc"] as? [String]
        #expect(loc == ["path", "model_run_id"])
        let unknown = try client.get(UUID().uuidString.lowercased())
        #expect(unknown.status == 404)
        #expect(unknown.object["detail"] as? String == "Model run not found")
        #expect(try EmulatorClient(emu: emu, key: nil).get("not-a-uuid").status == 401)
    }

    @Test func unknownRouteIs404AndWrongMethodIs405() throws {
        let emu = try EmulatorProcess.start()
        defer { emu.stop() }
        let nf = try Curl.request("GET", emu.baseURL + "/v2/nothing", headers: ["x-api-key": "k"])
        #expect(nf.status == 404)
        #expect(nf.object["detail"] as? String == "Not Found")
        #expect(try Curl.request("GET", emu.baseURL + "/v1/models/mental-wellness", headers: ["x-api-key": "k"]).status == 405)
        #expect(try Curl.request("DELETE", emu.baseURL + "/v1/account", headers: ["x-api-key": "k"]).status == 405)
        #expect(try Curl.request("POST", emu.baseURL + "/v1/models/mental-wellness/\(UUID())", headers: ["x-api-key": "k"]).status == 405)
    }

    @Test func hugeCreateBodyIsRefusedWithoutCrashing() throws {
        let emu = try EmulatorProcess.start()
        defer { emu.stop() }
        let r = try EmulatorClient(emu: emu).createRaw(Data(repeating: UInt8(ascii: "["), count: 3 << 20))
        #expect(r.status == 413)
        let deep = try EmulatorClient(emu: emu).createRaw(Data((String(repeating: "[", count: 100_000)).utf8))
        #expect(deep.status == 422)
        #expect(emu.isRunning)
    }
}

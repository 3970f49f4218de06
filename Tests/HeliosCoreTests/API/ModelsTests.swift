import Foundation
import Testing
import HeliosTestSupport
@testable import HeliosCore

/// The model-run examples of helios-api.md, verbatim; shared with RunResultTests.
enum APIExamples {
    /// §2.3 "just created, nothing uploaded yet".
    static let created = """
        {
          "id": "ddebd75b-99b3-42b4-ac65-5ce852c688e9",
          "createdAt": "2025-03-14T09:12:03+00:00",
          "status": "CREATED",
          "userLabel": "operator-1234",
          "deleteData": true,
          "runAt": null,
          "completedAt": null,
          "errorReason": null,
          "warnings": null,
          "results": null,
          "errorCode": null
        }
        """

    /// §2.3 `COMPLETE_ERROR`.
    static let completeError = """
        {
          "id": "ddebd75b-99b3-42b4-ac65-5ce852c688e9",
          "createdAt": "2025-03-14T09:12:03+00:00",
          "status": "COMPLETE_ERROR",
          "userLabel": "operator-1234",
          "deleteData": false,
          "runAt": "2025-03-14T09:13:10+00:00",
          "completedAt": "2025-03-14T09:13:19+00:00",
          "errorCode": "ERR_RECORDING_TOO_SHORT",
          "errorReason": "Recording supplied is too short. Please supply a recording containing at least 10 seconds of speech and that is under 3 minutes in length.",
          "warnings": null,
          "results": null
        }
        """

    /// §5.4 `COMPLETE_OK`.
    static let completeOK = """
        {
          "id": "3f2b8c1e-6a4d-4e7b-9c0a-1d2e3f4a5b6c",
          "createdAt": "2025-03-14T09:12:03+00:00",
          "status": "COMPLETE_OK",
          "userLabel": "42baba59-fa4a-4a22-ba1c-2e4a88a3badb",
          "deleteData": false,
          "runAt": "2025-03-14T09:13:10+00:00",
          "completedAt": "2025-03-14T09:13:41+00:00",
          "errorReason": null,
          "errorCode": null,
          "warnings": null,
          "results": {
            "sections": [
              {
                "startSecs": 0,
                "finishSecs": 28.6,
                "transcript": "The North Wind and the Sun had a quarrel...",
                "mentalStrain": { "value": 0.42 },
                "distress": { "value": 0.33 },
                "stress": { "value": 0.33 },
                "exhaustion": { "value": 0.66 },
                "sleepPropensity": { "value": 0.66 },
                "lowSelfEsteem": { "value": 0.0 },
                "uniformDistress": { "value": 0.48 },
                "uniformStress": { "value": 0.39 },
                "uniformExhaustion": { "value": 0.61 },
                "uniformSleepPropensity": { "value": 0.58 },
                "uniformLowSelfEsteem": { "value": 0.21 }
              }
            ]
          }
        }
        """

    static let completeOKScores: [String: Double] = [
        "mentalStrain": 0.42, "distress": 0.33, "stress": 0.33, "exhaustion": 0.66, "sleepPropensity": 0.66,
        "lowSelfEsteem": 0.0, "uniformDistress": 0.48, "uniformStress": 0.39, "uniformExhaustion": 0.61,
        "uniformSleepPropensity": 0.58, "uniformLowSelfEsteem": 0.21,
    ]

    static func json(_ text: String) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }

    static func run(_ text: String) throws -> ModelRun {
        try ModelRun(json: json(text))
    }

    /// The same object with every null-valued top-level key removed.
    static func withoutNulls(_ text: String) throws -> JSONValue {
        guard case .object(let o) = try json(text) else { throw APIDecodingError("not an object") }
        return .object(o.filter { $0.value != .null })
    }
}

/// Decodes encoder output with JSONSerialization, independently of JSONValue.
private func object(_ data: Data) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
}

private func encodeRequest(_ request: CreateRunRequest) throws -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return try encoder.encode(request)
}

@Suite(.blocking) struct CreateRunRequestEncodingTests {
    @Test func minimalRequestHasOnlyUserAndLanguage() throws {
        let request = CreateRunRequest(userLabel: "42baba59", dateOfBirth: "1990-08-24", birthSex: .MALE, language: "en-GB")
        let data = try encodeRequest(request)
        let json = try object(data)
        #expect(Set(json.keys) == ["user", "language"])
        #expect(json["language"] as? String == "en-GB")
        let user = try #require(json["user"] as? [String: Any])
        #expect(Set(user.keys) == ["userLabel", "dateOfBirth", "birthSex"])
        #expect(user["userLabel"] as? String == "42baba59")
        #expect(user["dateOfBirth"] as? String == "1990-08-24")
        #expect(user["birthSex"] as? String == "MALE")
        // Nothing null and no deletion flag at all, not even `false`.
        let text = String(decoding: data, as: UTF8.self)
        #expect(!text.contains("null"))
        #expect(!text.contains("deleteData"))
    }

    @Test func optionalFieldsAppearWhenGiven() throws {
        let request = CreateRunRequest(
            userLabel: "operator-1234", dateOfBirth: "1990-08-01", birthSex: .FEMALE, language: "en-GB",
            accent: "NG", sleepTime: "2025-03-13T23:15:00", wakeTime: "2025-03-14T06:45:00",
            recordingTime: "2025-03-14T09:10:00")
        let json = try object(try encodeRequest(request))
        #expect(Set(json.keys) == ["user", "language", "accent", "sleepTime", "wakeTime", "recordingTime"])
        #expect(json["accent"] as? String == "NG")
        #expect(json["sleepTime"] as? String == "2025-03-13T23:15:00")
        #expect(json["wakeTime"] as? String == "2025-03-14T06:45:00")
        #expect(json["recordingTime"] as? String == "2025-03-14T09:10:00")
    }

    @Test func tagsAreNameValueObjectsInOrder() throws {
        let request = CreateRunRequest(
            userLabel: "u", dateOfBirth: "1990-01-01", birthSex: .UNKNOWN, language: "en-GB",
            tags: [.init(name: "site", value: "depot-7"), .init(name: "shift", value: "morning")])
        let json = try object(try encodeRequest(request))
        let tags = try #require(json["tags"] as? [[String: Any]])
        #expect(tags.count == 2)
        #expect(tags.map { Set($0.keys) } == [["name", "value"], ["name", "value"]])
        #expect(tags.map { $0["name"] as? String } == ["site", "shift"])
        #expect(tags.map { $0["value"] as? String } == ["depot-7", "morning"])
    }

    @Test func noTagsMeansNoTagsKey() throws {
        let request = CreateRunRequest(userLabel: "u", dateOfBirth: "1990-01-01", birthSex: .UNKNOWN, language: "en-GB", tags: [])
        #expect(try object(try encodeRequest(request))["tags"] == nil)
    }

    @Test func deleteDataSendsTrueWithoutDataToDelete() throws {
        let request = CreateRunRequest(userLabel: "u", dateOfBirth: "1990-01-01", birthSex: .INTERSEX, language: "en-GB",
                                       deleteData: true)
        let json = try object(try encodeRequest(request))
        #expect(json["deleteData"] as? Bool == true)
        #expect(json.keys.contains("dataToDelete") == false)
    }

    @Test func deleteRecordingsSendsTrueAndRecordings() throws {
        let request = CreateRunRequest(userLabel: "u", dateOfBirth: "1990-01-01", birthSex: .MALE, language: "en-GB",
                                       deleteRecordingsOnly: true)
        let json = try object(try encodeRequest(request))
        #expect(json["deleteData"] as? Bool == true)
        #expect(json["dataToDelete"] as? [String] == ["RECORDINGS"])
    }

    /// The full §2.1.4 example, compared structurally after a round trip through JSONValue.
    @Test func fullExampleMatchesTheDocs() throws {
        let request = CreateRunRequest(
            userLabel: "operator-1234", dateOfBirth: "1990-08-01", birthSex: .FEMALE, language: "en-GB",
            sleepTime: "2025-03-13T23:15:00", wakeTime: "2025-03-14T06:45:00", recordingTime: "2025-03-14T09:10:00",
            tags: [.init(name: "site", value: "depot-7"), .init(name: "shift", value: "morning")],
            deleteRecordingsOnly: true)
        let encoded = try JSONDecoder().decode(JSONValue.self, from: try encodeRequest(request))
        let expected = try APIExamples.json("""
            {
              "user": {"userLabel": "operator-1234", "dateOfBirth": "1990-08-01", "birthSex": "FEMALE"},
              "language": "en-GB",
              "sleepTime": "2025-03-13T23:15:00",
              "wakeTime": "2025-03-14T06:45:00",
              "recordingTime": "2025-03-14T09:10:00",
              "tags": [{"name": "site", "value": "depot-7"}, {"name": "shift", "value": "morning"}],
              "deleteData": true,
              "dataToDelete": ["RECORDINGS"]
            }
            """)
        #expect(encoded == expected)
    }
}

@Suite(.blocking) struct ModelRunDecodingTests {
    @Test func createdExample() throws {
        let run = try APIExamples.run(APIExamples.created)
        #expect(run.id == "ddebd75b-99b3-42b4-ac65-5ce852c688e9")
        #expect(run.status == "CREATED")
        #expect(run.userLabel == "operator-1234")
        #expect(run.createdAt == "2025-03-14T09:12:03+00:00")
        #expect(run.completedAt == nil)
        #expect(run.errorCode == nil)
        #expect(run.errorReason == nil)
        #expect(run.warnings == [])
        #expect(run.scores == nil)
        #expect(run.transcript == nil)
        #expect(!run.isFinished)
    }

    @Test func completeErrorExample() throws {
        let run = try APIExamples.run(APIExamples.completeError)
        #expect(run.status == "COMPLETE_ERROR")
        #expect(run.isFinished)
        #expect(run.completedAt == "2025-03-14T09:13:19+00:00")
        #expect(run.errorCode == "ERR_RECORDING_TOO_SHORT")
        #expect(run.errorReason?.hasPrefix("Recording supplied is too short.") == true)
        #expect(run.scores == nil)
        #expect(run.transcript == nil)
    }

    @Test func completeOKExample() throws {
        let run = try APIExamples.run(APIExamples.completeOK)
        #expect(run.status == "COMPLETE_OK")
        #expect(run.isFinished)
        #expect(run.id == "3f2b8c1e-6a4d-4e7b-9c0a-1d2e3f4a5b6c")
        #expect(run.userLabel == "42baba59-fa4a-4a22-ba1c-2e4a88a3badb")
        #expect(run.errorCode == nil)
        let scores = try #require(run.scores)
        #expect(scores.values == APIExamples.completeOKScores)
        #expect(Set(scores.values.keys) == Set(Scores.order))
        #expect(run.transcript == "The North Wind and the Sun had a quarrel...")
    }

    /// helios-api.md §2.3: null fields may be omitted instead; both decode to the same values.
    @Test(arguments: [APIExamples.created, APIExamples.completeError, APIExamples.completeOK])
    func absentNullsDecodeLikeExplicitNulls(example: String) throws {
        let withNulls = try APIExamples.run(example)
        let stripped = try APIExamples.withoutNulls(example)
        #expect(stripped != (try APIExamples.json(example)))
        let without = try ModelRun(json: stripped)
        #expect(without.id == withNulls.id)
        #expect(without.status == withNulls.status)
        #expect(without.userLabel == withNulls.userLabel)
        #expect(without.createdAt == withNulls.createdAt)
        #expect(without.completedAt == withNulls.completedAt)
        #expect(without.errorCode == withNulls.errorCode)
        #expect(without.errorReason == withNulls.errorReason)
        #expect(without.warnings == withNulls.warnings)
        #expect(without.scores == withNulls.scores)
        #expect(without.transcript == withNulls.transcript)
    }

    @Test func unknownFieldsAreKeptInRaw() throws {
        let run = try APIExamples.run("""
            {"id": "r1", "status": "RUNNING", "language": "en-GB", "tags": [{"name": "a", "value": "b"}], "priority": 3}
            """)
        #expect(run.raw["language"] == .string("en-GB"))
        #expect(run.raw["tags"] == .array([.object(["name": .string("a"), "value": .string("b")])]))
        #expect(run.raw["priority"] == .number(3))
    }

    @Test func unknownStatusIsKeptAndNotFinished() throws {
        let run = try APIExamples.run(#"{"id": "r1", "status": "QUEUED_FOR_REVIEW"}"#)
        #expect(run.status == "QUEUED_FOR_REVIEW")
        #expect(!run.isFinished)
        #expect(run.warnings == [])
    }

    @Test(arguments: [
        #"{"status": "CREATED"}"#,
        #"{"id": "r1"}"#,
        #"{"id": null, "status": "CREATED"}"#,
        #"{"id": "r1", "status": null}"#,
        #"{"id": 42, "status": "CREATED"}"#,
        #"["r1", "CREATED"]"#,
        #""r1""#,
    ])
    func missingIdOrStatusIsADecodingError(text: String) throws {
        let json = try APIExamples.json(text)
        #expect(throws: APIDecodingError.self) { try ModelRun(json: json) }
    }

    @Test func scoresComeFromTheFirstSectionOnly() throws {
        let run = try APIExamples.run("""
            {"id": "r1", "status": "COMPLETE_OK", "results": {"sections": [
              {"transcript": "first", "stress": {"value": 0.33}, "mentalStrain": {"value": 0.5}},
              {"transcript": "second", "stress": {"value": 1.0}, "distress": {"value": 0.66}}
            ]}}
            """)
        #expect(run.scores?.values == ["stress": 0.33, "mentalStrain": 0.5])
        #expect(run.transcript == "first")
    }

    @Test func missingAndNullScoreKeysAreTolerated() throws {
        let run = try APIExamples.run("""
            {"id": "r1", "status": "COMPLETE_OK", "results": {"sections": [
              {"distress": {"value": 0.66}, "stress": null, "exhaustion": {}, "uniformStress": {"value": null}}
            ]}}
            """)
        #expect(run.scores?.values == ["distress": 0.66])
        #expect(run.transcript == nil)
    }

    @Test func okWithoutSectionsHasNoScores() throws {
        #expect(try APIExamples.run(#"{"id": "r1", "status": "COMPLETE_OK", "results": {"sections": []}}"#).scores == nil)
        #expect(try APIExamples.run(#"{"id": "r1", "status": "COMPLETE_OK", "results": null}"#).scores == nil)
    }

    @Test func scoresOfAnUnfinishedRunAreIgnored() throws {
        // Results are only meaningful for COMPLETE_OK, even if a server sends them early.
        let run = try APIExamples.run("""
            {"id": "r1", "status": "RUNNING", "results": {"sections": [{"transcript": "x", "stress": {"value": 0.33}}]}}
            """)
        #expect(run.scores == nil)
        #expect(run.transcript == nil)
    }

    @Test(arguments: [
        (#""warnings": null"#, [String]()),
        (#""warnings": []"#, []),
        (#""warnings": ["Audio quality may affect result accuracy."]"#, ["Audio quality may affect result accuracy."]),
        (#""warnings": ["a", 7, null, "b"]"#, ["a", "b"]),
        (#""other": 1"#, []),
    ])
    func warnings(fragment: String, expected: [String]) throws {
        let run = try APIExamples.run(#"{"id": "r1", "status": "COMPLETE_OK", "#+fragment+"}")
        #expect(run.warnings == expected)
    }
}

@Suite(.blocking) struct JSONValueTests {
    private func roundTrip(_ text: String) throws -> String {
        let value = try APIExamples.json(text)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    @Test(arguments: [
        ("0", "0"),
        ("0.42", "0.42"),
        ("28.6", "28.6"),
        ("1", "1"),
        ("-3", "-3"),
        ("1234567890", "1234567890"),
        ("0.33", "0.33"),
        ("-0.5", "-0.5"),
    ])
    func numbersPrintAsWritten(input: String, output: String) throws {
        #expect(try roundTrip("[\(input)]") == "[\(output)]")
    }

    @Test func scalarsAndNestingRoundTrip() throws {
        let text = #"{"a":[true,false,null,"x",{"b":1.5}],"c":{},"d":[],"e":"line\nbreak"}"#
        #expect(try roundTrip(text) == text)
    }

    @Test func booleansAreNotNumbers() throws {
        #expect(try APIExamples.json("[true, 1, 0, false]") == .array([.bool(true), .number(1), .number(0), .bool(false)]))
    }

    @Test func completeOKSurvivesARoundTripUnchanged() throws {
        let value = try APIExamples.json(APIExamples.completeOK)
        let again = try JSONDecoder().decode(JSONValue.self, from: try JSONEncoder().encode(value))
        #expect(again == value)
    }

    @Test func accessors() throws {
        let value = try APIExamples.json(#"{"s": "x", "n": 2, "a": [1], "o": {"k": true}}"#)
        #expect(value["s"]?.stringValue == "x")
        #expect(value["n"]?.doubleValue == 2)
        #expect(value["a"]?.arrayValue == [.number(1)])
        #expect(value["o"]?["k"] == .bool(true))
        #expect(value["missing"] == nil)
        #expect(value["s"]?.doubleValue == nil)
        #expect(value["n"]?.stringValue == nil)
        #expect(JSONValue.array([])["k"] == nil)
    }
}

@Suite(.blocking) struct ValidationErrorBodyTests {
    @Test func fastAPIListDetailJoinsLocWithoutBody() throws {
        let body = """
            {"detail": [
              {"loc": ["body", "user", "birthSex"], "msg": "value is not a valid enumeration member", "type": "type_error.enum"},
              {"loc": ["body", "tags", 3, "name"], "msg": "field required", "type": "value_error.missing"},
              {"loc": ["header", "x-api-key"], "msg": "field required", "type": "value_error.missing"},
              {"loc": ["body"], "msg": "not json", "type": "x"},
              {"msg": "no location"}
            ]}
            """
        let parsed = try #require(ValidationErrorBody(data: Data(body.utf8)))
        #expect(parsed.messages == [
            "user.birthSex: value is not a valid enumeration member",
            "tags.3.name: field required",
            "header.x-api-key: field required",
            "not json",
            "no location",
        ])
    }

    @Test func stringDetail() throws {
        let parsed = try #require(ValidationErrorBody(data: Data(#"{"detail": "Model run not found"}"#.utf8)))
        #expect(parsed.messages == ["Model run not found"])
    }

    @Test func locNumbersOutsideIntRangeDoNotTrap() throws {
        let parsed = try #require(ValidationErrorBody(data: Data(#"{"detail":[{"loc":["body",1e300,2],"msg":"x"}]}"#.utf8)))
        #expect(parsed.messages == ["1e+300.2: x"])
    }

    @Test func gatewayMessage() throws {
        let parsed = try #require(ValidationErrorBody(data: Data(#"{"message": "Forbidden"}"#.utf8)))
        #expect(parsed.messages == ["Forbidden"])
    }

    @Test(arguments: [
        "",
        "<html>Bad Gateway</html>",
        #"{"detail": "#,
        #"{"error": "nope"}"#,
        #"{"detail": 42}"#,
        #"["detail"]"#,
        "null",
    ])
    func garbageIsNil(text: String) {
        #expect(ValidationErrorBody(data: Data(text.utf8)) == nil)
    }
}

import Foundation
import Testing
import HeliosTestSupport
@testable import HeliosCore

private let plain = Palette(mode: .never, isTerminal: false, environment: [:])
private let audio = AudioInfo(format: .wav, durationSeconds: 25.08, speechSeconds: 21.3, sampleRate: 22050,
                              channels: 1, bytes: 1_105_978, sha256: String(repeating: "0f", count: 32))

/// The `--json` line, decoded with JSONSerialization so nulls are visible as NSNull.
private func jsonLine(_ result: RunResult) throws -> [String: Any] {
    let line = JSONLine.encode(result)
    #expect(line.hasSuffix("\n"))
    #expect(line.dropLast().contains("\n") == false, "one object per line")
    return try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
}

/// The same line as a JSONValue, for structural comparisons.
private func jsonValue(_ result: RunResult) throws -> JSONValue {
    try JSONDecoder().decode(JSONValue.self, from: Data(JSONLine.encode(result).utf8))
}

/// CLI.md's keys; `tags` and `manifestLine` are additions within schemaVersion 1.
private let allKeys: Set<String> = [
    "schemaVersion", "file", "runId", "status", "userLabel", "scores", "transcript", "warnings", "error", "audio", "run",
    "tags", "manifestLine",
]

@Suite(.blocking) struct RunResultJSONTests {
    @Test func everyKeyIsPresentEvenWhenNull() throws {
        let result = RunResult(file: nil, runId: "r1", status: "RUNNING", userLabel: nil, audio: nil)
        let json = try jsonLine(result)
        #expect(Set(json.keys) == allKeys)
        #expect(json["schemaVersion"] as? Int == 1)
        for key in ["file", "userLabel", "scores", "transcript", "error", "audio", "run", "manifestLine"] {
            #expect(json[key] is NSNull, "\(key) should be null")
        }
        #expect((json["tags"] as? [String: Any])?.isEmpty == true)
        #expect(json["runId"] as? String == "r1")
        #expect(json["status"] as? String == "RUNNING")
        #expect((json["warnings"] as? [Any])?.isEmpty == true)
    }

    @Test func uploadedSubmitHasFileAndAudio() throws {
        let result = RunResult(file: "speech.wav", runId: "r1", status: "UPLOADED", userLabel: "u1", audio: audio,
                               localWarnings: [ValidationFinding(code: "LOW_SAMPLE_RATE", message: "sample rate under 16 kHz")])
        let json = try jsonLine(result)
        #expect(Set(json.keys) == allKeys)
        #expect(json["file"] as? String == "speech.wav")
        #expect(json["userLabel"] as? String == "u1")
        let a = try #require(json["audio"] as? [String: Any])
        #expect(Set(a.keys) == ["format", "durationSeconds", "speechSeconds", "sampleRate", "channels", "bytes", "sha256"])
        #expect(a["format"] as? String == "wav")
        #expect(a["bytes"] as? Int == 1_105_978)
        #expect(json["warnings"] as? [String] == ["local check LOW_SAMPLE_RATE: sample rate under 16 kHz"])
        #expect(json["run"] is NSNull)
    }

    @Test func completeErrorGivesCodeAndReason() throws {
        let run = try APIExamples.run(APIExamples.completeError)
        let result = RunResult(file: nil, runId: run.id, status: run.status, userLabel: nil, audio: nil, run: run)
        let json = try jsonLine(result)
        #expect(Set(json.keys) == allKeys)
        let error = try #require(json["error"] as? [String: Any])
        #expect(Set(error.keys) == ["code", "reason"])
        #expect(error["code"] as? String == "ERR_RECORDING_TOO_SHORT")
        #expect((error["reason"] as? String)?.hasPrefix("Recording supplied is too short.") == true)
        #expect(json["scores"] is NSNull)
        #expect(json["transcript"] is NSNull)
        #expect(json["status"] as? String == "COMPLETE_ERROR")
        // The user label comes from the run when the caller has none.
        #expect(json["userLabel"] as? String == "operator-1234")
    }

    @Test func completeErrorWithoutACodeStillHasAnError() throws {
        let run = try APIExamples.run(#"{"id": "r1", "status": "COMPLETE_ERROR"}"#)
        let result = RunResult(file: nil, runId: "r1", status: run.status, userLabel: nil, audio: nil, run: run)
        let error = try #require(try jsonLine(result)["error"] as? [String: Any])
        #expect(error["code"] as? String == "ERR_UNKNOWN")
        // "Every key is always present (null when empty)" holds for the nested error object too.
        #expect(Set(error.keys) == ["code", "reason"])
        #expect(error["reason"] is NSNull)
    }

    @Test func completeOKGivesElevenScoresAndTheTranscript() throws {
        let run = try APIExamples.run(APIExamples.completeOK)
        let result = RunResult(file: "speech.wav", runId: run.id, status: run.status, userLabel: "mine", audio: audio, run: run)
        let json = try jsonLine(result)
        #expect(Set(json.keys) == allKeys)
        let scores = try #require(json["scores"] as? [String: Double])
        #expect(scores == APIExamples.completeOKScores)
        #expect(scores.count == 11)
        #expect(json["transcript"] as? String == "The North Wind and the Sun had a quarrel...")
        #expect(json["error"] is NSNull)
        #expect(json["userLabel"] as? String == "mine") // the caller's label wins
    }

    @Test func runIsTheAPIObjectVerbatim() throws {
        let raw = APIExamples.completeOK.replacingOccurrences(of: #""status": "COMPLETE_OK","#,
                                                              with: #""status": "COMPLETE_OK", "futureField": {"n": 3},"#)
        let run = try APIExamples.run(raw)
        let result = RunResult(file: nil, runId: run.id, status: run.status, userLabel: nil, audio: nil, run: run)
        let encoded = try jsonValue(result)
        #expect(encoded["run"] == (try APIExamples.json(raw)))
        #expect(encoded["run"]?["futureField"]?["n"] == .number(3))
        // Whole numbers stay whole in the printed line: "startSecs": 0, not 0.0.
        #expect(JSONLine.encode(result).contains(#""startSecs":0,"#))
        #expect(JSONLine.encode(result).contains(#""finishSecs":28.6"#))
    }

    @Test func apiWarningsComeBeforeLocalOnes() throws {
        let run = try APIExamples.run(#"{"id": "r1", "status": "COMPLETE_OK", "warnings": ["Audio quality may affect result accuracy."]}"#)
        let result = RunResult(file: "a.wav", runId: "r1", status: run.status, userLabel: nil, audio: audio,
                               localWarnings: [ValidationFinding(code: "CLIPPING", message: "3% of samples clip")], run: run)
        #expect(try jsonLine(result)["warnings"] as? [String] == [
            "Audio quality may affect result accuracy.",
            "local check CLIPPING: 3% of samples clip",
        ])
    }

    @Test func aTranscriptWithNewlinesStaysOnOneLine() throws {
        let run = try APIExamples.run(#"{"id": "r1", "status": "COMPLETE_OK", "results": {"sections": [{"transcript": "one\ntwo"}]}}"#)
        let result = RunResult(file: nil, runId: "r1", status: run.status, userLabel: nil, audio: nil, run: run)
        #expect(try jsonLine(result)["transcript"] as? String == "one\ntwo")
    }
}

@Suite(.blocking) struct RunResultTextTests {
    @Test func completeOKShowsRunStatusEveryScoreAndTranscript() throws {
        let run = try APIExamples.run(APIExamples.completeOK)
        let text = RunResult(file: "speech.wav", runId: run.id, status: run.status, userLabel: nil, audio: audio, run: run)
            .text(palette: plain)
        #expect(text.hasPrefix("speech.wav\n"))
        #expect(text.contains(run.id))
        #expect(text.contains("42baba59-fa4a-4a22-ba1c-2e4a88a3badb"))
        #expect(text.contains("COMPLETE_OK"))
        for key in Scores.order {
            #expect(text.contains(key), "score \(key) missing")
        }
        #expect(text.contains("The North Wind and the Sun had a quarrel..."))
        #expect(!text.contains("error"))
        #expect(!text.contains("\u{1B}["))
    }

    @Test func eachScoreLineCarriesItsValueAndOneScaleOfBandsMarkedAsHelios() throws {
        let run = try APIExamples.run(APIExamples.completeOK)
        let result = RunResult(file: nil, runId: run.id, status: run.status, userLabel: nil, audio: nil, run: run)
        let lines = result.text(palette: plain).split(separator: "\n").map(String.init)
        func line(_ key: String) -> String? { lines.first { $0.contains(" \(key) ") } }
        #expect(line("mentalStrain")?.hasSuffix("0.42  mild") == true)
        // The bucketed 0.33 and a continuous 0.21 no longer share a word: one scale, quarters of 0-1.
        #expect(line("distress")?.hasSuffix("0.33  mild") == true)
        #expect(line("lowSelfEsteem")?.hasSuffix("0.00  low") == true)
        #expect(line("exhaustion")?.hasSuffix("0.66  elevated") == true)
        #expect(line("uniformLowSelfEsteem")?.hasSuffix("0.21  low") == true)
        #expect(lines.filter { $0.contains("0.") }.count == 11)
        #expect(lines.contains { $0.contains("helios' rough guide, not thymia's") })
        // --no-bands: the numbers alone, and no guide line.
        let bare = result.text(palette: plain, bands: false).split(separator: "\n").map(String.init)
        #expect(bare.first { $0.contains(" distress ") }?.hasSuffix("0.33") == true)
        #expect(!bare.contains { $0.contains("rough guide") || $0.contains("mild") })
    }

    @Test(arguments: [(0.0, "low"), (0.249, "low"), (0.25, "mild"), (0.33, "mild"), (0.5, "elevated"), (0.66, "elevated"), (0.75, "high"), (1.0, "high")])
    func bandsAreQuartersOfTheScale(value: Double, band: String) {
        #expect(Scores.band(value) == band)
    }

    @Test(arguments: [
        ("ERR_RECORDING_INVALID_FORMAT", "convert the file"),
        ("ERR_RECORDING_TOO_SHORT", "at least 10 seconds"),
        ("ERR_RECORDING_TOO_LONG", "under 3 minutes"),
        ("ERR_TRANSCRIPTION_FAILED", "microphone"),
        ("ERR_INTERNAL", "support@thymia.ai"),
    ])
    func completeErrorShowsCodeReasonAndRecommendedAction(code: String, action: String) throws {
        let run = try APIExamples.run(#"{"id": "r-err", "status": "COMPLETE_ERROR", "errorCode": "\#(code)", "errorReason": "because"}"#)
        let text = RunResult(file: nil, runId: run.id, status: run.status, userLabel: nil, audio: nil, run: run).text(palette: plain)
        #expect(text.contains("r-err"))
        #expect(text.contains("COMPLETE_ERROR"))
        #expect(text.contains("\(code): because"))
        #expect(text.contains(action))
        #expect(text.contains("action"))
        #expect(!text.contains("scores"))
    }

    @Test func everyDocumentedErrorCodeHasAnAction() {
        let documented: Set<String> = ["ERR_RECORDING_INVALID_FORMAT", "ERR_RECORDING_TOO_SHORT", "ERR_RECORDING_TOO_LONG",
                                       "ERR_TRANSCRIPTION_FAILED", "ERR_INTERNAL"]
        #expect(Set(RunResult.actions.keys) == documented)
    }

    @Test func unknownErrorCodeHasNoActionRow() throws {
        let run = try APIExamples.run(#"{"id": "r1", "status": "COMPLETE_ERROR", "errorCode": "ERR_NEW"}"#)
        let text = RunResult(file: nil, runId: "r1", status: run.status, userLabel: nil, audio: nil, run: run).text(palette: plain)
        #expect(text.contains("ERR_NEW"))
        #expect(!text.contains("action"))
    }

    @Test func warningsAreListed() throws {
        let run = try APIExamples.run(#"{"id": "r1", "status": "COMPLETE_OK", "warnings": ["Audio quality may affect result accuracy."]}"#)
        let text = RunResult(file: nil, runId: "r1", status: run.status, userLabel: nil, audio: nil, run: run).text(palette: plain)
        #expect(text.contains("warning"))
        #expect(text.contains("Audio quality may affect result accuracy."))
    }

    @Test func colourOnlyWhenThePaletteIsEnabled() throws {
        let run = try APIExamples.run(APIExamples.completeError)
        let result = RunResult(file: nil, runId: run.id, status: run.status, userLabel: nil, audio: nil, run: run)
        let coloured = result.text(palette: Palette(mode: .always, isTerminal: false, environment: [:]))
        #expect(coloured.contains("\u{1B}[31mCOMPLETE_ERROR\u{1B}[0m"))
        #expect(!result.text(palette: plain).contains("\u{1B}"))
    }
}

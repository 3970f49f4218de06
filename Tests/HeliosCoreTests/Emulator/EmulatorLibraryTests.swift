import Foundation
@testable import HeliosCore
@testable import HeliosEmulator
import HeliosTestSupport
import Testing

/// The emulator as a library: what a Swift user's own tests do with it.
@Suite(.cooperative) struct EmulatorLibraryTests {
    /// Started in process, with a fault from the same grammar as the command line: a whole
    /// `helios submit` goes through it (the 503 on create is retried: nothing was created).
    @Test func aSwiftTestStartsTheEmulatorInProcessAndSubmitsToIt() async throws {
        var options = try EmulatorOptions(arguments: ["--port", "0", "--api-key", "sk-lib", "--processing-time", "200ms"])
        try options.addFault("status:create:503:1")
        let emulator = try EmulatorServer(options: options)
        let baseURL = try await emulator.start()
        #expect(baseURL.hasPrefix("http://127.0.0.1:"))
        #expect(FileManager.default.fileExists(atPath: emulator.uploadDirectory))

        let world = RunWorld()
        let file = try LifecycleSweepTests.recording(12, into: world.dir, name: "a.ogg")
        let env = ["HELIOS_STATE_DIR": world.state, "THYMIA_BASE_URL": baseURL, "THYMIA_API_KEY": "sk-lib", "NO_COLOR": "1"]
        let (status, stdout, stderr) = await Self.run(["submit", file, "--dob", "1990-08", "--sex", "female", "--json", "--poll-interval", "1s"], env: env)
        #expect(status == 0, "\(stderr)")
        let result = try #require(stdout.split(separator: "\n").first.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] })
        #expect(result["status"] as? String == "COMPLETE_OK")
        #expect((result["scores"] as? [String: Any])?.count == 11)
        #expect(try world.latest().count == 1, "one run created, despite the faulted first create")

        await emulator.stop()
        #expect(!FileManager.default.fileExists(atPath: emulator.uploadDirectory))
    }

    @Test func optionsFromArgumentsRefuseWhatTheCommandRefuses() {
        #expect(throws: (any Error).self) { try EmulatorOptions(arguments: ["--host", "0.0.0.0"]) }
        #expect(throws: (any Error).self) { try EmulatorOptions(arguments: ["--fault", "status:create:200"]) }
        var options = EmulatorOptions()
        #expect(throws: (any Error).self) { try options.addFault("explode:any") }
        #expect(options.port == 8080 && options.host == "127.0.0.1")
    }

    /// Every documented fault parses, and every kind of fault the parser knows is documented.
    @Test func theFaultTableAndTheParserAgree() throws {
        var kinds = Set<String>()
        for doc in EmulatorCommandLine.faults {
            let spec = try FaultSpec.parse(doc.example)
            #expect(doc.syntax.hasPrefix(doc.example.split(separator: ":")[0]), "\(doc.example) under \(doc.syntax)")
            kinds.insert(String(String(describing: spec).prefix { $0 != "(" }))
        }
        #expect(kinds == ["auth", "status", "slow", "malformed", "drop", "expiredUpload", "retryAfter"])
        let help = EmulatorCommandLine.helpText
        for doc in EmulatorCommandLine.faults { #expect(help.contains(doc.syntax)) }
        for option in EmulatorCommandLine.options { #expect(help.contains(option.name)) }
    }

    static func run(_ args: [String], env: [String: String]) async -> (Int32, String, String) {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                let output = CapturedOutput()
                let status = HeliosCLI.run(arguments: args, context: CLIContext(environment: env, today: "2026-12-03"), output: output.output)
                continuation.resume(returning: (status, output.stdout, output.stderr))
            }
        }
    }
}

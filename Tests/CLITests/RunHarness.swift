import Foundation
import HeliosCore
import HeliosTestSupport
import Testing

/// One emulator, one state directory and one test key: `helios` runs against them on loopback.
final class RunHarness: @unchecked Sendable {
    static let key = "test-key-4f9c2a71d0"
    let emulator: EmulatorProcess
    let state: String
    let dir: String

    init(emulatorArguments: [String] = [], processingTime: String = "200ms") throws {
        emulator = try EmulatorProcess.start(arguments: ["--api-key", Self.key, "--processing-time", processingTime] + emulatorArguments)
        state = TestPaths.makeTempDir("helios-state")
        dir = TestPaths.makeTempDir("helios-rec")
    }

    deinit { emulator.stop() }

    var environment: [String: String] {
        ["THYMIA_BASE_URL": emulator.baseURL, "THYMIA_API_KEY": Self.key, "HELIOS_STATE_DIR": state]
    }

    func helios(_ args: [String], env extra: [String: String] = [:], stdin: String? = nil) throws -> CommandResult {
        var env = environment
        for (k, v) in extra { env[k] = v }
        return try CommandRunner.helios(args, environment: env, stdin: stdin)
    }

    /// A 12-second recording (tone) in the given format, written by libsndfile.
    func recording(_ format: TestRecordings.Format = .wav, seconds: Double = 12, name: String? = nil) throws -> String {
        try TestRecordings.write(format, seconds: seconds, to: dir, name: name)
    }

    func journal() throws -> [JournalEntry] {
        try Journal(path: state + "/runs.jsonl").entries()
    }

    func uploads() throws -> [EmulatorLogEntry] {
        try emulator.log().filter { $0.method == "PUT" }
    }

    static let userArgs = ["--dob", "1990-08", "--sex", "female"]

    /// Starts helios, waits until `ready` holds (or 30 s pass), sends `signal` (SIGINT unless
    /// told), and returns what it printed and how it exited. Pipes are drained while it runs, so
    /// it can never block on them.
    func interrupt(_ args: [String], signal: Int32 = SIGINT, when ready: () -> Bool) throws -> CommandResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: TestPaths.binDir + "/helios")
        process.arguments = args
        var env = environment
        env["NO_COLOR"] = "1"
        env.merge(CommandRunner.sanitizerOptions) { _, passed in passed }
        process.environment = env
        let err = Pipe(), out = Pipe()
        process.standardError = err
        process.standardOutput = out
        let drained = Drained()
        try process.run()
        let group = DispatchGroup()
        for (pipe, isOut) in [(out, true), (err, false)] {
            group.enter()
            DispatchQueue.global().async {
                drained.set(pipe.fileHandleForReading.readDataToEndOfFile(), isOut: isOut)
                group.leave()
            }
        }
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline, !ready() { Thread.sleep(forTimeInterval: 0.05) }
        kill(process.processIdentifier, signal)
        process.waitUntilExit()
        group.wait()
        return CommandResult(status: process.terminationStatus, stdout: drained.text(isOut: true), stderr: drained.text(isOut: false))
    }
}

private final class Drained: @unchecked Sendable {
    private let lock = NSLock()
    private var out = Data(), err = Data()
    func set(_ data: Data, isOut: Bool) { lock.withLock { if isOut { out = data } else { err = data } } }
    func text(isOut: Bool) -> String { lock.withLock { String(decoding: isOut ? out : err, as: UTF8.self) } }
}

func fileSize(_ path: String) -> Int {
    ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? -1
}

func sha256(_ path: String) throws -> String { try SHA256.hexDigest(ofFileAt: path) }

import Foundation

/// What a finished process printed and how it exited; stdout and stderr kept apart.
public struct CommandResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String

    public init(status: Int32, stdout: String, stderr: String) {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
    }

    /// stdout as JSON Lines, each line decoded to a dictionary (a test fails on a bad line).
    public func jsonLines() throws -> [[String: Any]] { try Self.objects(stdout) }

    /// stderr as JSON Lines (what `--json` promises): a test fails on any line that is not one
    /// JSON object.
    public func stderrJSONLines() throws -> [[String: Any]] { try Self.objects(stderr) }

    private static func objects(_ text: String) throws -> [[String: Any]] {
        try text.split(separator: "\n").map { line in
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw CocoaError(.propertyListReadCorrupt, userInfo: [NSDebugDescriptionErrorKey: "not a JSON object: \(line)"])
            }
            return object
        }
    }
}

/// Runs the built `helios` (or another built binary) with a controlled environment: NO_COLOR,
/// a private state directory, and only the variables a test passes.
public enum CommandRunner {
    public static func helios(
        _ arguments: [String], environment: [String: String] = [:], stdin: String? = nil,
        currentDirectory: String? = nil, timeout: TimeInterval = 120
    ) throws -> CommandResult {
        try run(TestPaths.binDir + "/helios", arguments, environment: environment, stdin: stdin,
                currentDirectory: currentDirectory, timeout: timeout)
    }

    /// Under `make test-sanitize` the spawned binaries are sanitized too: they get the run's
    /// options, so their reports land in the same directory as the test process's own.
    public static var sanitizerOptions: [String: String] {
        ProcessInfo.processInfo.environment.filter { ["TSAN_OPTIONS", "ASAN_OPTIONS", "LSAN_OPTIONS"].contains($0.key) }
    }

    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:], stdin: String? = nil,
        currentDirectory: String? = nil, timeout: TimeInterval = 120
    ) throws -> CommandResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ["PATH": "/usr/bin:/bin", "NO_COLOR": "1", "LANG": "C.UTF-8", "HOME": NSTemporaryDirectory()]
        env["HELIOS_STATE_DIR"] = TestPaths.makeTempDir("helios-state")
        env.merge(sanitizerOptions) { _, passed in passed }
        for (k, v) in environment { env[k] = v }
        process.environment = env
        if let currentDirectory { process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }

        let outPipe = Pipe(), errPipe = Pipe(), inPipe = Pipe()
        process.standardOutput = outPipe
        process.standardError = errPipe
        process.standardInput = inPipe
        try process.run()
        if let stdin { inPipe.fileHandleForWriting.write(Data(stdin.utf8)) }
        try? inPipe.fileHandleForWriting.close()

        // Read both pipes concurrently so a chatty process never blocks on a full pipe.
        let collected = Collected()
        let group = DispatchGroup()
        for (pipe, isOut) in [(outPipe, true), (errPipe, false)] {
            group.enter()
            DispatchQueue.global().async {
                let data = pipe.fileHandleForReading.readDataToEndOfFile()
                collected.set(data, isOut: isOut)
                group.leave()
            }
        }
        if group.wait(timeout: .now() + timeout) == .timedOut {
            process.terminate()
            group.wait()
        }
        process.waitUntilExit()
        return CommandResult(status: process.terminationStatus,
                             stdout: String(decoding: collected.out, as: UTF8.self),
                             stderr: String(decoding: collected.err, as: UTF8.self))
    }
}

private final class Collected: @unchecked Sendable {
    private let lock = NSLock()
    var out = Data()
    var err = Data()
    func set(_ data: Data, isOut: Bool) { lock.withLock { if isOut { out = data } else { err = data } } }
}

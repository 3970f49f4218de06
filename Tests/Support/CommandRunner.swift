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
        currentDirectory: String? = nil, timeout: TimeInterval = 120, stdinIsTerminal: Bool = false
    ) throws -> CommandResult {
        try run(TestPaths.binDir + "/helios", arguments, environment: environment, stdin: stdin,
                currentDirectory: currentDirectory, timeout: timeout, stdinIsTerminal: stdinIsTerminal)
    }

    /// Under `make test-sanitize` the spawned binaries are sanitized too: they get the run's
    /// options, so their reports land in the same directory as the test process's own.
    public static var sanitizerOptions: [String: String] {
        ProcessInfo.processInfo.environment.filter { ["TSAN_OPTIONS", "ASAN_OPTIONS", "LSAN_OPTIONS"].contains($0.key) }
    }

    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:], stdin: String? = nil,
        currentDirectory: String? = nil, timeout: TimeInterval = 120, stdinIsTerminal: Bool = false
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
        // stdinIsTerminal: stdin is the slave side of a fresh pseudo-terminal that nobody types
        // into, as an interactive shell's would be.
        var master: Int32 = -1
        if stdinIsTerminal {
            // posix_openpt and ptsname are not in Swift's Glibc module, nor the ioctl numbers
            // (function-like macros): /dev/ptmx with Linux's TIOCSPTLCK and TIOCGPTN.
            let unlockRequest: UInt = 0x4004_5431, numberRequest: UInt = 0x8004_5430
            master = open("/dev/ptmx", O_RDWR | O_NOCTTY)
            var unlock: Int32 = 0, number: UInt32 = 0
            guard master >= 0, ioctl(master, unlockRequest, &unlock) == 0, ioctl(master, numberRequest, &number) == 0 else {
                throw CocoaError(.fileReadUnknown, userInfo: [NSDebugDescriptionErrorKey: "no pseudo-terminal"])
            }
            let slave = open("/dev/pts/\(number)", O_RDWR | O_NOCTTY)
            guard slave >= 0 else { throw CocoaError(.fileReadUnknown, userInfo: [NSDebugDescriptionErrorKey: "cannot open /dev/pts/\(number)"]) }
            process.standardInput = FileHandle(fileDescriptor: slave, closeOnDealloc: true)
        } else {
            process.standardInput = inPipe
        }
        defer { if master >= 0 { close(master) } }
        try process.run()
        if !stdinIsTerminal {
            if let stdin { inPipe.fileHandleForWriting.write(Data(stdin.utf8)) }
            try? inPipe.fileHandleForWriting.close()
        }

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

import Foundation
import HeliosCore

/// A running `helios-emulator` child process for CLI tests: started on a free loopback port,
/// its base URL read from its single stdout line, its stderr kept in a file, stopped on `stop()`
/// or deinit.
///
///     let emu = try EmulatorProcess.start(arguments: ["--processing-time", "200ms"])
///     defer { emu.stop() }
///     … talk to emu.baseURL …
///     let entries = try emu.log()
public final class EmulatorProcess: @unchecked Sendable {
    public enum Failure: Error, CustomStringConvertible {
        case binaryNotFound(String)
        case noBaseURL(exitStatus: Int32?, stderr: String)
        case introspectionFailed(String)

        public var description: String {
            switch self {
            case .binaryNotFound(let path): "helios-emulator not found at \(path) (build it first)"
            case let .noBaseURL(status, stderr): "helios-emulator printed no base URL (exit \(status.map(String.init) ?? "none")): \(stderr)"
            case .introspectionFailed(let why): "emulator introspection failed: \(why)"
            }
        }
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    public let baseURL: String
    public let port: Int
    public let arguments: [String]
    private let process: Process
    private let stderrPath: String
    private let lock = NSLock()
    private var stopped = false

    public static var binaryPath: String { TestPaths.binDir + "/helios-emulator" }

    /// Spawns the emulator with `--port 0` (unless `arguments` sets a port) and waits for its URL line.
    public static func start(arguments: [String] = [], timeout: TimeInterval = 20) throws -> EmulatorProcess {
        let binary = binaryPath
        guard FileManager.default.isExecutableFile(atPath: binary) else { throw Failure.binaryNotFound(binary) }
        let args = arguments.contains("--port") ? arguments : ["--port", "0"] + arguments
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = args
        let stdout = Pipe()
        process.standardOutput = stdout
        let stderrPath = NSTemporaryDirectory() + "helios-emulator-stderr-\(UUID().uuidString.prefix(8)).log"
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.standardError = FileHandle(forWritingAtPath: stderrPath)
        process.standardInput = FileHandle.nullDevice
        try process.run()

        let line = readFirstLine(stdout.fileHandleForReading, timeout: timeout)
        guard let line, line.hasPrefix("http://"), let port = line.split(separator: ":").last.flatMap({ Int($0) }) else {
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
            let err = (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
            throw Failure.noBaseURL(exitStatus: process.terminationStatus, stderr: err)
        }
        return EmulatorProcess(baseURL: line, port: port, arguments: args, process: process, stderrPath: stderrPath)
    }

    private init(baseURL: String, port: Int, arguments: [String], process: Process, stderrPath: String) {
        self.baseURL = baseURL
        self.port = port
        self.arguments = arguments
        self.process = process
        self.stderrPath = stderrPath
    }

    deinit { stop() }

    public var isRunning: Bool { process.isRunning }

    /// Sends SIGTERM and waits for the exit, at most 10 s, then SIGKILL: a stuck emulator fails
    /// its test (the exit status says so) instead of hanging the run. Safe to call more than once.
    public func stop() {
        lock.lock()
        defer { lock.unlock() }
        guard !stopped else { return }
        stopped = true
        if process.isRunning { process.terminate() }
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// The exit status once stopped (nil while running).
    public var exitStatus: Int32? { process.isRunning ? nil : process.terminationStatus }

    /// Everything the emulator wrote to stderr so far (one line per request).
    public func stderrText() -> String {
        (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
    }

    /// `GET /_emulator/log`, decoded.
    public func log() throws -> [EmulatorLogEntry] {
        try JSONDecoder().decode([EmulatorLogEntry].self, from: introspect("log"))
    }

    /// `GET /_emulator/runs`, decoded.
    public func runs() throws -> [EmulatorRunInfo] {
        try JSONDecoder().decode([EmulatorRunInfo].self, from: introspect("runs"))
    }

    /// The raw body of `GET /_emulator/log` or `/_emulator/runs`.
    public func introspect(_ what: String) throws -> Data {
        let curl = Process()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        curl.arguments = ["-s", "-S", "-f", "--max-time", "10", "\(baseURL)/_emulator/\(what)"]
        let out = Pipe()
        curl.standardOutput = out
        curl.standardError = FileHandle.nullDevice
        try curl.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        curl.waitUntilExit()
        guard curl.terminationStatus == 0 else { throw Failure.introspectionFailed("curl exit \(curl.terminationStatus)") }
        return data
    }

    /// Reads up to the first newline on a background thread so a hung child cannot hang the test.
    private static func readFirstLine(_ handle: FileHandle, timeout: TimeInterval) -> String? {
        final class Box: @unchecked Sendable { var line: String? }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            var buffer = Data()
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                buffer.append(chunk)
                if let nl = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                    box.line = String(decoding: buffer[buffer.startIndex..<nl], as: UTF8.self)
                    break
                }
            }
            done.signal()
        }
        guard done.wait(timeout: .now() + timeout) == .success else { return nil }
        return box.line
    }
}

/// One entry of `GET /_emulator/log`: an API request as the emulator received it.
public struct EmulatorLogEntry: Decodable, Sendable, Equatable {
    public var seq: Int
    public var method: String
    /// The path without its query string.
    public var path: String
    /// `create`, `get`, `upload`, `account`, or nil for unknown paths.
    public var route: String?
    /// The HTTP status answered; nil when a `drop` fault closed the connection.
    public var status: Int?
    public var hasApiKey: Bool
    public var contentLength: String?
    public var transferEncoding: String?
    public var contentType: String?
    public var bodyBytes: Int
    /// SHA-256 of the request body, for uploads only.
    public var bodySha256: String?
    public var runId: String?
    /// The fault that shaped the answer (`slow`, `drop`, `malformed`, `status:CODE`), if any.
    public var fault: String?
}

/// One entry of `GET /_emulator/runs`: a run with the fields it was created with.
public struct EmulatorRunInfo: Decodable, Sendable, Equatable {
    public typealias Tag = ValueRules.Tag
    public var id: String
    public var status: String
    public var createdAt: String
    public var userLabel: String
    public var dateOfBirth: String
    public var birthSex: String
    public var language: String
    public var accent: String?
    public var sleepTime: String?
    public var wakeTime: String?
    public var recordingTime: String?
    public var tags: [Tag]
    public var deleteData: Bool
    public var dataToDelete: [String]?
    public var uploadExpires: Int
    public var uploadUrlExpiredAtCreation: Bool
    public var uploadCount: Int
    public var uploadBytes: Int?
    public var uploadSha256: String?
    public var errorCode: String?
    public var deleted: Bool
}

import FoundationEssentials
import Glibc
import Synchronization

/// Where a command writes: results to `out` (stdout), everything else to `err` (stderr). Injected,
/// never global, so tests can capture both apart.
public final class Output: Sendable {
    /// One write at a time, so lines from different threads never interleave.
    private let lock = Mutex(())
    private let writeOut: @Sendable (String) -> Void
    private let writeErr: @Sendable (String) -> Void

    public init(out: @escaping @Sendable (String) -> Void, err: @escaping @Sendable (String) -> Void) {
        writeOut = out
        writeErr = err
    }

    public func out(_ text: String) { lock.withLock { _ in writeOut(text) } }
    public func err(_ text: String) { lock.withLock { _ in writeErr(text) } }

    /// Writes to the process's own stdout/stderr, unbuffered by Swift so lines interleave correctly.
    /// A reader that closed stdout (`| head`) calls `onBrokenPipe`: the command stops new runs and
    /// exits as if interrupted, with the resume hint on stderr, instead of dying of SIGPIPE.
    public static func standard(onBrokenPipe: @escaping @Sendable () -> Void = {}) -> Output {
        Output(out: { text in
                   if !PosixFile.standardOutput.write(text.utf8), errno == EPIPE { onBrokenPipe() }
               },
               err: { PosixFile.standardError.write($0.utf8) })
    }
}

/// What the process was started with, gathered once by main.swift.
public struct CLIContext: Sendable {
    public var environment: [String: String]
    public var stdoutIsTerminal: Bool
    public var stderrIsTerminal: Bool
    public var stdinIsTerminal: Bool
    /// Today's local date as `YYYY-MM-DD`, for the date-of-birth rule.
    public var today: String
    public var readStdin: @Sendable () -> String?
    /// argv without the program name, to tell the user how to rerun (resume) this command.
    public var arguments: [String]
    /// Stops the command: the process's own (signals, a broken stdout), or a test's.
    public var cancellation: Cancellation = .process
    /// The HTTP transport under the retries; nil is libcurl. Tests inject an in-process server.
    public var transport: (any HTTPTransport)?
    /// Waits between retries and polls, and the clock (URL expiry, timeouts); injectable so
    /// tests run whole lifecycles without real time passing.
    public var sleep: RetryingTransport.Sleep = RetryingTransport.abortableSleep
    public var now: @Sendable () -> Date = { Date() }
    /// Called before every write to the state directory (journal, upload URLs); a throw means the
    /// write does not happen. Tests simulate a crash with it: nothing reaches disk after it.
    public var beforeStateWrite: (@Sendable (String) throws -> Void)?

    public init(environment: [String: String], stdoutIsTerminal: Bool = false, stderrIsTerminal: Bool = false,
                stdinIsTerminal: Bool = false, today: String = CLIContext.localToday(), arguments: [String] = [],
                readStdin: @escaping @Sendable () -> String? = { nil }) {
        self.arguments = arguments
        self.environment = environment
        self.stdoutIsTerminal = stdoutIsTerminal
        self.stderrIsTerminal = stderrIsTerminal
        self.stdinIsTerminal = stdinIsTerminal
        self.today = today
        self.readStdin = readStdin
    }

    /// From libc, not Calendar: Calendar loads ICU's data, which would double the start-up memory.
    public static func localToday() -> String {
        var now = time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        return "\(Formatting.zeroPadded(Int(parts.tm_year) + 1900, 4))-\(Formatting.zeroPadded(Int(parts.tm_mon) + 1, 2))-\(Formatting.zeroPadded(Int(parts.tm_mday), 2))"
    }
}

/// Colour for a stream: only on a terminal, never under NO_COLOR, always when asked for.
public struct Palette: Sendable {
    public let enabled: Bool

    public init(mode: ColorMode, isTerminal: Bool, environment: [String: String]) {
        switch mode {
        case .always: enabled = true
        case .never: enabled = false
        case .auto: enabled = isTerminal && (environment["NO_COLOR"] ?? "").isEmpty && environment["TERM"] != "dumb"
        }
    }

    public func green(_ s: String) -> String { wrap(s, "32") }
    public func red(_ s: String) -> String { wrap(s, "31") }
    public func yellow(_ s: String) -> String { wrap(s, "33") }
    public func bold(_ s: String) -> String { wrap(s, "1") }

    private func wrap(_ s: String, _ code: String) -> String { enabled ? "\u{1B}[\(code)m\(s)\u{1B}[0m" : s }
}

enum JSONLine {
    /// One compact JSON object and a newline: the JSON Lines contract of `--json`. Keys are sorted
    /// so the bytes are the same on every platform (Foundation on Linux does not keep field order).
    static func encode<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        guard let data = try? encoder.encode(value), let text = String(data: data, encoding: .utf8) else {
            return "{\"error\":{\"kind\":\"internal\",\"message\":\"could not encode output\",\"exitCode\":1}}\n"
        }
        return text + "\n"
    }
}

import FoundationEssentials
import Glibc

/// The transport seam: the API client speaks in these values; only `CurlTransport` touches libcurl,
/// and unit tests inject a fake `HTTPTransport`.
public struct HTTPRequest: Sendable {
    public enum Body: Sendable {
        case none
        case data(Data)
        /// Streamed from disk as a sized body (`Content-Length`, never chunked). With a `hold`,
        /// the last bytes wait for its decision (see `UploadHold`). With a `sha256`, the bytes are
        /// hashed as they are sent and the last ones go only if the digest matches: what is
        /// stored is exactly what was checked, or nothing.
        case file(path: String, size: Int64, hold: UploadHold? = nil, sha256: String? = nil)
    }

    public var method: String
    public var url: String
    /// Header names as sent. Secrets (x-api-key) live here and must be redacted by anything that logs.
    public var headers: [(name: String, value: String)]
    public var body: Body

    public init(method: String, url: String, headers: [(name: String, value: String)] = [], body: Body = .none) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }
}

public struct HTTPResponse: Sendable {
    public var status: Int
    /// Header names lower-cased; the last value wins.
    public var headers: [String: String]
    public var body: Data

    public init(status: Int, headers: [String: String] = [:], body: Data = Data()) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// Bytes of a request body sent so far, for progress bars.
public struct UploadProgress: Sendable, Equatable {
    public var sent: Int64
    public var total: Int64
    public init(sent: Int64, total: Int64) {
        self.sent = sent
        self.total = total
    }
}

/// Why a request produced no HTTP response at all.
public enum TransportError: Error, Sendable, Equatable {
    /// No byte of the request left this machine (refused, unresolvable, connect or TLS handshake
    /// failed or timed out): always safe to retry.
    case couldNotConnect(String)
    /// The connection broke after it was established (reset, empty reply): the server may have acted.
    case connectionLost(String)
    /// The exchange took too long after connecting: the server may have acted.
    case timedOut(String)
    /// The server's certificate did not verify: the TLS handshake stopped before any request
    /// byte, and trying again cannot help.
    case tlsFailed(String)
    case aborted
    /// An `UploadHold` withheld the body's last bytes: the server got an incomplete body.
    case withheld
    case fileUnreadable(path: String, reason: String)
    /// The file's bytes no longer hash to the digest it was checked with; the last bytes were
    /// withheld, so storage discards the body.
    case fileChanged(path: String)
    case other(code: Int, message: String)
    /// The transfer could not start on this machine (libcurl could not be loaded, or gave no
    /// handle): nothing was sent, and trying again cannot help.
    case unavailable(String)
}

public struct TransportOptions: Sendable {
    public var connectTimeout: Double = 10
    /// Whole-exchange limit in seconds; 0 means none (uploads of large files on slow links).
    public var totalTimeout: Double = 60
    /// Abort a transfer slower than 1 byte/s for this many seconds (stalled uploads).
    public var lowSpeedTime: Double = 60
    /// Ends a wait before the request is sent (the rate gate); nil: the transfer's own abort
    /// check. A create POST waits at the gate on one Ctrl-C but is not cut off by it in flight.
    public var waitAbort: (@Sendable () -> Bool)?
    /// No wait before the request (the rate gate) lasts past this; the retrying layer sets it
    /// from its caller's deadline (a poll bounded by `--timeout`).
    public var deadline: Date?
    public init() {}
}

public protocol HTTPTransport: Sendable {
    /// Performs one exchange. `progress` is called for request bodies; `shouldAbort` is polled
    /// during the transfer (Ctrl-C) and ends it with `TransportError.aborted`.
    func send(
        _ request: HTTPRequest, options: TransportOptions,
        progress: (@Sendable (UploadProgress) -> Void)?,
        shouldAbort: (@Sendable () -> Bool)?
    ) throws(TransportError) -> HTTPResponse
}

extension TransportError: CustomStringConvertible {
    /// Lower-case fragments for the CLI to prefix; messages are already redacted by the transport.
    public var description: String {
        switch self {
        case .couldNotConnect(let m): return "could not connect: \(m)"
        case .connectionLost(let m): return "connection lost: \(m)"
        case .timedOut(let m): return "timed out: \(m)"
        case .tlsFailed(let m): return "TLS verification failed: \(m)"
        case .aborted: return "aborted"
        case .withheld: return "the upload was stopped before its last bytes"
        case .fileUnreadable(let path, let reason): return "cannot read \(path): \(reason)"
        case .fileChanged(let path): return "\(path) changed after it was checked"
        case .other(let code, let m): return "transfer failed (curl \(code)): \(m)"
        case .unavailable(let m): return m
        }
    }

    /// False only when no byte of the request can have reached the server (a file can become
    /// unreadable mid-upload, so only a failed connection is certain).
    public var requestMayHaveBeenSent: Bool {
        switch self {
        case .couldNotConnect, .tlsFailed, .unavailable: return false
        default: return true
        }
    }
}

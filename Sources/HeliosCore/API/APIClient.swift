import FoundationEssentials
import Glibc

/// Why an API exchange failed, after retries. Message fragments are lower-case; the CLI layer maps
/// each case to an exit code.
public enum APIError: Error, Sendable, Equatable {
    case missingKey
    case auth(status: Int)
    case refused(status: Int, messages: [String])
    case notFound(String)
    /// The API answered 429 or 5xx, after `attempts` attempts.
    case server(status: Int, attempts: Int = 1)
    /// Storage answered 5xx to the upload, after `attempts` attempts.
    case storageFailed(status: Int, attempts: Int = 1)
    case network(String)
    /// No byte of the request left this machine: nothing can have been created.
    case couldNotConnect(String)
    case timedOut(String)
    /// The server's certificate did not verify: the handshake stopped before any request byte.
    case tlsFailed(String)
    case malformed(String)
    case uploadExpired(status: Int)
    /// Storage already has (or is receiving) a recording for this URL: 409 from the emulator.
    case uploadConflict(status: Int)
    /// Storage refused the upload for another reason; its own error code is kept.
    case storageRefused(status: Int, code: String?)
    case recordingChanged(String)
    case aborted
    case withheld
    case fileUnreadable(String)

    public var message: String {
        switch self {
        case .missingKey:
            return "no API key: set THYMIA_API_KEY, or use --api-key-file PATH or --api-key-stdin"
        case .auth(let status):
            return "the API refused the key (HTTP \(status)); check THYMIA_API_KEY, --api-key-file or --api-key-stdin"
        case .refused(let status, let messages):
            return "the API refused the request (HTTP \(status))" + (messages.isEmpty ? "" : ": " + messages.joined(separator: "; "))
        case .notFound(let what):
            return "\(what) not found (HTTP 404): unknown, or its data was deleted"
        case .server(let status, let attempts):
            return attempts > 1 ? "the API kept failing (HTTP \(status), \(attempts) attempts)" : "the API failed (HTTP \(status))"
        case .storageFailed(let status, let attempts):
            return attempts > 1 ? "storage kept failing (HTTP \(status), \(attempts) attempts)" : "storage failed (HTTP \(status))"
        case .network(let detail):
            return "network failure: \(detail)"
        case .couldNotConnect(let detail):
            return "could not connect: \(detail)"
        case .timedOut(let detail):
            return "no answer in time: \(detail)"
        case .tlsFailed(let detail):
            return "the server's TLS certificate did not verify, so nothing was sent: \(detail)"
        case .malformed(let detail):
            return "the API answered with malformed JSON: \(detail)"
        case .uploadExpired(let status):
            return "the upload URL was refused (HTTP \(status)): it has expired"
        case .uploadConflict(let status):
            return "storage already holds a recording for this run (HTTP \(status))"
        case .storageRefused(let status, let code):
            return "storage refused the upload (HTTP \(status)\(code.map { ", \($0)" } ?? ""))"
        case .recordingChanged(let path):
            return "\(path) changed after it was checked, so its upload was stopped short of its last bytes and not stored"
        case .aborted:
            return "interrupted"
        case .withheld:
            return "the upload was stopped before its last bytes, so the recording was not stored"
        case .fileUnreadable(let detail):
            return "cannot read the recording: \(detail)"
        }
    }

    public var exitCode: ExitCode {
        switch self {
        case .missingKey, .auth: return .authFailed
        case .refused, .notFound, .uploadExpired, .uploadConflict, .storageRefused: return .apiRefused
        case .server, .storageFailed, .network, .couldNotConnect, .timedOut, .tlsFailed, .malformed: return .networkFailed
        case .aborted: return .interrupted
        case .withheld, .fileUnreadable, .recordingChanged: return .recordingRejected
        }
    }
}

/// The thymia API over a retrying transport: create a run, upload its recording, read it.
public struct APIClient: Sendable {
    public let baseURL: String
    let apiKey: String
    let transport: RetryingTransport
    let shouldAbort: @Sendable () -> Bool
    var apiOptions: TransportOptions = {
        var o = TransportOptions()
        // An API answer is a few KB: one trickling in (a byte every few seconds) is cut off
        // after 20 s under 1 byte/s, well before the 60 s whole-exchange limit.
        o.lowSpeedTime = 20
        return o
    }()
    var uploadOptions: TransportOptions = {
        var o = TransportOptions()
        o.totalTimeout = 0 // a large file on a slow link may take long; a stall is caught by lowSpeedTime
        return o
    }()

    public init(baseURL: String, apiKey: String, transport: RetryingTransport, shouldAbort: @escaping @Sendable () -> Bool) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.apiKey = apiKey
        self.transport = transport
        self.shouldAbort = shouldAbort
    }

    /// `abortTransfer` ends the POST in flight (only an urgent stop should: its answer may carry
    /// a paid run's id); `abortWait` ends a backoff between attempts, when nothing was created.
    /// No retry wait (Retry-After, backoff, the rate gate) lasts past `waitDeadline`; the POST
    /// itself keeps its own time limit.
    public func createRun(_ body: CreateRunRequest, abortTransfer: (@Sendable () -> Bool)? = nil,
                          abortWait: (@Sendable () -> Bool)? = nil, waitDeadline: Date? = nil) throws(APIError) -> CreateRunResponse {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(body) else { throw .malformed("could not encode the request") }
        let request = HTTPRequest(method: "POST", url: baseURL + "/v1/models/mental-wellness",
                                  headers: headers(json: true), body: .data(data))
        var options = apiOptions
        options.waitAbort = abortWait ?? shouldAbort
        let exchange = transport.exchange(request, kind: .createRun, options: options,
                                          shouldAbort: abortTransfer ?? shouldAbort, waitAbort: abortWait ?? shouldAbort,
                                          deadline: waitDeadline, cutTransfers: false)
        let response = try Self.response(exchange)
        try check(response, attempts: exchange.attempts, what: "the model-run endpoint")
        // Read field by field: an answer with an id but no usable URL still names a paid run.
        guard let json = try? JSONDecoder().decode(JSONValue.self, from: response.body),
              let created = CreateRunResponse(json: json) else {
            throw .malformed("the create answer has no run id; a run may have been created")
        }
        return created
    }

    /// The key's account (`GET /v1/account`), and the server's `Date` header for the clock check.
    public func account() throws(APIError) -> (account: Account, serverDate: String?) {
        let exchange = transport.exchange(HTTPRequest(method: "GET", url: baseURL + "/v1/account", headers: headers(json: false)),
                                          kind: .idempotent, options: apiOptions, shouldAbort: shouldAbort)
        let response = try Self.response(exchange)
        try check(response, attempts: exchange.attempts, what: "the account endpoint")
        guard let json = try? JSONDecoder().decode(JSONValue.self, from: response.body), let id = json["id"]?.stringValue else {
            throw .malformed("the account answer has no id")
        }
        let features = json["features"]?.arrayValue?.compactMap(\.stringValue) ?? []
        return (Account(id: id, features: features), response.headers["date"])
    }

    /// Reads run `id`. With a `deadline` (the end of a `--timeout`), no attempt or retry wait
    /// outlasts it. An answer for another run, or a COMPLETE_OK without results, is malformed.
    public func getRun(_ id: String, deadline: Date? = nil) throws(APIError) -> ModelRun {
        let exchange = transport.exchange(HTTPRequest(method: "GET", url: baseURL + "/v1/models/mental-wellness/\(id)",
                                                      headers: headers(json: false)),
                                          kind: .idempotent, options: apiOptions, shouldAbort: shouldAbort, deadline: deadline)
        let response = try Self.response(exchange)
        try check(response, attempts: exchange.attempts, what: "run \(id)")
        guard let json = try? JSONDecoder().decode(JSONValue.self, from: response.body) else {
            throw .malformed("run \(id) could not be read")
        }
        let run: ModelRun
        do {
            run = try ModelRun(json: json)
        } catch {
            throw .malformed(error.message)
        }
        guard run.id.lowercased() == id.lowercased() else {
            throw .malformed("asked for run \(id), the API answered with run '\(Text.printableASCII(run.id.prefix(80)))'")
        }
        if run.status == "COMPLETE_OK", run.scores == nil {
            throw .malformed("run \(id) is COMPLETE_OK but its answer holds no results")
        }
        return run
    }

    /// PUTs the file to the pre-signed URL: sized, streamed from disk, without the API key. With
    /// `sha256`, the last bytes go only if what was sent hashes to it (`recordingChanged` if not).
    public func upload(path: String, size: Int64, to url: String, contentType: String, hold: UploadHold? = nil,
                       sha256: String? = nil, waitDeadline: Date? = nil,
                       progress: (@Sendable (UploadProgress) -> Void)?) throws(APIError) {
        let request = HTTPRequest(method: "PUT", url: url, headers: [("Content-Type", contentType)],
                                  body: .file(path: path, size: size, hold: hold, sha256: sha256))
        let exchange = transport.exchange(request, kind: .idempotent, options: uploadOptions,
                                          progress: progress, shouldAbort: shouldAbort, deadline: waitDeadline, cutTransfers: false)
        let response = try Self.response(exchange)
        switch response.status {
        case 200..<300: return
        case 403:
            // Only an expiry justifies a fresh run; a bad signature or a denied bucket would
            // refuse the fresh run's URL just the same.
            let code = Self.storageCode(response.body)
            if Self.saysExpired(response.body) { throw .uploadExpired(status: 403) }
            throw .storageRefused(status: 403, code: code)
        case 409: throw .uploadConflict(status: 409)
        // A redirect is not followed (the recording goes to the URL the API signed, nowhere else).
        case 300..<500: throw .storageRefused(status: response.status, code: Self.storageCode(response.body))
        default: throw .storageFailed(status: response.status, attempts: exchange.attempts)
        }
    }

    private func headers(json: Bool) -> [(name: String, value: String)] {
        var h: [(name: String, value: String)] = [("x-api-key", apiKey), ("Accept", "application/json")]
        if json { h.append(("Content-Type", "application/json")) }
        return h
    }

    /// The response of an exchange, or its error as an `APIError`.
    private static func response(_ exchange: RetryingTransport.Exchange) throws(APIError) -> HTTPResponse {
        switch exchange.result {
        case .success(let response): return response
        case .failure(let error): throw map(error, attempts: exchange.attempts)
        }
    }

    private func check(_ response: HTTPResponse, attempts: Int, what: String) throws(APIError) {
        switch response.status {
        case 200..<300: return
        case 401, 403: throw .auth(status: response.status)
        case 404: throw .notFound(what)
        case 429, 500..<600: throw .server(status: response.status, attempts: attempts)
        default: throw .refused(status: response.status, messages: ValidationErrorBody(data: response.body)?.messages ?? [])
        }
    }

    /// S3-style `<Code>…</Code>` of a storage error body, if it has one (letters only, so it is
    /// safe to print).
    static func storageCode(_ body: Data) -> String? {
        let text = String(decoding: body.prefix(4096), as: UTF8.self)
        guard let after = text.split(separator: "<Code>", maxSplits: 1).dropFirst().first,
              let code = after.split(separator: "</Code>", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init)
        else { return nil }
        guard !code.isEmpty, code.count <= 64, code.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else { return nil }
        return code
    }

    /// S3 and GCS say "Request has expired" (AccessDenied) or `ExpiredToken` when a pre-signed
    /// URL is past its time.
    static func saysExpired(_ body: Data) -> Bool {
        let text = String(decoding: body.prefix(4096), as: UTF8.self).lowercased()
        return text.contains("request has expired") || text.contains("expiredtoken") || text.contains("<code>expired")
    }

    static func map(_ error: TransportError, attempts: Int = 1) -> APIError {
        let after = attempts > 1 ? " (\(attempts) attempts)" : ""
        switch error {
        case .fileChanged(let path): return .recordingChanged(path)
        case .couldNotConnect(let m): return .couldNotConnect(Redaction.text(m) + after)
        case .tlsFailed(let m): return .tlsFailed(Redaction.text(m))
        // Nothing left this machine, as with a refused connection.
        case .unavailable(let m): return .couldNotConnect(Redaction.text(m))
        case .aborted: return .aborted
        case .withheld: return .withheld
        case .timedOut(let m): return .timedOut(Redaction.text(m) + after)
        case .fileUnreadable(let path, let reason): return .fileUnreadable("\(path): \(reason)")
        default: return .network(Redaction.text("\(error)") + after)
        }
    }

    /// A storage host's 4xx body is XML or text: keep a short, single-line excerpt.
    static func storageMessage(_ body: Data) -> [String] {
        let text = Text.trimmed(String(decoding: body.prefix(200), as: UTF8.self).replacing("\n", with: " "))
        return text.isEmpty ? [] : [Redaction.text(text)]
    }
}

/// `GET /v1/account`'s answer: the account id and the features the key has.
public struct Account: Sendable, Equatable, Encodable {
    public var id: String
    public var features: [String]
}

import FoundationEssentials
import Glibc

/// Why an API exchange failed, after retries. Message fragments are lower-case; the CLI layer maps
/// each case to an exit code.
public enum APIError: Error, Sendable, Equatable {
    case missingKey
    case auth(status: Int)
    case refused(status: Int, messages: [String])
    case notFound(String)
    case server(status: Int)
    case network(String)
    /// No byte of the request left this machine: nothing can have been created.
    case couldNotConnect(String)
    case timedOut(String)
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
        case .server(let status):
            return "the API kept failing (HTTP \(status)) after retries"
        case .network(let detail):
            return "network failure after retries: \(detail)"
        case .couldNotConnect(let detail):
            return "could not connect after retries: \(detail)"
        case .timedOut(let detail):
            return "no answer in time after retries: \(detail)"
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
        case .server, .network, .couldNotConnect, .timedOut, .malformed: return .networkFailed
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
    var apiOptions = TransportOptions()
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
    public func createRun(_ body: CreateRunRequest, abortTransfer: (@Sendable () -> Bool)? = nil,
                          abortWait: (@Sendable () -> Bool)? = nil) throws(APIError) -> CreateRunResponse {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(body) else { throw .malformed("could not encode the request") }
        let request = HTTPRequest(method: "POST", url: baseURL + "/v1/models/mental-wellness",
                                  headers: headers(json: true), body: .data(data))
        let response: HTTPResponse
        var options = apiOptions
        options.waitAbort = abortWait ?? shouldAbort
        do {
            response = try transport.send(request, kind: .createRun, options: options,
                                          shouldAbort: abortTransfer ?? shouldAbort, waitAbort: abortWait ?? shouldAbort)
        } catch {
            throw Self.map(error)
        }
        try check(response, what: "the model-run endpoint")
        guard let created = try? JSONDecoder().decode(CreateRunResponse.self, from: response.body) else {
            throw .malformed("the create answer has no run id and upload URL; a run may have been created")
        }
        return created
    }

    public func getRun(_ id: String) throws(APIError) -> ModelRun {
        let response = try exchange(HTTPRequest(method: "GET", url: baseURL + "/v1/models/mental-wellness/\(id)",
                                                headers: headers(json: false)), kind: .idempotent)
        try check(response, what: "run \(id)")
        guard let json = try? JSONDecoder().decode(JSONValue.self, from: response.body) else {
            throw .malformed("run \(id) could not be read")
        }
        do {
            return try ModelRun(json: json)
        } catch {
            throw .malformed(error.message)
        }
    }

    /// PUTs the file to the pre-signed URL: sized, streamed from disk, without the API key. With
    /// `sha256`, the last bytes go only if what was sent hashes to it (`recordingChanged` if not).
    public func upload(path: String, size: Int64, to url: String, contentType: String, hold: UploadHold? = nil,
                       sha256: String? = nil, progress: (@Sendable (UploadProgress) -> Void)?) throws(APIError) {
        let request = HTTPRequest(method: "PUT", url: url, headers: [("Content-Type", contentType)],
                                  body: .file(path: path, size: size, hold: hold, sha256: sha256))
        let response: HTTPResponse
        do {
            response = try transport.send(request, kind: .idempotent, options: uploadOptions,
                                          progress: progress, shouldAbort: shouldAbort)
        } catch {
            throw Self.map(error)
        }
        switch response.status {
        case 200..<300: return
        case 403:
            // Only an expiry justifies a fresh run; a bad signature or a denied bucket would
            // refuse the fresh run's URL just the same.
            let code = Self.storageCode(response.body)
            if Self.saysExpired(response.body) { throw .uploadExpired(status: 403) }
            throw .storageRefused(status: 403, code: code)
        case 409: throw .uploadConflict(status: 409)
        case 400..<500: throw .storageRefused(status: response.status, code: Self.storageCode(response.body))
        default: throw .server(status: response.status)
        }
    }

    private func headers(json: Bool) -> [(name: String, value: String)] {
        var h: [(name: String, value: String)] = [("x-api-key", apiKey), ("Accept", "application/json")]
        if json { h.append(("Content-Type", "application/json")) }
        return h
    }

    private func exchange(_ request: HTTPRequest, kind: RequestKind) throws(APIError) -> HTTPResponse {
        do {
            return try transport.send(request, kind: kind, options: apiOptions, shouldAbort: shouldAbort)
        } catch {
            throw Self.map(error)
        }
    }

    private func check(_ response: HTTPResponse, what: String) throws(APIError) {
        switch response.status {
        case 200..<300: return
        case 401, 403: throw .auth(status: response.status)
        case 404: throw .notFound(what)
        case 429, 500..<600: throw .server(status: response.status)
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

    static func map(_ error: TransportError) -> APIError {
        switch error {
        case .fileChanged(let path): return .recordingChanged(path)
        case .couldNotConnect(let m): return .couldNotConnect(Redaction.text(m))
        case .aborted: return .aborted
        case .withheld: return .withheld
        case .timedOut(let m): return .timedOut(Redaction.text(m))
        case .fileUnreadable(let path, let reason): return .fileUnreadable("\(path): \(reason)")
        default: return .network(Redaction.text("\(error)"))
        }
    }

    /// A storage host's 4xx body is XML or text: keep a short, single-line excerpt.
    static func storageMessage(_ body: Data) -> [String] {
        let text = Text.trimmed(String(decoding: body.prefix(200), as: UTF8.self).replacing("\n", with: " "))
        return text.isEmpty ? [] : [Redaction.text(text)]
    }
}

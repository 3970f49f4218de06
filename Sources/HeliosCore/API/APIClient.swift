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
    case timedOut(String)
    case malformed(String)
    case uploadExpired(status: Int)
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
        case .timedOut(let detail):
            return "no answer in time after retries: \(detail)"
        case .malformed(let detail):
            return "the API answered with malformed JSON: \(detail)"
        case .uploadExpired(let status):
            return "the upload URL was refused (HTTP \(status)): it has expired"
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
        case .refused, .notFound, .uploadExpired: return .apiRefused
        case .server, .network, .timedOut, .malformed: return .networkFailed
        case .aborted: return .interrupted
        case .withheld, .fileUnreadable: return .recordingRejected
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

    public func createRun(_ body: CreateRunRequest) throws(APIError) -> CreateRunResponse {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(body) else { throw .malformed("could not encode the request") }
        let response = try exchange(HTTPRequest(method: "POST", url: baseURL + "/v1/models/mental-wellness",
                                                headers: headers(json: true), body: .data(data)), kind: .createRun)
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

    /// PUTs the file to the pre-signed URL: sized, streamed from disk, without the API key.
    public func upload(path: String, size: Int64, to url: String, contentType: String, hold: UploadHold? = nil,
                       progress: (@Sendable (UploadProgress) -> Void)?) throws(APIError) {
        let request = HTTPRequest(method: "PUT", url: url, headers: [("Content-Type", contentType)],
                                  body: .file(path: path, size: size, hold: hold))
        let response: HTTPResponse
        do {
            response = try transport.send(request, kind: .idempotent, options: uploadOptions,
                                          progress: progress, shouldAbort: shouldAbort)
        } catch {
            throw Self.map(error)
        }
        switch response.status {
        case 200..<300: return
        case 403: throw .uploadExpired(status: 403)
        case 400..<500: throw .refused(status: response.status, messages: Self.storageMessage(response.body))
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

    static func map(_ error: TransportError) -> APIError {
        switch error {
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

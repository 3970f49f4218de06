import Foundation
import Testing
import HeliosTestSupport
@testable import HeliosCore

/// An `HTTPTransport` that records every request and plays a script of outcomes; the last outcome
/// repeats for ever ("503 forever").
private final class FakeTransport: HTTPTransport, @unchecked Sendable {
    struct Sent {
        var request: HTTPRequest
        var options: TransportOptions
        var hadProgress: Bool
    }

    private let lock = NSLock()
    private var script: [Result<HTTPResponse, TransportError>]
    private var sent: [Sent] = []
    /// Reported to the progress callback of each request that has a body, when set.
    var progressToReport: UploadProgress?

    init(_ script: [Result<HTTPResponse, TransportError>]) {
        precondition(!script.isEmpty)
        self.script = script
    }

    var requests: [HTTPRequest] { lock.withLock { sent.map(\.request) } }
    var exchanges: [Sent] { lock.withLock { sent } }

    func send(
        _ request: HTTPRequest, options: TransportOptions,
        progress: (@Sendable (UploadProgress) -> Void)?,
        shouldAbort: (@Sendable () -> Bool)?
    ) throws(TransportError) -> HTTPResponse {
        let outcome: Result<HTTPResponse, TransportError> = lock.withLock {
            sent.append(Sent(request: request, options: options, hadProgress: progress != nil))
            return script.count > 1 ? script.removeFirst() : script[0]
        }
        if let shouldAbort, shouldAbort() { throw .aborted }
        if let progressToReport, let progress { progress(progressToReport) }
        return try outcome.get()
    }
}

private func status(_ code: Int, _ body: String = "", headers: [String: String] = [:]) -> Result<HTTPResponse, TransportError> {
    .success(HTTPResponse(status: code, headers: headers, body: Data(body.utf8)))
}

private let base = "https://api.example.test"
private let key = "sk-test-0123456789"
private let uploadURL = "https://storage.example.test/bucket/obj?X-Amz-Signature=abc123&X-Amz-Expires=3600"
private let created = #"{"id": "ddebd75b-99b3-42b4-ac65-5ce852c688e9", "recordingUploadUrl": "https://path/to/upload?sig=1"}"#
private let request = CreateRunRequest(userLabel: "operator-1234", dateOfBirth: "1990-08-01", birthSex: .FEMALE,
                                       language: "en-GB", tags: [.init(name: "site", value: "depot-7")],
                                       deleteRecordingsOnly: true)
private let policy = RetryPolicy(maxAttempts: 5, jitter: .none)

private func client(_ fake: FakeTransport, baseURL: String = base, sleeps: Box<[Double]>? = nil,
                    sleepResult: Bool = true, shouldAbort: @escaping @Sendable () -> Bool = { false }) -> APIClient {
    let retrying = RetryingTransport(fake, policy: policy, sleep: { seconds, _ in
        sleeps?.update { $0.append(seconds) }
        return sleepResult
    })
    return APIClient(baseURL: baseURL, apiKey: key, transport: retrying, shouldAbort: shouldAbort)
}

private extension HTTPRequest {
    func values(of name: String) -> [String] {
        headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }
}

/// Runs `body` expecting an APIError and returns it (nil if it succeeded or threw something else).
private func apiError<T>(_ body: () throws -> T) -> APIError? {
    do {
        _ = try body()
        return nil
    } catch {
        return error as? APIError
    }
}

@Suite(.blocking) struct APIClientCreateRunTests {
    @Test func sendsOnePostWithKeyContentTypeAndTheRequestBody() throws {
        let fake = FakeTransport([status(200, created)])
        let response = try client(fake).createRun(request)
        #expect(response == CreateRunResponse(id: "ddebd75b-99b3-42b4-ac65-5ce852c688e9",
                                              recordingUploadUrl: "https://path/to/upload?sig=1"))
        #expect(fake.requests.count == 1)
        let sent = try #require(fake.requests.first)
        #expect(sent.method == "POST")
        #expect(sent.url == "https://api.example.test/v1/models/mental-wellness")
        #expect(sent.values(of: "x-api-key") == [key])
        #expect(sent.values(of: "Content-Type") == ["application/json"])
        guard case .data(let body) = sent.body else {
            Issue.record("the create body is not in memory: \(sent.body)")
            return
        }
        let expected = try APIExamples.json("""
            {"user": {"userLabel": "operator-1234", "dateOfBirth": "1990-08-01", "birthSex": "FEMALE"},
             "language": "en-GB", "tags": [{"name": "site", "value": "depot-7"}],
             "deleteData": true, "dataToDelete": ["RECORDINGS"]}
            """)
        #expect(try JSONDecoder().decode(JSONValue.self, from: body) == expected)
    }

    @Test(arguments: ["https://api.example.test/", "https://api.example.test"])
    func trailingSlashOnTheBaseURLIsHandled(baseURL: String) throws {
        let fake = FakeTransport([status(200, created), status(200, APIExamples.created)])
        let api = client(fake, baseURL: baseURL)
        _ = try api.createRun(request)
        _ = try api.getRun("ddebd75b-99b3-42b4-ac65-5ce852c688e9")
        #expect(fake.requests.map(\.url) == [
            "https://api.example.test/v1/models/mental-wellness",
            "https://api.example.test/v1/models/mental-wellness/ddebd75b-99b3-42b4-ac65-5ce852c688e9",
        ])
    }

    @Test func baseURLWithAPathPrefixKeepsIt() throws {
        let fake = FakeTransport([status(200, created)])
        _ = try client(fake, baseURL: "http://127.0.0.1:8080/proxy/").createRun(request)
        #expect(fake.requests.first?.url == "http://127.0.0.1:8080/proxy/v1/models/mental-wellness")
    }

    @Test(arguments: [401, 403])
    func authFailure(code: Int) {
        let fake = FakeTransport([status(code, #"{"message": "Forbidden"}"#)])
        let error = apiError { try client(fake).createRun(request) }
        #expect(error == .auth(status: code))
        #expect(error?.exitCode == .authFailed)
        #expect(fake.requests.count == 1)
    }

    @Test func validationFailureIsRefusedWithFastAPIMessages() {
        let body = #"{"detail": [{"loc": ["body", "user", "birthSex"], "msg": "value is not a valid enumeration member", "type": "type_error.enum"}]}"#
        let fake = FakeTransport([status(422, body)])
        let error = apiError { try client(fake).createRun(request) }
        #expect(error == .refused(status: 422, messages: ["user.birthSex: value is not a valid enumeration member"]))
        #expect(error?.exitCode == .apiRefused)
        #expect(error?.message.contains("user.birthSex: value is not a valid enumeration member") == true)
        #expect(fake.requests.count == 1)
    }

    @Test func otherClientErrorWithAnUnreadableBodyIsRefusedWithoutMessages() {
        let fake = FakeTransport([status(400, "<html>bad</html>")])
        let error = apiError { try client(fake).createRun(request) }
        #expect(error == .refused(status: 400, messages: []))
        #expect(error?.exitCode == .apiRefused)
    }

    /// An id without a URL still names a paid run: it is returned, not thrown away.
    @Test(arguments: [#"{"id": "abc"}"#, #"{"id": "abc", "recordingUploadUrl": 7}"#])
    func aCreateAnswerWithAnIdButNoURLKeepsTheId(body: String) throws {
        let fake = FakeTransport([status(200, body)])
        #expect(try client(fake).createRun(request) == CreateRunResponse(id: "abc", recordingUploadUrl: nil))
        #expect(fake.requests.count == 1)
    }

    @Test(arguments: [
        #"{"id": "abc", "recordingUp"#,
        #"{"recordingUploadUrl": "https://path/to/upload?sig=1"}"#,
        "",
        "<html>OK</html>",
    ])
    func malformedCreateAnswerIsNeverResent(body: String) {
        let fake = FakeTransport([status(200, body), status(200, created)])
        let error = apiError { try client(fake).createRun(request) }
        guard case .malformed = error else {
            Issue.record("expected .malformed, got \(String(describing: error))")
            return
        }
        #expect(error?.exitCode == .networkFailed)
        #expect(fake.requests.count == 1)
        #expect(error?.message.contains("a run may have been created") == true)
    }

    @Test func connectionLostPostIsNotResent() {
        let fake = FakeTransport([.failure(.connectionLost("empty reply from server")), status(200, created)])
        let error = apiError { try client(fake).createRun(request) }
        guard case .network(let detail) = error else {
            Issue.record("expected .network, got \(String(describing: error))")
            return
        }
        #expect(detail.contains("connection lost"))
        #expect(error?.exitCode == .networkFailed)
        #expect(fake.requests.count == 1)
    }

    @Test func timedOutPostIsNotResent() {
        let fake = FakeTransport([.failure(.timedOut("operation timed out after 60000 ms")), status(200, created)])
        let error = apiError { try client(fake).createRun(request) }
        guard case .timedOut = error else {
            Issue.record("expected .timedOut, got \(String(describing: error))")
            return
        }
        #expect(error?.exitCode == .networkFailed)
        #expect(fake.requests.count == 1)
    }

    @Test func postThatCouldNotConnectIsResent() throws {
        let sleeps = Box<[Double]>([])
        let fake = FakeTransport([.failure(.couldNotConnect("connection refused")), status(200, created)])
        let response = try client(fake, sleeps: sleeps).createRun(request)
        #expect(response.id == "ddebd75b-99b3-42b4-ac65-5ce852c688e9")
        #expect(fake.requests.map(\.method) == ["POST", "POST"])
        #expect(sleeps.get == [0.5])
    }

    @Test func postThatNeverConnectsEndsAsNetworkAfterEveryAttempt() {
        let fake = FakeTransport([.failure(.couldNotConnect("connection refused"))])
        let error = apiError { try client(fake).createRun(request) }
        guard case .couldNotConnect = error else {
            Issue.record("expected .couldNotConnect, got \(String(describing: error))")
            return
        }
        #expect(fake.requests.count == policy.maxAttempts)
    }

    /// A 500 may come after the run was created: a POST is not resent. A 503 or 429 says the server
    /// did not act: it is.
    @Test(arguments: [(500, 1), (502, 1), (503, 5), (429, 5)])
    func serverErrorsOnPost(code: Int, attempts: Int) {
        let fake = FakeTransport([status(code)])
        let error = apiError { try client(fake).createRun(request) }
        #expect(error == .server(status: code, attempts: attempts))
        #expect(error?.exitCode == .networkFailed)
        #expect(fake.requests.count == attempts)
    }

    @Test func apiOptionsHaveATotalTimeout() throws {
        let fake = FakeTransport([status(200, created)])
        _ = try client(fake).createRun(request)
        #expect(try #require(fake.exchanges.first).options.totalTimeout > 0)
    }
}

@Suite(.blocking) struct APIClientGetRunTests {
    @Test func sendsAGetWithTheKeyAndNoBody() throws {
        let fake = FakeTransport([status(200, APIExamples.completeOK)])
        let run = try client(fake).getRun("3f2b8c1e-6a4d-4e7b-9c0a-1d2e3f4a5b6c")
        #expect(run.status == "COMPLETE_OK")
        #expect(run.scores?.values == APIExamples.completeOKScores)
        let sent = try #require(fake.requests.first)
        #expect(sent.method == "GET")
        #expect(sent.url == "https://api.example.test/v1/models/mental-wellness/3f2b8c1e-6a4d-4e7b-9c0a-1d2e3f4a5b6c")
        #expect(sent.values(of: "x-api-key") == [key])
        guard case .none = sent.body else {
            Issue.record("a GET with a body: \(sent.body)")
            return
        }
    }

    @Test func notFound() {
        let fake = FakeTransport([status(404, #"{"detail": "Model run not found"}"#)])
        let error = apiError { try client(fake).getRun("r-404") }
        guard case .notFound(let what) = error else {
            Issue.record("expected .notFound, got \(String(describing: error))")
            return
        }
        #expect(what.contains("r-404"))
        #expect(error?.exitCode == .apiRefused)
        #expect(fake.requests.count == 1)
    }

    @Test(arguments: [401, 403])
    func authFailure(code: Int) {
        let fake = FakeTransport([status(code)])
        let error = apiError { try client(fake).getRun("r1") }
        #expect(error == .auth(status: code))
        #expect(error?.exitCode == .authFailed)
    }

    @Test func serviceUnavailableThreeTimesThenSuccess() throws {
        let sleeps = Box<[Double]>([])
        let fake = FakeTransport([status(503), status(503), status(503), status(200, APIExamples.created)])
        let run = try client(fake, sleeps: sleeps).getRun("ddebd75b-99b3-42b4-ac65-5ce852c688e9")
        #expect(run.status == "CREATED")
        #expect(fake.requests.count == 4) // three 503s and the answer
        #expect(sleeps.get == [0.5, 1.0, 2.0])
    }

    @Test func retryAfterIsObeyed() throws {
        let sleeps = Box<[Double]>([])
        let fake = FakeTransport([status(429, headers: ["retry-after": "7"]), status(200, APIExamples.created)])
        _ = try client(fake, sleeps: sleeps).getRun("ddebd75b-99b3-42b4-ac65-5ce852c688e9")
        #expect(sleeps.get == [7])
    }

    @Test(arguments: [500, 502, 503, 504])
    func serverErrorForever(code: Int) {
        let fake = FakeTransport([status(code)])
        let error = apiError { try client(fake).getRun("r1") }
        #expect(error == .server(status: code, attempts: policy.maxAttempts))
        #expect(error?.exitCode == .networkFailed)
        #expect(fake.requests.count == policy.maxAttempts)
    }

    @Test func lostConnectionOnAGetIsRetried() throws {
        let fake = FakeTransport([.failure(.connectionLost("reset")), .failure(.timedOut("slow")), status(200, APIExamples.created)])
        #expect(try client(fake).getRun("ddebd75b-99b3-42b4-ac65-5ce852c688e9").status == "CREATED")
        #expect(fake.requests.count == 3)
    }

    @Test(arguments: [
        #"{"id": "r1", "stat"#,
        #"{"id": "r1"}"#,
        #"{"status": "CREATED"}"#,
        #"["r1"]"#,
    ])
    func malformedRun(body: String) {
        let fake = FakeTransport([status(200, body)])
        let error = apiError { try client(fake).getRun("r1") }
        guard case .malformed = error else {
            Issue.record("expected .malformed, got \(String(describing: error))")
            return
        }
        #expect(error?.exitCode == .networkFailed)
    }

    @Test func abortedTransfer() {
        let fake = FakeTransport([.failure(.aborted)])
        let error = apiError { try client(fake).getRun("r1") }
        #expect(error == .aborted)
        #expect(error?.exitCode == .interrupted)
        #expect(fake.requests.count == 1)
    }

    @Test func abortDuringARetryWait() {
        let fake = FakeTransport([status(503)])
        let error = apiError { try client(fake, sleepResult: false).getRun("r1") }
        #expect(error == .aborted)
        #expect(error?.exitCode == .interrupted)
        #expect(fake.requests.count == 1)
    }

    @Test func theClientsAbortCheckReachesTheTransport() {
        let fake = FakeTransport([status(200, APIExamples.created)])
        let error = apiError { try client(fake, shouldAbort: { true }).getRun("r1") }
        #expect(error == .aborted)
    }
}

@Suite(.blocking) struct APIClientUploadTests {
    @Test func putsTheFileToTheExactURLWithoutTheKey() throws {
        let fake = FakeTransport([status(200)])
        fake.progressToReport = UploadProgress(sent: 512, total: 1024)
        let progress = Box<[UploadProgress]>([])
        try client(fake).upload(path: "/rec/speech.wav", size: 1_105_978, to: uploadURL, contentType: "audio/wav",
                                progress: { p in progress.update { $0.append(p) } })
        let exchange = try #require(fake.exchanges.first)
        let sent = exchange.request
        #expect(fake.requests.count == 1)
        #expect(sent.method == "PUT")
        #expect(sent.url == uploadURL)
        #expect(sent.values(of: "Content-Type") == ["audio/wav"])
        #expect(sent.values(of: "x-api-key") == [])
        #expect(!sent.headers.contains { $0.value.contains(key) })
        guard case .file(let path, let size, _, _) = sent.body else {
            Issue.record("the upload body is not streamed from the file: \(sent.body)")
            return
        }
        #expect(path == "/rec/speech.wav")
        #expect(size == 1_105_978)
        #expect(progress.get == [UploadProgress(sent: 512, total: 1024)])
        // A big file on a slow link may take long; only a stall ends it.
        #expect(exchange.options.totalTimeout == 0)
    }

    @Test func expiredURL() {
        let fake = FakeTransport([status(403, "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>")])
        let error = apiError { try client(fake).upload(path: "/a.wav", size: 10, to: uploadURL, contentType: "audio/wav", progress: nil) }
        #expect(error == .uploadExpired(status: 403))
        #expect(error?.exitCode == .apiRefused)
        #expect(fake.requests.count == 1)
        #expect(fake.requests.allSatisfy { $0.values(of: "x-api-key").isEmpty })
    }

    @Test func serverErrorForeverIsRetriedThenServer() {
        let fake = FakeTransport([status(500)])
        let error = apiError { try client(fake).upload(path: "/a.wav", size: 10, to: uploadURL, contentType: "audio/wav", progress: nil) }
        #expect(error == .storageFailed(status: 500, attempts: policy.maxAttempts))
        #expect(error?.exitCode == .networkFailed)
        #expect(fake.requests.count == policy.maxAttempts)
        #expect(fake.requests.allSatisfy { $0.method == "PUT" && $0.values(of: "x-api-key").isEmpty })
    }

    @Test func lostConnectionIsResentAndSucceeds() throws {
        let fake = FakeTransport([.failure(.connectionLost("reset by peer")), status(200)])
        try client(fake).upload(path: "/a.wav", size: 10, to: uploadURL, contentType: "audio/flac", progress: nil)
        #expect(fake.requests.count == 2)
        #expect(fake.requests.allSatisfy { $0.values(of: "x-api-key").isEmpty })
    }

    @Test func otherClientErrorKeepsAShortRedactedExcerpt() {
        let body = "<Error>\n<Code>InvalidArgument</Code>\n<URL>\(uploadURL)</URL>\n</Error>"
        let fake = FakeTransport([status(400, body)])
        let error = apiError { try client(fake).upload(path: "/a.wav", size: 10, to: uploadURL, contentType: "audio/wav", progress: nil) }
        // Storage's own code, not "the API refused", and nothing of the signed URL.
        #expect(error == .storageRefused(status: 400, code: "InvalidArgument"))
        #expect(error?.exitCode == .apiRefused)
        #expect(error?.message.contains("storage refused the upload (HTTP 400, InvalidArgument)") == true)
        #expect(error?.message.contains("abc123") == false)
    }

    @Test func abortedUpload() {
        let fake = FakeTransport([.failure(.aborted)])
        let error = apiError { try client(fake).upload(path: "/a.wav", size: 10, to: uploadURL, contentType: "audio/wav", progress: nil) }
        #expect(error == .aborted)
        #expect(error?.exitCode == .interrupted)
        #expect(fake.requests.count == 1)
    }

    @Test func unreadableFile() {
        let fake = FakeTransport([.failure(.fileUnreadable(path: "/a.wav", reason: "permission denied"))])
        let error = apiError { try client(fake).upload(path: "/a.wav", size: 10, to: uploadURL, contentType: "audio/wav", progress: nil) }
        #expect(error == .fileUnreadable("/a.wav: permission denied"))
        #expect(error?.exitCode == .recordingRejected)
        #expect(fake.requests.count == 1)
    }
}

@Suite(.blocking) struct APIErrorTests {
    @Test(arguments: [
        (APIError.missingKey, ExitCode.authFailed),
        (.auth(status: 401), .authFailed),
        (.refused(status: 422, messages: []), .apiRefused),
        (.notFound("run r1"), .apiRefused),
        (.uploadExpired(status: 403), .apiRefused),
        (.server(status: 503), .networkFailed),
        (.network("x"), .networkFailed),
        (.timedOut("x"), .networkFailed),
        (.malformed("x"), .networkFailed),
        (.aborted, .interrupted),
        (.fileUnreadable("x"), .recordingRejected),
    ])
    func exitCodes(error: APIError, code: ExitCode) {
        #expect(error.exitCode == code)
    }

    @Test(arguments: [
        APIError.missingKey, .auth(status: 401), .refused(status: 422, messages: ["a"]), .notFound("run r1"),
        .server(status: 503), .network("x"), .timedOut("x"), .malformed("x"), .uploadExpired(status: 403),
        .aborted, .fileUnreadable("x"),
    ])
    func messagesAreLowerCaseFragments(error: APIError) throws {
        let first = try #require(error.message.first)
        #expect(first.isLowercase)
        #expect(!error.message.hasPrefix("error"))
        #expect(!error.message.hasSuffix("."))
    }
}

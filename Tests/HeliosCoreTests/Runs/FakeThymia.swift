import Foundation
@testable import HeliosCore
import HeliosTestSupport

/// A clock that moves only when someone sleeps on it: whole lifecycles (polls every 3 s, URLs
/// that expire after an hour) run in milliseconds.
final class VirtualClock: @unchecked Sendable {
    private let lock = NSLock()
    private var seconds: Double = 1_800_000_000

    var now: Date { lock.withLock { Date(timeIntervalSince1970: seconds) } }
    func advance(_ s: Double) { lock.withLock { seconds += max(0, s) } }

    /// `RetryingTransport.Sleep` on this clock: returns at once, false if the abort check holds.
    var sleep: RetryingTransport.Sleep {
        { [self] s, abort in
            if let abort, abort() { return false }
            advance(s)
            return !(abort?() ?? false)
        }
    }
}

/// Where an injected interruption lands: every write to the state directory and both sides of
/// every HTTP exchange (before the server acts, and after it acted but before we hear) count.
final class Faults: @unchecked Sendable {
    enum Kind: String, CaseIterable, Sendable {
        /// Ctrl-C: the command stops new work, finishes what may cost money, exits 130.
        case signal
        /// Ctrl-C twice: stop even waiting for a create's answer.
        case doubleSignal
        /// The network fails here (before: nothing sent; after: the answer is lost), or the disk
        /// fills up (every state write from here on fails).
        case failure
        /// The process dies: nothing more reaches the disk or the network.
        case crash
    }

    struct Crashed: Error {}
    struct DiskFull: Error {}

    let target: Int?
    let kind: Kind
    let cancellation: Cancellation
    /// Done at the target instead of `kind`'s interruption (e.g. change a file mid-lifecycle).
    var perform: (@Sendable (String) -> Void)?
    /// Interrupt as `kind` says after `perform`, instead of only performing.
    var performThenFire = false
    /// Fire at the first boundary of this name instead of at an index.
    var targetName: String?
    private var fired = false
    private let lock = NSLock()
    private var count = 0
    private var names: [String] = []
    private var crashed = false
    private var diskFull = false

    init(at target: Int?, _ kind: Kind, cancellation: Cancellation) {
        self.target = target
        self.kind = kind
        self.cancellation = cancellation
    }

    var boundaries: [String] { lock.withLock { names } }
    var didCrash: Bool { lock.withLock { crashed } }

    private func hit(_ name: String) -> Kind? {
        let fire = lock.withLock {
            count += 1
            names.append(name)
            let now = count == target || (targetName == name && !fired)
            if now { fired = true }
            return now
        }
        guard fire else { return nil }
        if let perform {
            perform(name)
            return performThenFire ? kind : nil
        }
        return kind
    }

    private func crash() {
        lock.withLock { crashed = true }
        cancellation.request()
        cancellation.request()
    }

    /// Before the server acts a failure means nothing was sent; after it, the answer is lost.
    func beforeHTTP(_ route: String) throws(TransportError) {
        try http(route + ">", failure: .couldNotConnect("injected: connection refused"))
    }

    func afterHTTP(_ route: String) throws(TransportError) {
        try http(route + "<", failure: .connectionLost("injected: connection reset by peer"))
    }

    private func http(_ boundary: String, failure: TransportError) throws(TransportError) {
        if didCrash { throw .aborted }
        switch hit(boundary) {
        case .signal?: cancellation.request()
        case .doubleSignal?: cancellation.request(); cancellation.request()
        case .failure?: throw failure
        case .crash?: crash(); throw .aborted
        case nil: break
        }
    }

    /// `CLIContext.beforeStateWrite`.
    func disk(_ what: String) throws {
        if didCrash { throw Crashed() }
        if lock.withLock({ diskFull }) { throw DiskFull() }
        switch hit(what) {
        case .signal?: cancellation.request()
        case .doubleSignal?: cancellation.request(); cancellation.request()
        case .failure?:
            lock.withLock { diskFull = true }
            throw DiskFull()
        case .crash?: crash(); throw Crashed()
        case nil: break
        }
    }
}

/// thymia's API and its storage host in process, behind the transport seam `HeliosCLI.run`
/// takes. It keeps what a real server would: every run created, every recording stored (by
/// digest), and answers like helios-api.md: 401 for a wrong key, 409 for a second upload,
/// 403 "Request has expired" after the URL's hour, CREATED → RUNNING → COMPLETE_OK.
final class FakeThymia: HTTPTransport, @unchecked Sendable {
    struct Run {
        var id: String
        var userLabel: String
        var status = "CREATED"
        var expires: Double
        var storedSha256: String?
        var polls = 0
    }

    static let key = "sk-fake-4b1d"
    let clock: VirtualClock
    var faults: Faults?
    /// GETs after the upload until COMPLETE_OK.
    var pollsToFinish = 2
    /// The `Date` header of `GET /v1/account` (the clock check of `helios doctor`).
    var accountDate = "Fri, 15 Jan 2027 08:00:00 GMT"
    /// Rewrites an answer after the fake acted on the request: a hostile or broken server.
    /// Gets the route ("create", "get", "put"), how many requests of that route came before
    /// (0-based), and the honest answer.
    var rewrite: (@Sendable (_ route: String, _ nth: Int, HTTPResponse) -> HTTPResponse)?
    private var routeCounts: [String: Int] = [:]
    private let lock = NSLock()
    private var runList: [Run] = []
    private var log: [String] = []
    private var hosts: [String] = []
    /// Runs whose upload is still landing from an earlier connection: GET says CREATED, a PUT
    /// gets 409, and the landing completes with that 409.
    private var landing: [String: String] = [:]

    init(clock: VirtualClock) { self.clock = clock }

    var requestHosts: [String] { lock.withLock { hosts } }

    func setLanding(_ runId: String, sha256: String) { lock.withLock { landing[runId] = sha256 } }

    var runs: [Run] { lock.withLock { runList } }
    var requests: [String] { lock.withLock { log } }

    func send(_ request: HTTPRequest, options: TransportOptions, progress: (@Sendable (UploadProgress) -> Void)?,
              shouldAbort: (@Sendable () -> Bool)?) throws(TransportError) -> HTTPResponse {
        let route = Self.route(request)
        try faults?.beforeHTTP(route)
        lock.withLock {
            log.append("\(request.method) \(route)")
            hosts.append(String(request.url.split(separator: "/").dropFirst().first ?? ""))
        }
        var response: HTTPResponse
        switch route {
        case "create": response = create(request)
        case "get": response = get(request)
        case "put": response = try put(request, progress: progress)
        case "account":
            response = authorized(request)
                ? HTTPResponse(status: 200, headers: ["date": accountDate], body: Data(#"{"id":"acct-fake","features":["data-export"]}"#.utf8))
                : HTTPResponse(status: 401)
        default: response = HTTPResponse(status: 404)
        }
        if let rewrite {
            let nth: Int = lock.withLock { defer { routeCounts[route, default: 0] += 1 }; return routeCounts[route, default: 0] }
            response = rewrite(route, nth, response)
        }
        try faults?.afterHTTP(route)
        // The answer came, but the caller stopped listening first.
        if let shouldAbort, shouldAbort() { throw .aborted }
        return response
    }

    static func route(_ request: HTTPRequest) -> String {
        if request.url.hasPrefix("https://storage.test/") { return "put" }
        if request.method == "POST" { return "create" }
        if request.method == "GET", request.url.hasSuffix("/v1/account") { return "account" }
        if request.method == "GET" { return "get" }
        return "other"
    }

    private func authorized(_ request: HTTPRequest) -> Bool {
        request.headers.contains { $0.name.lowercased() == "x-api-key" && $0.value == Self.key }
    }

    private func create(_ request: HTTPRequest) -> HTTPResponse {
        guard authorized(request) else { return HTTPResponse(status: 401, body: Data(#"{"message":"Unauthorized"}"#.utf8)) }
        guard case .data(let body) = request.body,
              let json = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
              let user = json["user"] as? [String: Any], let label = user["userLabel"] as? String else {
            return HTTPResponse(status: 422, body: Data(#"{"detail":[{"loc":["body"],"msg":"bad"}]}"#.utf8))
        }
        let id = UUID().uuidString.lowercased()
        let expires = clock.now.timeIntervalSince1970 + 3600
        lock.withLock { runList.append(Run(id: id, userLabel: label, expires: expires)) }
        let url = "https://storage.test/upload/\(id)?expires=\(Int(expires))&signature=sig-\(id.prefix(8))"
        return HTTPResponse(status: 200, body: Data(#"{"id":"\#(id)","recordingUploadUrl":"\#(url)"}"#.utf8))
    }

    private func get(_ request: HTTPRequest) -> HTTPResponse {
        guard authorized(request) else { return HTTPResponse(status: 401) }
        let id = String(request.url.split(separator: "/").last ?? "")
        let run: Run? = lock.withLock {
            guard let i = runList.firstIndex(where: { $0.id == id }) else { return nil }
            if landing[id] != nil { return runList[i] }
            if runList[i].storedSha256 != nil, runList[i].status != "COMPLETE_OK" {
                runList[i].polls += 1
                runList[i].status = runList[i].polls >= pollsToFinish ? "COMPLETE_OK" : "RUNNING"
            }
            return runList[i]
        }
        guard let run else { return HTTPResponse(status: 404, body: Data(#"{"detail":"Not Found"}"#.utf8)) }
        var object: [String: Any] = ["id": run.id, "status": run.status, "userLabel": run.userLabel,
                                     "createdAt": "2026-12-03T09:00:00+00:00"]
        if run.status == "COMPLETE_OK" {
            object["results"] = ["sections": [["transcript": "fake", "distress": ["value": 0.33], "stress": ["value": 0.66]]]]
            object["completedAt"] = "2026-12-03T09:01:00+00:00"
        }
        return HTTPResponse(status: 200, body: (try? JSONSerialization.data(withJSONObject: object)) ?? Data())
    }

    /// Reads the body as curl would (through `FileUploadSource`, digest check included) and
    /// stores it only when every byte arrived.
    private func put(_ request: HTTPRequest, progress: (@Sendable (UploadProgress) -> Void)?) throws(TransportError) -> HTTPResponse {
        guard case .file(let path, let size, _, let sha256) = request.body else { return HTTPResponse(status: 411) }
        let id = String(request.url.split(separator: "?")[0].split(separator: "/").last ?? "")
        guard let run = lock.withLock({ runList.first { $0.id == id } }) else {
            return HTTPResponse(status: 404, body: Data("<Error><Code>NoSuchUpload</Code></Error>".utf8))
        }
        guard request.url.contains("signature=sig-\(id.prefix(8))") else {
            return HTTPResponse(status: 403, body: Data("<Error><Code>SignatureDoesNotMatch</Code></Error>".utf8))
        }
        guard clock.now.timeIntervalSince1970 <= run.expires else {
            return HTTPResponse(status: 403, body: Data("<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>".utf8))
        }
        if let sha = lock.withLock({ landing.removeValue(forKey: id) }) {
            lock.withLock {
                if let i = runList.firstIndex(where: { $0.id == id }) {
                    runList[i].storedSha256 = sha
                    runList[i].status = "RUNNING"
                }
            }
            return HTTPResponse(status: 409, body: Data("<Error><Code>UploadInProgress</Code></Error>".utf8))
        }
        guard run.storedSha256 == nil else {
            return HTTPResponse(status: 409, body: Data("<Error><Code>RecordingAlreadyUploaded</Code></Error>".utf8))
        }
        let source = try FileUploadSource(path: path, size: size, expectedSHA256: sha256)
        var hasher = HeliosCore.SHA256()
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var sent: Int64 = 0
        while sent < size {
            var failure: TransportError?
            let n = buffer.withUnsafeMutableBytes { raw -> Int in
                do { return try source.read(into: raw) } catch { failure = error as? TransportError ?? .other(code: -1, message: "\(error)"); return 0 }
            }
            if let failure { throw failure }
            if sha256 == nil { buffer.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) } }
            sent += Int64(n)
            progress?(UploadProgress(sent: sent, total: size))
        }
        // `FileUploadSource` has checked the bytes against the digest helios sent with them.
        let digest = sha256 ?? HeliosCore.SHA256.hex(hasher.finalize())
        lock.withLock {
            if let i = runList.firstIndex(where: { $0.id == id }) {
                runList[i].storedSha256 = digest
                runList[i].status = "RUNNING"
            }
        }
        return HTTPResponse(status: 200)
    }
}

/// Captures what a command printed, like a terminal would, but apart.
final class CapturedOutput: @unchecked Sendable {
    private let lock = NSLock()
    private var outText = ""
    private var errText = ""
    /// Called on every stdout write: a test can close the "pipe" after N results.
    var onOut: (@Sendable (Int) -> Void)?
    private var outWrites = 0

    lazy var output = Output(out: { [unowned self] text in
        let n: Int = lock.withLock { outText += text; outWrites += 1; return outWrites }
        onOut?(n)
    }, err: { [unowned self] text in lock.withLock { errText += text } })

    var stdout: String { lock.withLock { outText } }
    var stderr: String { lock.withLock { errText } }
}

/// One state directory, one fake thymia, and recordings of speech: `helios` run in process.
final class RunWorld: @unchecked Sendable {
    let clock = VirtualClock()
    let server: FakeThymia
    let state: String
    let dir: String
    var key: String? = FakeThymia.key

    init() {
        server = FakeThymia(clock: clock)
        state = TestPaths.makeTempDir("helios-world-state")
        dir = TestPaths.makeTempDir("helios-world-rec")
    }

    deinit {
        try? FileManager.default.removeItem(atPath: state)
        try? FileManager.default.removeItem(atPath: dir)
    }

    var journalPath: String { state + "/runs.jsonl" }
    func journal() throws -> [JournalEntry] { try Journal(path: journalPath).entries() }
    func latest() throws -> [JournalEntry] { try Journal(path: journalPath).latest() }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var boundaries: [String]

        /// The one command helios said resumes the work, as arguments.
        var resumeHint: [String]? {
            for line in stderr.split(separator: "\n") {
                var command: Substring?
                if let range = line.range(of: "resume with: helios ") {
                    command = line[range.upperBound...]
                } else if line.hasPrefix("{"), let json = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] {
                    let resume = (json["error"] as? [String: Any])?["resume"] as? String ?? json["resume"] as? String
                    command = resume.map { $0.dropFirst("helios ".count) }
                }
                if let command { return command.split(separator: " ").map(String.init) }
            }
            return nil
        }
    }

    /// `helios ARGS` in process against the fake, with an optional fault and cancellation.
    func run(_ args: [String], faults: Faults? = nil, cancellation: Cancellation = Cancellation(),
             output: CapturedOutput = CapturedOutput(), environment extra: [String: String] = [:]) -> Result {
        server.faults = faults
        defer { server.faults = nil }
        var env = ["HELIOS_STATE_DIR": state, "THYMIA_BASE_URL": "https://api.fake.test", "NO_COLOR": "1"]
        if let key { env["THYMIA_API_KEY"] = key }
        for (k, v) in extra { env[k] = v }
        var context = CLIContext(environment: env, today: "2026-12-03", arguments: args)
        context.cancellation = faults?.cancellation ?? cancellation
        context.transport = server
        context.sleep = clock.sleep
        let clock = clock
        context.now = { clock.now }
        if let faults { context.beforeStateWrite = { try faults.disk($0) } }
        let status = HeliosCLI.run(arguments: args, context: context, output: output.output)
        return Result(status: status, stdout: output.stdout, stderr: output.stderr, boundaries: faults?.boundaries ?? [])
    }
}

import Foundation
import Glibc
import Testing
@testable import HeliosCore
import HeliosTestSupport

/// Issue 10's network cases through real libcurl on loopback: a trickling answer, a certificate
/// that does not verify, a 429 that asks for a day, and `localhost.`.
@Suite(.cooperative) struct HostileNetworkTests {
    static let runId = "ddebd75b-99b3-42b4-ac65-5ce852c688e9"

    static func client(_ baseURL: String, gate: RateGate = RateGate()) -> APIClient {
        let transport = RetryingTransport(GatedTransport(CurlTransport(), gate: gate), policy: RetryPolicy(jitter: .none))
        return APIClient(baseURL: baseURL, apiKey: "k", transport: transport, shouldAbort: { false })
    }

    /// A poll answer that trickles in a byte every 2 s (a whole valid body would take a minute)
    /// ends with the deadline, not when the last byte comes.
    @Test func aTricklingAnswerEndsAtTheDeadline() async throws {
        let body = #"{"id":"\#(Self.runId)","status":"RUNNING"}"#
        let server = try TrickleServer(head: "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n",
                                       body: Array(body.utf8), every: 2)
        defer { server.stop() }
        let deadline = Date().addingTimeInterval(2)
        let client = Self.client(server.baseURL)
        let result = await blockingAPI { () throws(APIError) -> ModelRun in try client.getRun(Self.runId, deadline: deadline) }
        guard case .failure(.timedOut) = result else {
            Issue.record("expected timedOut, got \(result)")
            return
        }
    }

    @Test(.blocking) func apiRequestsCutOffAnAnswerSlowerThanAByteASecond() throws {
        let client = Self.client("https://api.example.test")
        #expect(client.apiOptions.lowSpeedTime > 0 && client.apiOptions.lowSpeedTime <= 20)
        #expect(client.apiOptions.totalTimeout > 0 && client.apiOptions.totalTimeout <= 60)
    }

    /// A certificate that does not verify stops the handshake before any byte of the request:
    /// not retried, and not "a run may exist".
    @Test func aCertificateThatDoesNotVerifyIsTLSFailedAndNeverRetried() async throws {
        let server = try await TLSServer.startOffThePool()
        defer { server.stop() }
        let result = await blocking {
            try CurlTransport().send(.get("https://127.0.0.1:\(server.port)/v1/x"), options: .quick(), progress: nil, shouldAbort: nil)
        }
        guard case .failure(let error) = result, case .tlsFailed = error else {
            Issue.record("expected tlsFailed, got \(result)")
            return
        }
        #expect(!error.requestMayHaveBeenSent)
        #expect(!RetryPolicy.isRetryable(.failure(error), kind: .createRun))
        #expect(RunLifecycle.certainlyNotCreated(APIClient.map(error), urgent: false))
    }

    @Test func aSubmitToAServerWhoseCertificateFailsSaysNothingWasSent() async throws {
        let server = try await TLSServer.startOffThePool()
        defer { server.stop() }
        let world = RunWorld()
        let file = try LifecycleSweepTests.recording(12, into: world.dir, name: "a.ogg")
        let state = world.state
        let result: (Int32, String) = await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                let output = CapturedOutput()
                let env = ["HELIOS_STATE_DIR": state, "THYMIA_BASE_URL": "https://127.0.0.1:\(server.port)",
                           "THYMIA_API_KEY": "sk-x", "NO_COLOR": "1"]
                let status = HeliosCLI.run(arguments: ["submit", file, "--dob", "1990-08", "--sex", "female"],
                                           context: CLIContext(environment: env, today: "2026-12-03"), output: output.output)
                continuation.resume(returning: (status, output.stderr))
            }
        }
        #expect(result.0 == ExitCode.networkFailed.rawValue, "\(result.1)")
        #expect(result.1.contains("did not verify, so nothing was sent"), "\(result.1)")
        #expect(!result.1.contains("may exist"), "\(result.1)")
        #expect(!result.1.contains("retrying"), "\(result.1)")
        #expect(try world.latest().first?.state == .abandoned)
    }

    /// `Retry-After: 99999` closes the shared gate for at most a minute, and a caller with a
    /// deadline does not wait at the gate beyond it.
    @Test(.blocking) func theRateGateHoldIsCappedAndADeadlineEndsTheWait() {
        let gate = RateGate()
        gate.hold(for: 99_999)
        #expect(gate.openAt.timeIntervalSinceNow <= RateGate.maxHold + 1)
        gate.hold(for: .infinity)
        #expect(gate.openAt.timeIntervalSinceNow <= RateGate.maxHold + 1)
        // A deadline already passed: through at once (the request meets the server's own 429).
        #expect(gate.wait(until: Date().addingTimeInterval(-1), shouldAbort: nil))
    }

    /// `localhost.` is loopback and is never looked up in DNS (there is none here): it reaches
    /// the server on 127.0.0.1.
    @Test(arguments: ["localhost", "localhost.", "LOCALHOST."])
    func localhostIsLoopbackWithoutALookup(host: String) async throws {
        let server = try await LoopbackServer()
        defer { Task { await server.stop() } }
        let url = "http://\(host):\(server.port)/v1/x"
        let result = await blocking { try CurlTransport().send(.get(url), options: .quick(), progress: nil, shouldAbort: nil) }
        #expect((try? result.get().status) == 200, "\(result)")
        #expect(server.received.get.count == 1)
    }
}

/// Runs a blocking API call on its own thread (see `blocking`).
func blockingAPI<T: Sendable>(_ body: @escaping @Sendable () throws(APIError) -> T) async -> Result<T, APIError> {
    await withCheckedContinuation { continuation in
        Thread.detachNewThread {
            do throws(APIError) {
                continuation.resume(returning: .success(try body()))
            } catch {
                continuation.resume(returning: .failure(error))
            }
        }
    }
}

/// A one-connection TCP server that sends `head` at once, then `body` one byte every `every`
/// seconds: a slowloris answer.
final class TrickleServer: @unchecked Sendable {
    let port: UInt16
    private let listener: Int32
    private let stopped = Box(false)

    init(head: String, body: [UInt8], every: Double) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        listener = fd
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, listen(fd, 4) == 0 else { throw CancellationError() }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        port = UInt16(bigEndian: addr.sin_port)
        let listener = fd, stopped = stopped
        Thread.detachNewThread {
            while !stopped.get {
                let fd = accept(listener, nil, nil)
                guard fd >= 0 else { return }
                var buffer = [UInt8](repeating: 0, count: 4096)
                _ = read(fd, &buffer, buffer.count)
                _ = head.utf8CString.withUnsafeBufferPointer { send(fd, $0.baseAddress, $0.count - 1, Int32(MSG_NOSIGNAL)) }
                for byte in body {
                    if stopped.get { break }
                    var b = byte
                    guard send(fd, &b, 1, Int32(MSG_NOSIGNAL)) == 1 else { break }
                    usleep(UInt32(every * 1_000_000))
                }
                close(fd)
            }
        }
    }

    var baseURL: String { "http://127.0.0.1:\(port)" }

    func stop() {
        stopped.update { $0 = true }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }
}

/// `openssl s_server` on loopback with a self-signed certificate made for the test: a TLS server
/// whose certificate does not verify.
final class TLSServer: @unchecked Sendable {
    let port: Int
    private let process: Process
    private let dir: String

    private init(port: Int, process: Process, dir: String) {
        self.port = port
        self.process = process
        self.dir = dir
    }

    /// Started on a thread of its own: `Process.waitUntilExit` must not block the cooperative
    /// pool the async test runs on.
    static func startOffThePool() async throws -> TLSServer {
        let result: Result<TLSServer, any Error> = await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: Result { try start() }) }
        }
        return try result.get()
    }

    static func start() throws -> TLSServer {
        let dir = TestPaths.makeTempDir("helios-tls")
        let make = Process()
        make.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        make.arguments = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                          "-keyout", dir + "/key.pem", "-out", dir + "/cert.pem", "-days", "1", "-subj", "/CN=127.0.0.1"]
        make.standardError = FileHandle.nullDevice
        make.standardOutput = FileHandle.nullDevice
        try make.run()
        let made = Date().addingTimeInterval(30)
        while make.isRunning, Date() < made { usleep(10_000) }
        for _ in 0..<5 {
            let port = Int.random(in: 20_000...60_000)
            let server = Process()
            server.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            server.arguments = ["s_server", "-accept", "127.0.0.1:\(port)", "-cert", dir + "/cert.pem", "-key", dir + "/key.pem", "-www", "-quiet"]
            server.standardError = FileHandle.nullDevice
            server.standardOutput = FileHandle.nullDevice
            try server.run()
            let deadline = Date().addingTimeInterval(10)
            while Date() < deadline, server.isRunning {
                if canConnect(port) { return TLSServer(port: port, process: server, dir: dir) }
                usleep(50_000)
            }
            server.terminate()
        }
        throw CancellationError()
    }

    private static func canConnect(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } } == 0
    }

    /// SIGKILL, then a bounded wait for the reaper (`waitUntilExit` can hang when called from
    /// an async test's `defer`).
    func stop() {
        kill(process.processIdentifier, SIGKILL)
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning, Date() < deadline { usleep(10_000) }
        try? FileManager.default.removeItem(atPath: dir)
    }
}

import FlyingFox
import Foundation
import Testing
import HeliosTestSupport
@testable import HeliosCore

/// A RetryingTransport over the real libcurl transport whose waits are recorded, not slept.
private func retrying(
    policy: RetryPolicy = RetryPolicy(), delays: Box<[Double]>, notices: Box<[RetryNotice]>? = nil,
    sleep: RetryingTransport.Sleep? = nil
) -> RetryingTransport {
    RetryingTransport(
        CurlTransport(), policy: policy,
        sleep: sleep ?? { seconds, _ in
            delays.update { $0.append(seconds) }
            return true
        },
        random: { 1.0 },
        onRetry: { notice in notices?.update { $0.append(notice) } })
}

@Suite(.cooperative) struct RetryingTransportTests {
    @Test func serviceUnavailableTwiceThenSuccess() async throws {
        let server = try await LoopbackServer { _, number in
            number <= 2 ? .init(statusCode: .serviceUnavailable) : .init(statusCode: .ok, body: Data("done".utf8))
        }
        defer { Task { await server.stop() } }
        let delays = Box<[Double]>([])
        let notices = Box<[RetryNotice]>([])
        let transport = retrying(delays: delays, notices: notices)
        let response = try await blocking {
            try transport.send(.get(server.baseURL + "/v1/models/mental-wellness/r1"), kind: .idempotent, options: .quick())
        }.get()
        #expect(response.status == 200)
        #expect(response.body == Data("done".utf8))
        #expect(server.received.get.count == 3)
        // Full jitter with the random source pinned at 1: exactly the exponential delays.
        #expect(delays.get == [0.5, 1.0])
        #expect(notices.get == [
            RetryNotice(attempt: 1, delay: 0.5, reason: "503"),
            RetryNotice(attempt: 2, delay: 1.0, reason: "503"),
        ])
    }

    @Test func tooManyRequestsHonoursRetryAfter() async throws {
        let server = try await LoopbackServer { _, number in
            let headers: HTTPHeaders = [HTTPHeader("Retry-After"): "2"]
            return number == 1 ? .init(statusCode: .tooManyRequests, headers: headers) : .init(statusCode: .ok)
        }
        defer { Task { await server.stop() } }
        let delays = Box<[Double]>([])
        let transport = retrying(delays: delays)
        let request = HeliosCore.HTTPRequest(method: "POST", url: server.baseURL + "/v1/models/mental-wellness", body: .data(Data("{}".utf8)))
        let response = try await blocking { try transport.send(request, kind: .createRun, options: .quick()) }.get()
        #expect(response.status == 200)
        #expect(delays.get == [2])
        #expect(server.received.get.count == 2)
    }

    @Test func postIsNotResentAfterATimeoutOnceSent() async throws {
        let server = try await LoopbackServer.silent(for: 5)
        defer { Task { await server.stop() } }
        let delays = Box<[Double]>([])
        let transport = retrying(delays: delays)
        let request = HeliosCore.HTTPRequest(method: "POST", url: server.baseURL + "/v1/models/mental-wellness", body: .data(Data("{}".utf8)))
        // 2 s: long enough for the POST to reach the server on a loaded sanitizer run, and long
        // enough that a wrongly allowed resend (after a 0.5 s backoff) would happen inside it.
        let result = await blocking { try transport.send(request, kind: .createRun, options: .quick(total: 2)) }
        guard case .failure(.timedOut) = result else {
            Issue.record("expected timedOut, got \(result)")
            return
        }
        #expect(delays.get.isEmpty)
        #expect(server.received.get.count == 1)
    }

    @Test func idempotentGetIsResentAfterATimeout() async throws {
        let server = try await LoopbackServer { _, number in
            if number == 1 { try await Task.sleep(for: .seconds(10)) }
            return .init(statusCode: .ok)
        }
        defer { Task { await server.stop() } }
        let delays = Box<[Double]>([])
        let transport = retrying(delays: delays)
        // 2 s: room for the second answer on a loaded machine (a sanitizer build, a parallel run).
        let response = try await blocking { try transport.send(.get(server.baseURL + "/r"), kind: .idempotent, options: .quick(total: 2)) }.get()
        #expect(response.status == 200)
        #expect(delays.get.count == 1)
    }

    @Test func postIsResentWhenTheConnectionWasRefused() async throws {
        let port = try await closedPort()
        let delays = Box<[Double]>([])
        let notices = Box<[RetryNotice]>([])
        let transport = retrying(policy: RetryPolicy(maxAttempts: 3), delays: delays, notices: notices)
        let request = HeliosCore.HTTPRequest(method: "POST", url: "http://127.0.0.1:\(port)/v1/models/mental-wellness", body: .data(Data("{}".utf8)))
        let result = await blocking { try transport.send(request, kind: .createRun, options: .quick()) }
        guard case .failure(.couldNotConnect) = result else {
            Issue.record("expected couldNotConnect, got \(result)")
            return
        }
        #expect(delays.get == [0.5, 1.0])
        #expect(notices.get.map(\.reason) == ["connection failure", "connection failure"])
    }

    @Test func notFoundIsNotRetried() async throws {
        let server = try await LoopbackServer { _, _ in .init(statusCode: .notFound) }
        defer { Task { await server.stop() } }
        let delays = Box<[Double]>([])
        let response = try await blocking {
            try retrying(delays: delays).send(.get(server.baseURL + "/v1/models/mental-wellness/nope"), options: .quick(), progress: nil, shouldAbort: nil)
        }.get()
        #expect(response.status == 404)
        #expect(delays.get.isEmpty)
        #expect(server.received.get.count == 1)
    }

    @Test func lastRetryableResponseIsReturnedWhenAttemptsRunOut() async throws {
        let server = try await LoopbackServer { _, _ in .init(statusCode: .badGateway) }
        defer { Task { await server.stop() } }
        let delays = Box<[Double]>([])
        let response = try await blocking {
            try retrying(policy: RetryPolicy(maxAttempts: 2), delays: delays).send(.get(server.baseURL + "/x"), kind: .idempotent, options: .quick())
        }.get()
        #expect(response.status == 502)
        #expect(server.received.get.count == 2)
    }

    @Test func abortDuringALongRetryAfterWaitEndsPromptly() async throws {
        let abort = Box(false)
        let server = try await LoopbackServer { _, _ in
            abort.update { $0 = true }  // Ctrl-C arrives while the client waits out Retry-After
            let headers: HTTPHeaders = [HTTPHeader("Retry-After"): "30"]
            return .init(statusCode: .serviceUnavailable, headers: headers)
        }
        defer { Task { await server.stop() } }
        let transport = RetryingTransport(CurlTransport())
        let started = Date()
        let result = await blocking {
            try transport.send(.get(server.baseURL + "/x"), kind: .idempotent, options: .quick(), shouldAbort: { abort.get })
        }
        guard case .failure(.aborted) = result else {
            Issue.record("expected aborted, got \(result)")
            return
        }
        // A hang guard, not a timing claim: without the abort the wait would be Retry-After's 30 s.
        #expect(Date().timeIntervalSince(started) < 10)
        #expect(server.received.get.count == 1)
    }

    @Test(.blocking) func abortableSleepSleepsAndStops() {
        let start = Date()
        let slept = RetryingTransport.abortableSleep(0.12, nil)
        #expect(slept)
        #expect(Date().timeIntervalSince(start) >= 0.1)
        let again = Date()
        let completed = RetryingTransport.abortableSleep(10, { true })
        #expect(!completed)
        #expect(Date().timeIntervalSince(again) < 0.5)
    }
}

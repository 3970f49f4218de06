import FlyingFox
import Foundation
import Testing
@testable import HeliosCore
import HeliosTestSupport

typealias Request = HeliosCore.HTTPRequest

@Suite(.cooperative) struct CurlTransportTests {
    @Test func jsonPostArrivesWithBodyAndHeaders() async throws {
        let server = try await LoopbackServer { _, _ in
            .init(statusCode: .ok, headers: [HTTPHeader("X-Run-Id"): "run-1", .contentType: "application/json"],
                  body: Data(#"{"ok":true}"#.utf8))
        }
        defer { Task { await server.stop() } }
        let json = Data(#"{"user":{"userLabel":"a"},"language":"en-GB"}"#.utf8)
        let request = Request(
            method: "POST", url: server.baseURL + "/v1/models/mental-wellness",
            headers: [("x-api-key", "test-key"), ("Content-Type", "application/json")], body: .data(json))
        let result = await blocking { try CurlTransport(version: "9.9").send(request, options: .quick(), progress: nil, shouldAbort: nil) }
        let response = try result.get()
        #expect(response.status == 200)
        #expect(response.headers["x-run-id"] == "run-1")
        #expect(response.body == Data(#"{"ok":true}"#.utf8))
        let seen = try #require(server.received.get.first)
        #expect(seen.method == "POST")
        #expect(seen.path == "/v1/models/mental-wellness")
        #expect(seen.body == json)
        #expect(seen.headers["x-api-key"] == "test-key")
        #expect(seen.headers["content-type"] == "application/json")
        #expect(seen.headers["content-length"] == String(json.count))
        #expect(seen.headers["user-agent"] == "helios/9.9")
        #expect(seen.headers["expect"] == nil)
    }

    @Test func postWithoutContentTypeIsNotLabelledAsAForm() async throws {
        let server = try await LoopbackServer()
        defer { Task { await server.stop() } }
        let request = Request(method: "POST", url: server.baseURL + "/x", body: .data(Data("{}".utf8)))
        _ = try await blocking { try CurlTransport().send(request, options: .quick(), progress: nil, shouldAbort: nil) }.get()
        #expect(server.received.get.first?.headers["content-type"] == nil)
    }

    @Test func fileUploadIsStreamedSizedAndByteIdentical() async throws {
        let dir = TestPaths.makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Over curl's 1 MiB threshold for Expect: 100-continue, so an unsuppressed Expect would stall 1 s.
        let size = 3 * 1024 * 1024 + 123
        let path = makeFile(size: size, in: dir)
        let server = try await LoopbackServer()
        defer { Task { await server.stop() } }
        let reports = Box<[UploadProgress]>([])
        let request = Request(
            method: "PUT", url: server.baseURL + "/upload/abc?X-Amz-Signature=deadbeef",
            headers: [("Content-Type", "audio/wav")], body: .file(path: path, size: Int64(size)))
        let response = try await blocking {
            try CurlTransport().send(request, options: .quick(), progress: { p in reports.update { $0.append(p) } }, shouldAbort: nil)
        }.get()
        #expect(response.status == 200)
        let seen = try #require(server.received.get.first)
        #expect(seen.method == "PUT")
        #expect(seen.query["X-Amz-Signature"] == "deadbeef")
        #expect(seen.body == FileManager.default.contents(atPath: path))
        #expect(seen.headers["content-length"] == String(size))
        #expect(seen.headers["transfer-encoding"] == nil)
        #expect(seen.headers["expect"] == nil, "an Expect: 100-continue makes curl wait up to 1 s for the server")
        #expect(seen.headers["x-api-key"] == nil)
        #expect(seen.headers["content-type"] == "audio/wav")
        let last = try #require(reports.get.last)
        #expect(last == UploadProgress(sent: Int64(size), total: Int64(size)))
        #expect(reports.get.map(\.sent) == reports.get.map(\.sent).sorted())
    }

    @Test func missingFileIsFileUnreadable() async throws {
        let request = Request(method: "PUT", url: "http://127.0.0.1:9/u", body: .file(path: "/nonexistent/x.wav", size: 10))
        let result = await blocking { try CurlTransport().send(request, options: .quick(), progress: nil, shouldAbort: nil) }
        guard case .failure(.fileUnreadable(let path, _)) = result else {
            Issue.record("expected fileUnreadable, got \(result)")
            return
        }
        #expect(path == "/nonexistent/x.wav")
    }

    @Test func fileWhoseSizeChangedIsRefusedBeforeSending() async throws {
        let dir = TestPaths.makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = makeFile(size: 1000, in: dir)
        let server = try await LoopbackServer()
        defer { Task { await server.stop() } }
        let request = Request(method: "PUT", url: server.baseURL + "/u", body: .file(path: path, size: 2000))
        let result = await blocking { try CurlTransport().send(request, options: .quick(), progress: nil, shouldAbort: nil) }
        guard case .failure(.fileUnreadable) = result else {
            Issue.record("expected fileUnreadable, got \(result)")
            return
        }
        #expect(server.received.get.isEmpty)
    }

    @Test func shouldAbortStopsALargeUploadToASlowServer() async throws {
        let dir = TestPaths.makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let size = 64 * 1024 * 1024
        let path = makeFile(size: size, in: dir)
        // The server never reads the body, so the upload stalls once the socket buffers are full.
        let server = try await LoopbackServer(readBody: false) { _, _ in
            try await Task.sleep(for: .seconds(8))
            return .init(statusCode: .ok)
        }
        defer { Task { await server.stop() } }
        let sent = Box<Int64>(0)
        let abort = Box(false)
        let request = Request(method: "PUT", url: server.baseURL + "/u", body: .file(path: path, size: Int64(size)))
        let started = Date()
        let result = await blocking {
            try CurlTransport().send(
                request, options: .quick(total: 30),
                progress: { p in
                    sent.update { $0 = p.sent }
                    if p.sent > 0 { abort.update { $0 = true } }
                },
                shouldAbort: { abort.get })
        }
        guard case .failure(.aborted) = result else {
            Issue.record("expected aborted, got \(result)")
            return
        }
        #expect(Date().timeIntervalSince(started) < 5)
        #expect(sent.get < Int64(size))
    }

    /// An `UploadHold` lets everything but the file's tail go at once, and the tail only on its decision.
    @Test func uploadHoldSendsTheTailOnlyWhenDecided() async throws {
        let dir = TestPaths.makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let size = 3 * 1024 * 1024 + 77
        let path = makeFile(size: size, in: dir)
        let server = try await LoopbackServer()
        defer { Task { await server.stop() } }
        let hold = UploadHold()
        let sentBeforeDecision = Box<Int64>(-1)
        let reports = Box<[UploadProgress]>([])
        Thread.detachNewThread {
            // Until all but the last read's worth has gone (a loaded machine may take a while),
            // then a little longer: the tail must still not go before the decision.
            let deadline = Date().addingTimeInterval(30)
            while Date() < deadline, (reports.get.last?.sent ?? 0) < Int64(size - CurlTransport.uploadBufferBytes) {
                Thread.sleep(forTimeInterval: 0.02)
            }
            Thread.sleep(forTimeInterval: 0.2)
            sentBeforeDecision.update { $0 = reports.get.last?.sent ?? 0 }
            hold.decide(send: true)
        }
        let request = Request(method: "PUT", url: server.baseURL + "/u", body: .file(path: path, size: Int64(size), hold: hold))
        let response = try await blocking {
            try CurlTransport().send(request, options: .quick(), progress: { p in reports.update { $0.append(p) } }, shouldAbort: nil)
        }.get()
        #expect(response.status == 200)
        #expect(server.received.get.first?.body == FileManager.default.contents(atPath: path))
        // While the hold waited, all but the last read's worth had been sent, and not the last byte.
        let early = sentBeforeDecision.get
        #expect(early >= Int64(size - CurlTransport.uploadBufferBytes) && early < Int64(size), "\(early) of \(size)")
    }

    @Test func uploadHoldWithholdingLeavesTheBodyShort() async throws {
        let dir = TestPaths.makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let size = 2 * 1024 * 1024
        let path = makeFile(size: size, in: dir)
        let server = try await LoopbackServer()
        defer { Task { await server.stop() } }
        let hold = UploadHold()
        let reports = Box<[UploadProgress]>([])
        Thread.detachNewThread {
            Thread.sleep(forTimeInterval: 0.3)
            hold.decide(send: false)
            hold.decide(send: true)  // too late: the first decision stands
        }
        let request = Request(method: "PUT", url: server.baseURL + "/u", body: .file(path: path, size: Int64(size), hold: hold))
        let result = await blocking {
            try CurlTransport().send(request, options: .quick(), progress: { p in reports.update { $0.append(p) } }, shouldAbort: nil)
        }
        guard case .failure(.withheld) = result else {
            Issue.record("expected withheld, got \(result)")
            return
        }
        #expect((reports.get.map(\.sent).max() ?? 0) < Int64(size))
        #expect(server.received.get.allSatisfy { $0.body.count < size })
    }

    @Test func ctrlCWhileTheHoldWaitsIsAborted() async throws {
        let dir = TestPaths.makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = makeFile(size: 100_000, in: dir)
        let server = try await LoopbackServer()
        defer { Task { await server.stop() } }
        let started = Date()
        let request = Request(method: "PUT", url: server.baseURL + "/u", body: .file(path: path, size: 100_000, hold: UploadHold()))
        let result = await blocking {
            try CurlTransport().send(request, options: .quick(), progress: nil, shouldAbort: { Date().timeIntervalSince(started) > 0.3 })
        }
        guard case .failure(.aborted) = result else {
            Issue.record("expected aborted, got \(result)")
            return
        }
        #expect(server.received.get.isEmpty)
    }

    @Test func closedPortIsCouldNotConnect() async throws {
        let port = try await closedPort()
        let result = await blocking {
            try CurlTransport().send(.get("http://127.0.0.1:\(port)/x"), options: .quick(), progress: nil, shouldAbort: nil)
        }
        guard case .failure(.couldNotConnect(let message)) = result else {
            Issue.record("expected couldNotConnect, got \(result)")
            return
        }
        #expect(!message.isEmpty)
    }

    @Test func slowServerIsTimedOut() async throws {
        let server = try await LoopbackServer.silent(for: 5)
        defer { Task { await server.stop() } }
        let started = Date()
        let result = await blocking {
            try CurlTransport().send(.get(server.baseURL + "/slow"), options: .quick(total: 0.5), progress: nil, shouldAbort: nil)
        }
        guard case .failure(.timedOut) = result else {
            Issue.record("expected timedOut, got \(result)")
            return
        }
        #expect(Date().timeIntervalSince(started) < 3)
    }

    /// A server that says nothing: curl's progress callback may wait a second between calls, so
    /// the transfer loop itself polls the stop request (`helios_curl_perform_polling`).
    @Test func shouldAbortEndsAWaitForASilentServer() async throws {
        let server = try await LoopbackServer.silent(for: 5)
        defer { Task { await server.stop() } }
        let started = Date()
        let result = await blocking {
            try CurlTransport().send(.get(server.baseURL + "/silent"), options: .quick(total: 30), progress: nil,
                                     shouldAbort: { Date().timeIntervalSince(started) > 0.2 })
        }
        guard case .failure(.aborted) = result else {
            Issue.record("expected aborted, got \(result)")
            return
        }
        #expect(Date().timeIntervalSince(started) < 4, "stopped long before the answer")
    }

    @Test func oversizedResponseBodyIsAnError() async throws {
        let server = try await LoopbackServer { _, _ in .init(statusCode: .ok, body: Data(count: 4096)) }
        defer { Task { await server.stop() } }
        let result = await blocking {
            try CurlTransport(maxResponseBytes: 1024).send(.get(server.baseURL + "/big"), options: .quick(), progress: nil, shouldAbort: nil)
        }
        guard case .failure(.other(_, let message)) = result else {
            Issue.record("expected other, got \(result)")
            return
        }
        #expect(message.contains("larger than 1024 bytes"))
    }

    @Test func errorStatusIsAResponseNotAnError() async throws {
        let server = try await LoopbackServer { _, _ in
            .init(statusCode: .notFound, body: Data(#"{"detail":"Not Found"}"#.utf8))
        }
        defer { Task { await server.stop() } }
        let response = try await blocking {
            try CurlTransport().send(.get(server.baseURL + "/v1/models/mental-wellness/x"), options: .quick(), progress: nil, shouldAbort: nil)
        }.get()
        #expect(response.status == 404)
        #expect(String(decoding: response.body, as: UTF8.self).contains("Not Found"))
    }

    @Test func redirectsAreNotFollowed() async throws {
        let server = try await LoopbackServer { _, number in
            let headers: HTTPHeaders = [.location: "http://localhost:1/elsewhere"]
            return number == 1 ? .init(statusCode: .temporaryRedirect, headers: headers) : .init(statusCode: .ok)
        }
        defer { Task { await server.stop() } }
        let request = Request.get(server.baseURL + "/r", headers: [("x-api-key", "k")])
        let response = try await blocking { try CurlTransport().send(request, options: .quick(), progress: nil, shouldAbort: nil) }.get()
        #expect(response.status == 307)
        #expect(server.received.get.count == 1)
    }

    @Test func remotePlainHTTPIsRefusedWithoutSending() async throws {
        let result = await blocking {
            try CurlTransport().send(.get("http://example.com/v1/account"), options: .quick(), progress: nil, shouldAbort: nil)
        }
        guard case .failure(.other(_, let message)) = result else {
            Issue.record("expected refusal, got \(result)")
            return
        }
        #expect(message.contains("only allowed for loopback"))
    }

    @Test func verboseLogIsRedacted() async throws {
        let server = try await LoopbackServer()
        defer { Task { await server.stop() } }
        let lines = Box<[String]>([])
        let transport = CurlTransport(log: { line in lines.update { $0.append(line) } })
        let apiKey = "sk-live-0123456789"
        let signature = "c2lnbmF0dXJlLXNlY3JldA"
        let request = Request(
            method: "POST", url: server.baseURL + "/upload?X-Amz-Signature=\(signature)&X-Amz-Credential=abc",
            headers: [("x-api-key", apiKey), ("Content-Type", "application/json")], body: .data(Data("{}".utf8)))
        _ = try await blocking { try transport.send(request, options: .quick(), progress: nil, shouldAbort: nil) }.get()
        let log = lines.get
        #expect(log.first == "> POST \(server.baseURL)/upload?[redacted]")
        #expect(log.contains("> x-api-key: [redacted]"))
        #expect(log.contains("> Content-Type: application/json"))
        #expect(log.contains { $0.hasPrefix("< 200 (") && $0.hasSuffix("s, 0 bytes)") })
        #expect(!log.joined().contains(apiKey))
        #expect(!log.joined().contains(signature))
        #expect(!log.joined().contains("X-Amz-Credential"))
        // What the server received is unredacted, of course.
        #expect(server.received.get.first?.headers["x-api-key"] == apiKey)
    }

    @Test func errorMessagesNeverEchoTheQueryOrKey() async throws {
        let port = try await closedPort()
        let lines = Box<[String]>([])
        let request = Request.get("http://127.0.0.1:\(port)/u?sig=topsecret", headers: [("x-api-key", "key-123")])
        let result = await blocking {
            try CurlTransport(log: { line in lines.update { $0.append(line) } }).send(request, options: .quick(), progress: nil, shouldAbort: nil)
        }
        guard case .failure(let error) = result else {
            Issue.record("expected failure")
            return
        }
        let text = "\(error)" + lines.get.joined()
        #expect(!text.contains("topsecret"))
        #expect(!text.contains("key-123"))
        #expect(lines.get.last?.hasPrefix("! could not connect: ") == true)
        #expect(!error.requestMayHaveBeenSent)
    }
}

@Suite(.blocking) struct FileUploadSourceTests {
    @Test func rewindsForAResend() throws {
        let dir = TestPaths.makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = makeFile(size: 10_000, in: dir)
        let source = try FileUploadSource(path: path, size: 10_000)
        var first = [UInt8](repeating: 0, count: 4096)
        let n1 = try first.withUnsafeMutableBytes { try source.read(into: $0) }
        #expect(n1 == 4096)
        #expect(source.seek(to: 0))
        var again = [UInt8](repeating: 0, count: 4096)
        let n2 = try again.withUnsafeMutableBytes { try source.read(into: $0) }
        #expect(n2 == 4096 && again == first)
        #expect(source.seek(to: 9_000))
        var tail = [UInt8](repeating: 0, count: 4096)
        #expect(try tail.withUnsafeMutableBytes { try source.read(into: $0) } == 1000)
        #expect(try tail.withUnsafeMutableBytes { try source.read(into: $0) } == 0)
        #expect(!source.seek(to: 10_001))
    }

    @Test func fileThatShrinksDuringUploadIsAnError() throws {
        let dir = TestPaths.makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = makeFile(size: 10_000, in: dir)
        let source = try FileUploadSource(path: path, size: 10_000)
        #expect(truncate(path, 100) == 0)
        var buffer = [UInt8](repeating: 0, count: 4096)
        #expect(try buffer.withUnsafeMutableBytes { try source.read(into: $0) } == 100)
        #expect(throws: TransportError.self) { try buffer.withUnsafeMutableBytes { try source.read(into: $0) } }
    }
}

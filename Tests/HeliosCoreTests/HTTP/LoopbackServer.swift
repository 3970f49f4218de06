import FlyingFox
import FlyingSocks
import Foundation
@testable import HeliosCore
import HeliosTestSupport

/// What the loopback server saw of one request.
struct ReceivedRequest: Sendable {
    var method: String
    var path: String
    var query: [String: String]
    /// Lower-cased names; repeated headers joined by ", ".
    var headers: [String: String]
    var body: Data
}

/// A lock-protected value shared between a test, its server handlers and transport callbacks.
final class Box<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    var get: Value { lock.withLock { value } }
    func update<R>(_ body: (inout Value) -> R) -> R { lock.withLock { body(&value) } }
}

/// An in-process FlyingFox server on 127.0.0.1 and an ephemeral port, recording every request.
final class LoopbackServer: Sendable {
    typealias Handler = @Sendable (ReceivedRequest, Int) async throws -> FlyingFox.HTTPResponse

    let server: HTTPServer
    let port: UInt16
    let received = Box<[ReceivedRequest]>([])
    private let task: Task<Void, any Error>

    /// A server that says nothing for `seconds`, then answers 200: slow answers and timeouts.
    static func silent(for seconds: Int) async throws -> LoopbackServer {
        try await LoopbackServer { _, _ in
            try await Task.sleep(for: .seconds(seconds))
            return .init(statusCode: .ok)
        }
    }

    /// `handler` gets each request (its body already read unless `readBody` is false) and its 1-based number.
    init(readBody: Bool = true, handler: @escaping Handler = { _, _ in .init(statusCode: .ok) }) async throws {
        let received = self.received
        let server = HTTPServer(
            address: try sockaddr_in.inet(ip4: "127.0.0.1", port: 0), timeout: 30,
            logger: .disabled,
            handler: ClosureHTTPHandler { request in
                var headers: [String: String] = [:]
                for (name, value) in request.headers {
                    let key = name.rawValue.lowercased()
                    headers[key] = headers[key].map { "\($0), \(value)" } ?? value
                }
                let body = readBody ? try await request.bodyData : Data()
                var query: [String: String] = [:]
                for item in request.query { query[item.name] = item.value }
                let seen = ReceivedRequest(
                    method: request.method.rawValue, path: request.path, query: query, headers: headers, body: body)
                let number = received.update { list in
                    list.append(seen)
                    return list.count
                }
                return try await handler(seen, number)
            })
        self.server = server
        // On the global executor, not the test's BlockingPool: a test thread blocked in libcurl
        // must never be the one this server's answer is queued behind.
        task = Task(executorPreference: globalConcurrentExecutor) { try await server.run() }
        // FlyingFox's default is 5 s; a loaded 2-core CI machine can take longer to schedule the
        // server's first task. Still bounded.
        try await server.waitUntilListening(timeout: 30)
        guard case .ip4(_, let port)? = await server.listeningAddress else {
            throw CancellationError()
        }
        self.port = port
    }

    var baseURL: String { "http://127.0.0.1:\(port)" }

    func stop() async {
        await server.stop(timeout: 0)
        task.cancel()
    }
}

/// Runs a blocking transport call on its own thread, so it never ties up the cooperative pool
/// that the in-process server needs (there are only two cores).
func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async -> Result<T, TransportError> {
    await withCheckedContinuation { continuation in
        Thread.detachNewThread {
            do {
                continuation.resume(returning: .success(try body()))
            } catch let error as TransportError {
                continuation.resume(returning: .failure(error))
            } catch {
                continuation.resume(returning: .failure(.other(code: -1, message: "unexpected \(error)")))
            }
        }
    }
}

/// A port nothing listens on: one the kernel just handed out and that was closed again.
func closedPort() async throws -> UInt16 {
    let server = try await LoopbackServer()
    let port = server.port
    await server.stop()
    return port
}

/// A temporary file of `size` patterned bytes.
func makeFile(size: Int, in dir: String) -> String {
    let path = dir + "/upload-\(size).bin"
    // A 64 KiB pattern block repeated (with a varying first byte) is quick to build in a debug build.
    let block = (0..<65_536).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 11) }
    var data = Data(capacity: size)
    var n = 0
    while data.count < size {
        var piece = block.prefix(size - data.count)
        piece[piece.startIndex] = UInt8(truncatingIfNeeded: n)
        data.append(contentsOf: piece)
        n += 1
    }
    _ = FileManager.default.createFile(atPath: path, contents: data)
    return path
}

extension HeliosCore.HTTPRequest {
    static func get(_ url: String, headers: [(name: String, value: String)] = []) -> HeliosCore.HTTPRequest {
        HeliosCore.HTTPRequest(method: "GET", url: url, headers: headers)
    }
}

extension TransportOptions {
    static func quick(total: Double = 10, connect: Double = 5) -> TransportOptions {
        var options = TransportOptions()
        options.totalTimeout = total
        options.connectTimeout = connect
        return options
    }
}

import FlyingFox
import FlyingSocks
import Foundation
import Synchronization

/// The emulator in a process of one's own: binds, learns the real port (for `port = 0`), then
/// serves until `stop()`.
///
///     let emulator = try EmulatorServer(options: EmulatorOptions(arguments: ["--port", "0", "--fault", "status:create:503:1"]))
///     let baseURL = try await emulator.start()   // http://127.0.0.1:PORT
///     defer { Task { await emulator.stop() } }
public final class EmulatorServer: Sendable {
    private let server: HTTPServer
    private let slot = EmulatorSlot()
    private let onFailure: @Sendable (any Error) -> Void
    public let options: EmulatorOptions
    /// Where uploaded recordings are kept while the server runs; removed by `stop()`.
    public let uploadDirectory: String

    /// `onFailure` hears of a server that stopped on its own (not through `stop()`).
    public init(options: EmulatorOptions, onFailure: @escaping @Sendable (any Error) -> Void = { _ in }) throws {
        self.options = options
        self.onFailure = onFailure
        uploadDirectory = NSTemporaryDirectory() + "helios-emulator-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: uploadDirectory, withIntermediateDirectories: true)
        let slot = self.slot
        let config = HTTPServer.Configuration(
            address: try ListenAddress.socketAddress(host: options.host, port: options.port),
            // Handlers may legitimately run long (slow faults, big uploads); FlyingFox turns a timeout into a 500.
            timeout: 24 * 3600,
            // Bodies above 64 KiB are not buffered by FlyingFox: uploads stream straight to disk.
            sharedRequestBufferSize: 64 * 1024,
            sharedRequestReplaySize: 64 * 1024,
            logger: .disabled)
        server = HTTPServer(config: config, handler: ClosureHTTPHandler { request in
            guard let emulator = slot.value.withLock({ $0 }) else {
                return Responses.detail(503, "Starting")
            }
            return await emulator.handle(request)
        })
    }

    /// Starts listening and returns the base URL once requests can be served.
    public func start() async throws -> String {
        Task { [server, slot, onFailure] in
            do {
                try await server.run()
            } catch {
                // stop() closing the socket ends run() with an error too; that one is expected.
                if slot.stopping.withLock({ $0 }) { return }
                onFailure(error)
            }
        }
        try await server.waitUntilListening(timeout: 10)
        guard let address = await server.listeningAddress else { throw SocketError.unsupportedAddress }
        let port: UInt16
        switch address {
        case .ip4(_, let p), .ip6(_, let p): port = p
        case .unix: throw SocketError.unsupportedAddress
        }
        let baseURL = ListenAddress.baseURL(host: options.host, port: port)
        let emulator = Emulator(options: options, baseURL: baseURL, uploadDirectory: uploadDirectory)
        slot.value.withLock { $0 = emulator }
        return baseURL
    }

    public func stop() async {
        slot.stopping.withLock { $0 = true }
        await server.stop(timeout: 1)
        try? FileManager.default.removeItem(atPath: uploadDirectory)
    }
}

/// The emulator needs the port the server got, so the handler finds it here once it exists.
final class EmulatorSlot: Sendable {
    let value = Mutex<Emulator?>(nil)
    let stopping = Mutex(false)
}

import FlyingFox
import Foundation

/// The answers injected by `--fault`.
enum FaultResponses {
    static func status(_ code: Int, retryAfter: Int, authCode: Int) -> HTTPResponse {
        switch code {
        case 401: return Responses.detail(401, "Invalid API key")
        case 403: return Responses.json(403, .object([("message", .string("Forbidden"))]))
        case 429:
            return Responses.json(429, .object([("detail", .string("Too Many Requests"))]),
                                  headers: [(HTTPHeader("Retry-After"), String(retryAfter))])
        case 502, 503, 504:
            // What a load balancer in front of the API sends: HTML, not JSON.
            let phrase = Responses.phrase(code)
            return Responses.text(code, "<html>\r\n<head><title>\(code) \(phrase)</title></head>\r\n<body>\r\n<center><h1>\(code) \(phrase)</h1></center>\r\n</body>\r\n</html>\r\n",
                                  contentType: "text/html")
        case 500...599: return Responses.detail(code, "Internal Server Error")
        default: return Responses.detail(code, Responses.phrase(code))
        }
    }

    /// A 200 whose JSON breaks off mid-way, shaped like the route's real answer.
    static func malformed(_ route: RouteName) -> HTTPResponse {
        let body = switch route {
        case .create: #"{"id": "abc", "recordingUp"#
        case .get: #"{"id": "abc", "createdAt": "2025-03-14T09:12:03+00:00", "status": "COMP"#
        case .account: #"{"id": "emulator-acc"#
        case .upload: #"{"ok": tr"#
        }
        return Responses.text(200, body, contentType: "application/json")
    }

    /// FlyingFox has no "close without answering" call, but a WebSocket upgrade whose handler
    /// throws before the 101 is written makes the server close the socket having sent nothing.
    static func drop() -> HTTPResponse {
        HTTPResponse(webSocket: ConnectionDropper())
    }

    private struct ConnectionDropper: WSHandler {
        struct Dropped: Error {}
        func makeFrames(for client: AsyncThrowingStream<WSFrame, any Error>) async throws -> AsyncStream<WSFrame> {
            throw Dropped()
        }
    }
}

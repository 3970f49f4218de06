import FlyingFox
import Foundation

/// Builders for the bodies the emulator answers with.
enum Responses {
    static func json(_ code: Int, _ body: JSON, headers: [(HTTPHeader, String)] = []) -> HTTPResponse {
        var h = HTTPHeaders()
        h[.contentType] = "application/json"
        // As a real server's answers: `helios doctor` checks the clock against it.
        h[HTTPHeader("Date")] = httpDate()
        for (k, v) in headers { h[k] = v }
        return HTTPResponse(statusCode: status(code), headers: h, body: body.data)
    }

    static func detail(_ code: Int, _ text: String) -> HTTPResponse {
        json(code, .object([("detail", .string(text))]))
    }

    static func validation(_ errors: [FieldError]) -> HTTPResponse {
        json(422, .object([("detail", .array(errors.map(\.json)))]))
    }

    static func text(_ code: Int, _ body: String, contentType: String = "text/plain; charset=utf-8") -> HTTPResponse {
        var h = HTTPHeaders()
        h[.contentType] = contentType
        return HTTPResponse(statusCode: status(code), headers: h, body: Data(body.utf8))
    }

    /// Object-store style error, as S3 answers a pre-signed PUT.
    static func storageError(_ code: Int, _ errorCode: String, _ message: String, extra: [(String, String)] = []) -> HTTPResponse {
        let fields = ([("Code", errorCode), ("Message", message)] + extra).map { "<\($0.0)>\($0.1)</\($0.0)>" }.joined()
        return text(code, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>\(fields)</Error>\n", contentType: "application/xml")
    }

    static func methodNotAllowed(allow: String) -> HTTPResponse {
        json(405, .object([("detail", .string("Method Not Allowed"))]), headers: [(HTTPHeader("Allow"), allow)])
    }

    static func status(_ code: Int) -> HTTPStatusCode {
        HTTPStatusCode(code, phrase: phrase(code))
    }

    static func phrase(_ code: Int) -> String {
        switch code {
        case 200: "OK"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 409: "Conflict"
        case 411: "Length Required"
        case 413: "Content Too Large"
        case 422: "Unprocessable Entity"
        case 429: "Too Many Requests"
        case 500: "Internal Server Error"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        default: code < 500 ? "Client Error" : "Server Error"
        }
    }
}

/// Now as an HTTP date (RFC 9110 IMF-fixdate): `Thu, 04 Dec 2026 06:30:00 GMT`.
func httpDate(_ epoch: Int = time(nil)) -> String {
    var t = epoch
    var parts = tm()
    gmtime_r(&t, &parts)
    let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
    return "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
        + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
}

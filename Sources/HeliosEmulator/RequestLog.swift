import Foundation

/// What the emulator remembers about one API request, for `GET /_emulator/log` and stderr.
/// Header values are copied selectively: the `x-api-key` value is never stored, only its presence.
struct RequestRecord: Sendable {
    var seq: Int
    var method: String
    var path: String
    var route: String?
    var status: Int?
    var hasApiKey: Bool
    var contentLength: String?
    var transferEncoding: String?
    var contentType: String?
    var bodyBytes: Int64 = 0
    var bodySha256: String?
    var runId: String?
    var fault: String?
    var started = Date()

    var json: JSON {
        .object([
            ("seq", .number(Double(seq))),
            ("method", .string(method)),
            ("path", .string(path)),
            ("route", .optional(route)),
            ("status", status.map { .number(Double($0)) } ?? .null),
            ("hasApiKey", .bool(hasApiKey)),
            ("contentLength", .optional(contentLength)),
            ("transferEncoding", .optional(transferEncoding)),
            ("contentType", .optional(contentType)),
            ("bodyBytes", .number(Double(bodyBytes))),
            ("bodySha256", .optional(bodySha256)),
            ("runId", .optional(runId)),
            ("fault", .optional(fault)),
        ])
    }

    /// One stderr line; the path has no query string, so no signature either.
    var line: String {
        let ms = Int(Date().timeIntervalSince(started) * 1000)
        let answer = status.map(String.init) ?? "dropped"
        var s = "helios-emulator: #\(seq) \(method) \(path) -> \(answer) (\(bodyBytes) bytes in, \(ms) ms"
        if let fault { s += ", fault \(fault)" }
        return s + ")"
    }
}

/// Every API request received, in arrival order.
actor RequestLog {
    private var nextSeq = 1
    private var records: [RequestRecord] = []

    func takeSeq() -> Int {
        defer { nextSeq += 1 }
        return nextSeq
    }

    func append(_ record: RequestRecord) {
        records.append(record)
        FileHandle.standardError.write(Data((record.line + "\n").utf8))
    }

    func json() -> JSON {
        .array(records.sorted { $0.seq < $1.seq }.map(\.json))
    }
}

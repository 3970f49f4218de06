import FlyingFox
import Foundation
import HeliosCore

/// Consumes request bodies. Every request's body is read to its end before answering, so a
/// keep-alive connection never mistakes leftover body bytes for the next request.
enum BodyReader {
    struct Drained: Sendable {
        var bytes: Int64
        var sha256: String
    }

    /// The whole body if it fits in `limit` bytes; otherwise nil, with the rest drained.
    static func collect(_ body: HTTPBodySequence, limit: Int) async -> (data: Data?, bytes: Int64) {
        var data = Data()
        var total: Int64 = 0
        var over = false
        do {
            for try await chunk in body {
                total += Int64(chunk.count)
                if over { continue }
                if data.count + chunk.count > limit { over = true; data = Data(); continue }
                data.append(chunk)
            }
        } catch {
            return (nil, total)
        }
        return (over ? nil : data, total)
    }

    /// Reads and discards the body, hashing it (for the log's byte counts and digests).
    static func drain(_ body: HTTPBodySequence) async -> Drained {
        var sha = SHA256()
        var total: Int64 = 0
        do {
            for try await chunk in body {
                total += Int64(chunk.count)
                sha.update(chunk)
            }
        } catch {
            // A client that hangs up mid-body still gets its partial count logged.
        }
        return Drained(bytes: total, sha256: SHA256.hex(sha.finalize()))
    }

    /// The client hung up mid-body after sending `bytes`.
    struct Incomplete: Error {
        var bytes: Int64
    }

    /// Streams the body to a file chunk by chunk: a 400 MB upload never sits in memory. A body
    /// that breaks off throws `Incomplete` with the bytes that did arrive.
    static func store(_ body: HTTPBodySequence, to path: String) async throws -> Drained {
        guard FileManager.default.createFile(atPath: path, contents: nil),
              let handle = FileHandle(forWritingAtPath: path) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
        defer { try? handle.close() }
        var sha = SHA256()
        var total: Int64 = 0
        var chunks = body.makeAsyncIterator()
        while true {
            let next: Data?
            do { next = try await chunks.next() } catch { throw Incomplete(bytes: total) }
            guard let chunk = next else { break }
            try handle.write(contentsOf: chunk)
            sha.update(chunk)
            total += Int64(chunk.count)
        }
        return Drained(bytes: total, sha256: SHA256.hex(sha.finalize()))
    }
}

import Foundation
import HeliosTestSupport

/// One answer received by `/usr/bin/curl`, which lets the tests send exactly the requests they
/// mean to (chunked bodies, no key, odd methods) and see dropped connections as curl exit 52.
struct CurlResult {
    var curlExit: Int32
    var status: Int
    var headers: [String: String]
    var body: Data

    var text: String { String(decoding: body, as: UTF8.self) }
    var json: Any? { try? JSONSerialization.jsonObject(with: body) }
    var object: [String: Any] { (json as? [String: Any]) ?? [:] }
}

enum Curl {
    static func request(_ method: String, _ url: String, headers: [String: String] = [:],
                        body: Data? = nil, chunked: Bool = false, maxTime: Int = 20) throws -> CurlResult {
        let dir = TestPaths.makeTempDir("emulator-curl")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var args = ["-s", "-g", "-X", method, "--max-time", String(maxTime), "-D", dir + "/headers", "-o", dir + "/body",
                    "-w", "%{http_code}", "-H", "Expect:"]
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) { args += ["-H", "\(name): \(value)"] }
        if chunked { args += ["-H", "Transfer-Encoding: chunked"] }
        if let body {
            try body.write(to: URL(fileURLWithPath: dir + "/request"))
            args += ["--data-binary", "@" + dir + "/request"]
        }
        args.append(url)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = args
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let code = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        var parsed: [String: String] = [:]
        let rawHeaders = (try? String(contentsOfFile: dir + "/headers", encoding: .utf8)) ?? ""
        for line in rawHeaders.split(separator: "\r\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2 { parsed[parts[0].lowercased()] = parts[1].trimmingCharacters(in: .whitespaces) }
        }
        let body = (try? Data(contentsOf: URL(fileURLWithPath: dir + "/body"))) ?? Data()
        return CurlResult(curlExit: process.terminationStatus, status: Int(code) ?? 0, headers: parsed, body: body)
    }
}

/// The conversation with the emulator a client would have.
struct EmulatorClient {
    var emu: EmulatorProcess
    var key: String? = "test-key"

    var keyHeader: [String: String] { key.map { ["x-api-key": $0] } ?? [:] }

    /// A computed property: `[String: Any]` is not Sendable, so it cannot be a stored static.
    static var minimalBody: [String: Any] { [
        "user": ["userLabel": "operator-1234", "dateOfBirth": "1990-08-01", "birthSex": "FEMALE"],
        "language": "en-GB",
    ] }

    func create(_ body: [String: Any] = EmulatorClient.minimalBody) throws -> CurlResult {
        try createRaw(try JSONSerialization.data(withJSONObject: body))
    }

    func createRaw(_ body: Data) throws -> CurlResult {
        try Curl.request("POST", emu.baseURL + "/v1/models/mental-wellness",
                         headers: keyHeader.merging(["Content-Type": "application/json"]) { a, _ in a }, body: body)
    }

    /// Creates a run and returns its id and upload URL (fails the caller with a thrown error otherwise).
    func createRun(_ body: [String: Any] = EmulatorClient.minimalBody) throws -> (id: String, uploadURL: String) {
        let r = try create(body)
        guard r.status == 200, let id = r.object["id"] as? String, let url = r.object["recordingUploadUrl"] as? String else {
            throw TestFailure("create failed: \(r.status) \(r.text)")
        }
        return (id, url)
    }

    func upload(_ url: String, _ bytes: Data, contentType: String = "audio/wav", chunked: Bool = false) throws -> CurlResult {
        try Curl.request("PUT", url, headers: ["Content-Type": contentType], body: bytes, chunked: chunked)
    }

    func get(_ id: String) throws -> CurlResult {
        try Curl.request("GET", emu.baseURL + "/v1/models/mental-wellness/" + id, headers: keyHeader)
    }

    /// Polls until the run reaches a terminal status.
    func waitForCompletion(_ id: String, timeout: TimeInterval = 15) throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let r = try get(id)
            if let status = r.object["status"] as? String, status.hasPrefix("COMPLETE") { return r.object }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw TestFailure("run \(id) did not complete within \(timeout)s")
    }

    /// Create, upload and wait: the whole happy path for one recording.
    func submit(_ bytes: Data) throws -> [String: Any] {
        let run = try createRun()
        let put = try upload(run.uploadURL, bytes)
        guard put.status == 200 else { throw TestFailure("upload failed: \(put.status) \(put.text)") }
        return try waitForCompletion(run.id)
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// 16-bit PCM mono WAV files written by hand (RIFF header + samples), so the tests need no codec.
enum TestWAV {
    static func tone(seconds: Double, sampleRate: Int = 16_000, frequency: Double = 440) -> Data {
        let frames = Int(seconds * Double(sampleRate))
        var samples = [Int16](repeating: 0, count: frames)
        for i in 0..<frames {
            // A tone with a slow amplitude wobble: varying energy, yet no speech.
            let envelope = 0.5 + 0.4 * sin(2 * Double.pi * 3 * Double(i) / Double(sampleRate))
            samples[i] = Int16(envelope * 12_000 * sin(2 * Double.pi * frequency * Double(i) / Double(sampleRate)))
        }
        return wav(samples, sampleRate: sampleRate)
    }

    /// The synthetic voice of `TestRecordings` (the local check counts it as speech).
    static func speech(seconds: Double, sampleRate: Int = 16_000) -> Data {
        wav(TestRecordings.samples(.speechLike, seconds: seconds, sampleRate: sampleRate), sampleRate: sampleRate)
    }

    static func wav(_ samples: [Int16], sampleRate: Int) -> Data {
        let frames = samples.count
        var data = Data()
        func le32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) } }
        func le16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) } }
        data.append(contentsOf: Array("RIFF".utf8)); le32(UInt32(36 + frames * 2))
        data.append(contentsOf: Array("WAVE".utf8))
        data.append(contentsOf: Array("fmt ".utf8)); le32(16); le16(1); le16(1)
        le32(UInt32(sampleRate)); le32(UInt32(sampleRate * 2)); le16(2); le16(16)
        data.append(contentsOf: Array("data".utf8)); le32(UInt32(frames * 2))
        samples.map(\.littleEndian).withUnsafeBytes { data.append(contentsOf: $0) }
        return data
    }

    /// Eight bytes per generator call: byte-by-byte takes seconds for megabytes in debug builds.
    static func randomBytes(_ count: Int) -> Data {
        var rng = SystemRandomNumberGenerator()
        var words = (0..<(count + 7) / 8).map { _ in rng.next() as UInt64 }
        return Data(bytes: &words, count: count)
    }
}

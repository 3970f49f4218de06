import Foundation
import HeliosTestSupport
import Testing

/// The pre-signed upload URL: signature, expiry, framing.
@Suite(.blocking) struct EmulatorUploadTests {
    @Test func tamperedSignatureIs403() throws {
        let emu = try EmulatorProcess.start()
        defer { emu.stop() }
        let client = EmulatorClient(emu: emu)
        let run = try client.createRun()
        let last = run.uploadURL.last == "0" ? "1" : "0"
        let tampered = String(run.uploadURL.dropLast()) + last
        let r = try client.upload(tampered, Data([1, 2, 3]))
        #expect(r.status == 403)
        #expect(r.text.contains("SignatureDoesNotMatch"))
        let stripped = try client.upload(String(run.uploadURL.prefix { $0 != "?" }), Data([1]))
        #expect(stripped.status == 403)
        #expect(try client.get(run.id).object["status"] as? String == "CREATED")
    }

    @Test func editedExpiryBreaksTheSignature() throws {
        let emu = try EmulatorProcess.start()
        defer { emu.stop() }
        let client = EmulatorClient(emu: emu)
        let run = try client.createRun()
        let edited = run.uploadURL.replacingOccurrences(of: "expires=", with: "expires=9")
        #expect(try client.upload(edited, Data([1])).status == 403)
    }

    @Test func expiredUploadURLIs403WithExpiredMessage() throws {
        let emu = try EmulatorProcess.start(arguments: ["--fault", "expired-upload:1"])
        defer { emu.stop() }
        let client = EmulatorClient(emu: emu)
        let first = try client.createRun()
        let r = try client.upload(first.uploadURL, Data([1, 2, 3]))
        #expect(r.status == 403)
        #expect(r.text.lowercased().contains("expired"))
        #expect(try client.get(first.id).object["status"] as? String == "CREATED")
        let second = try client.createRun()
        #expect(try client.upload(second.uploadURL, Data([1, 2, 3])).status == 200)
        #expect(try emu.runs().map(\.uploadUrlExpiredAtCreation) == [true, false])
    }

    @Test func unknownRunIs404() throws {
        let emu = try EmulatorProcess.start()
        defer { emu.stop() }
        let client = EmulatorClient(emu: emu)
        let run = try client.createRun()
        let other = UUID().uuidString.lowercased()
        let r = try client.upload(run.uploadURL.replacingOccurrences(of: run.id, with: other), Data([1]))
        #expect(r.status == 404)
    }

    @Test func chunkedUploadIs411AndLeavesRunUploadable() throws {
        let emu = try EmulatorProcess.start(arguments: ["--processing-time", "200ms"])
        defer { emu.stop() }
        let client = EmulatorClient(emu: emu)
        let run = try client.createRun()
        let r = try client.upload(run.uploadURL, TestWAV.randomBytes(10_000), chunked: true)
        #expect(r.status == 411)
        let entry = try #require(try emu.log().last)
        #expect(entry.transferEncoding?.lowercased() == "chunked" && entry.contentLength == nil)
        #expect(try client.upload(run.uploadURL, Data([1, 2])).status == 200)
    }

    @Test func uploadNeedsNoApiKeyAndGetsNone() throws {
        let emu = try EmulatorProcess.start(arguments: ["--api-key", "k"])
        defer { emu.stop() }
        let client = EmulatorClient(emu: emu, key: "k")
        let run = try client.createRun()
        #expect(try client.upload(run.uploadURL, Data([9])).status == 200)
        #expect(try emu.log().last?.hasApiKey == false)
    }

    @Test func largeUploadIsStoredWithExactByteCount() throws {
        let emu = try EmulatorProcess.start(arguments: ["--processing-time", "100ms"])
        defer { emu.stop() }
        let client = EmulatorClient(emu: emu)
        let run = try client.createRun()
        let bytes = TestWAV.randomBytes(5 << 20)
        #expect(try client.upload(run.uploadURL, bytes).status == 200)
        let info = try #require(try emu.runs().first)
        #expect(info.uploadBytes == 5 << 20)
        #expect(try emu.log().last?.bodyBytes == 5 << 20)
    }
}

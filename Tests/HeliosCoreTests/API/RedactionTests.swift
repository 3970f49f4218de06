import Testing
import HeliosTestSupport
@testable import HeliosCore

@Suite(.blocking) struct RedactionTests {
    @Test(arguments: [
        ("https://h.example/p?X-Amz-Signature=abc&X-Amz-Credential=def", "https://h.example/p?[redacted]"),
        ("https://h.example/p", "https://h.example/p"),
        ("https://h.example/p?", "https://h.example/p?[redacted]"),
        ("https://h.example/p#token=1", "https://h.example/p"),
        ("https://user:pw@h.example/p?q=1", "https://user:[redacted]@h.example/p?[redacted]"),
        ("http://127.0.0.1:8080/upload/1?sig=x", "http://127.0.0.1:8080/upload/1?[redacted]"),
    ])
    func urls(input: String, expected: String) {
        #expect(Redaction.url(input) == expected)
    }

    @Test(arguments: [
        ("x-api-key", "sk-123", "[redacted]"),
        ("X-API-KEY", "sk-123", "[redacted]"),
        ("Authorization", "Bearer t", "[redacted]"),
        ("Content-Type", "audio/wav", "audio/wav"),
        ("Location", "https://s3/x?X-Amz-Signature=1", "https://s3/x?[redacted]"),
    ])
    func headers(name: String, value: String, expected: String) {
        #expect(Redaction.headerValue(name: name, value: value) == expected)
        #expect(Redaction.headerLine(name: name, value: value) == "\(name): \(expected)")
    }

    @Test func secretsAndURLsInsideText() {
        let text = "upload to https://bucket.s3.amazonaws.com/k?X-Amz-Signature=ffee failed; key sk-abc rejected (sk-abc)"
        let out = Redaction.text(text, secrets: ["sk-abc", ""])
        #expect(out == "upload to https://bucket.s3.amazonaws.com/k?[redacted] failed; key [redacted] rejected ([redacted])")
    }

    @Test func longerSecretWinsOverItsPrefix() {
        #expect(Redaction.text("a-secret-long b-secret", secrets: ["secret", "a-secret-long"]) == "[redacted] b-[redacted]")
    }

    @Test func textWithoutURLsIsUnchanged() {
        #expect(Redaction.urls(in: "connection refused: 127.0.0.1 port 9") == "connection refused: 127.0.0.1 port 9")
    }
}

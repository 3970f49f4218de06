import Testing
import HeliosTestSupport
@testable import HeliosCore

@Suite(.blocking) struct URLPolicyTests {
    @Test(arguments: [
        "https://api.thymia.ai",
        "https://ca.api.thymia.ai/v1/",
        "https://bucket.s3.eu-west-2.amazonaws.com/x?X-Amz-Signature=1",
        "http://127.0.0.1:8080",
        "http://127.5.6.7/",
        "http://localhost:9000/v1",
        "http://LOCALHOST",
        "http://[::1]:8080/",
        "http://[0:0:0:0:0:0:0:1]/",
    ])
    func allowed(url: String) throws {
        _ = try URLPolicy.check(url)
    }

    @Test(arguments: [
        ("http://example.com", "only allowed for loopback"),
        ("http://api.thymia.ai/v1", "only allowed for loopback"),
        ("http://128.0.0.1", "only allowed for loopback"),
        ("http://10.0.0.1:8080", "only allowed for loopback"),
        ("http://localhost.evil.com", "only allowed for loopback"),
        ("http://127.0.0.1.nip.io", "only allowed for loopback"),
        ("http://[::2]/", "only allowed for loopback"),
        ("http://[::ffff:127.0.0.1]/", "only allowed for loopback"),
        ("ftp://127.0.0.1/x", "unsupported URL scheme"),
        ("file:///etc/passwd", "not a valid URL"),
        ("api.thymia.ai", "not a valid URL"),
        ("", "not a valid URL"),
    ])
    func refused(url: String, fragment: String) {
        do {
            _ = try URLPolicy.check(url)
            Issue.record("\(url) was allowed")
        } catch {
            #expect(error.description.contains(fragment))
        }
    }

    @Test func checkedParts() throws {
        let checked = try URLPolicy.check("http://[::1]:8080/v1")
        #expect(checked == URLPolicy.Checked(scheme: "http", host: "::1", port: 8080, isLoopback: true))
        #expect(try URLPolicy.check("https://API.thymia.ai").host == "api.thymia.ai")
    }
}

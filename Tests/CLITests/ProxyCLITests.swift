import Foundation
import HeliosCore
import HeliosTestSupport
import Testing

/// Issue 10: with a proxy in the environment, a loopback base URL is still reached directly, so
/// the key never travels (over plain http) to the proxy. Spawned, because libcurl reads the
/// proxy variables from the process environment.
@Suite(.blocking) struct ProxyCLITests {
    @Test(arguments: ["http_proxy", "all_proxy", "ALL_PROXY"])
    func aLoopbackBaseURLNeverGoesThroughTheProxy(variable: String) throws {
        let h = try RunHarness()
        // A second emulator stands in for the proxy: it logs whatever reaches it.
        let proxy = try EmulatorProcess.start(arguments: ["--api-key", "proxy-key"])
        defer { proxy.stop() }
        let r = try h.helios(["submit", try h.recording(), "--poll-interval", "1s"] + RunHarness.userArgs,
                             env: [variable: proxy.baseURL, "no_proxy": "", "NO_PROXY": ""])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try proxy.log().isEmpty)
        #expect(try h.emulator.log().contains { $0.route == "create" })
    }
}

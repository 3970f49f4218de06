import Foundation
import Testing
import HeliosTestSupport
@testable import HeliosCore

/// A 429 seen by one worker holds back every worker sharing the gate.
@Suite(.blocking) struct RateGateTests {
    struct Scripted: HTTPTransport {
        let status: Int
        func send(_ request: HTTPRequest, options: TransportOptions, progress: (@Sendable (UploadProgress) -> Void)?,
                  shouldAbort: (@Sendable () -> Bool)?) throws(TransportError) -> HTTPResponse {
            HTTPResponse(status: status, headers: ["retry-after": "30"])
        }
    }

    @Test func a429ClosesTheGateForEveryTransportSharingIt() throws {
        let gate = RateGate()
        let openAtOnce = gate.wait(shouldAbort: { true })
        #expect(openAtOnce, "an open gate lets requests through at once")
        let limited = GatedTransport(Scripted(status: 429), gate: gate)
        let other = GatedTransport(Scripted(status: 200), gate: gate)
        _ = try limited.send(HTTPRequest(method: "GET", url: "http://127.0.0.1:1/x"), options: .init(), progress: nil, shouldAbort: nil)
        // The other worker now waits at the gate (Retry-After 30 s): abandon its wait at once.
        let passed = gate.wait(shouldAbort: { true })
        #expect(passed == false)
        var aborted = false
        do {
            _ = try other.send(HTTPRequest(method: "GET", url: "http://127.0.0.1:1/y"), options: .init(), progress: nil, shouldAbort: { true })
        } catch {
            aborted = error == .aborted
        }
        #expect(aborted)
    }

    @Test func successDoesNotCloseTheGate() throws {
        let gate = RateGate()
        _ = try GatedTransport(Scripted(status: 503), gate: gate)
            .send(HTTPRequest(method: "GET", url: "http://127.0.0.1:1/x"), options: .init(), progress: nil, shouldAbort: nil)
        let open = gate.wait(shouldAbort: { true })
        #expect(open)
    }
}

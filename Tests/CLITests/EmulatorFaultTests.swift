import Foundation
import HeliosTestSupport
import Testing

/// Each `--fault` kind, observed from outside.
@Suite(.blocking) struct EmulatorFaultTests {
    @Test func statusFaultOnCreateAnswersWithoutCreatingThenRecovers() throws {
        let emu = try EmulatorProcess.start(arguments: ["--fault", "status:create:500:1"])
        defer { emu.stop() }
        let client = EmulatorClient(emu: emu)
        let first = try client.create()
        #expect(first.status == 500)
        #expect(first.object["detail"] as? String == "Internal Server Error")
        #expect(try emu.runs().isEmpty)
        #expect(try client.create().status == 200)
        #expect(try emu.runs().count == 1)
        #expect(try emu.log().map(\.fault) == ["status:500", nil])
    }

    @Test func tooManyRequestsCarriesRetryAfter() throws {
        let emu = try EmulatorProcess.start(arguments: ["--fault", "status:get:429:2", "--fault", "retry-after:7"])
        defer { emu.stop() }
        let client = EmulatorClient(emu: emu)
        let run = try client.createRun()
        for _ in 0..<2 {
            let r = try client.get(run.id)
            #expect(r.status == 429)
            #expect(r.headers["retry-after"] == "7")
        }
        #expect(try client.get(run.id).status == 200)
    }

    @Test func gatewayErrorIsPlainTextNotJSON() throws {
        let emu = try EmulatorProcess.start(arguments: ["--fault", "status:any:502"])
        defer { emu.stop() }
        for _ in 0..<2 {
            let r = try Curl.request("GET", emu.baseURL + "/v1/account", headers: ["x-api-key": "k"])
            #expect(r.status == 502)
            #expect(r.json == nil)
            #expect(r.text.contains("502 Bad Gateway"))
        }
    }

    @Test func statusFaultOnUploadStoresNothing() throws {
        let emu = try EmulatorProcess.start(arguments: ["--fault", "status:upload:503:1"])
        defer { emu.stop() }
        let client = EmulatorClient(emu: emu)
        let run = try client.createRun()
        #expect(try client.upload(run.uploadURL, Data([1, 2, 3])).status == 503)
        #expect(try emu.runs().first?.uploadCount == 0)
        #expect(try client.upload(run.uploadURL, Data([1, 2, 3])).status == 200)
    }

    @Test func slowFaultDelaysOnlyTheCountedCalls() throws {
        let emu = try EmulatorProcess.start(arguments: ["--fault", "slow:account:700ms:1"])
        defer { emu.stop() }
        func timed() throws -> (Int, TimeInterval) {
            let start = Date()
            let r = try Curl.request("GET", emu.baseURL + "/v1/account", headers: ["x-api-key": "k"])
            return (r.status, Date().timeIntervalSince(start))
        }
        let (s1, t1) = try timed()
        let (s2, t2) = try timed()
        #expect(s1 == 200 && s2 == 200)
        #expect(t1 >= 0.7)
        #expect(t2 < t1)
    }

    @Test func malformedCreateIsBrokenJSONAndCreatesNothing() throws {
        let emu = try EmulatorProcess.start(arguments: ["--fault", "malformed:create:1"])
        defer { emu.stop() }
        let client = EmulatorClient(emu: emu)
        let r = try client.create()
        #expect(r.status == 200)
        #expect(r.json == nil)
        #expect(r.text.hasPrefix("{\"id\""))
        #expect(try emu.runs().isEmpty)
        #expect(try client.create().json != nil)
    }

    @Test func dropClosesConnectionWithoutAnAnswer() throws {
        let emu = try EmulatorProcess.start(arguments: ["--fault", "drop:get:1"])
        defer { emu.stop() }
        let client = EmulatorClient(emu: emu)
        let run = try client.createRun()
        let dropped = try client.get(run.id)
        #expect(dropped.curlExit == 52) // curl: "Empty reply from server"
        #expect(dropped.status == 0)
        #expect(try client.get(run.id).status == 200)
        let entry = try #require(try emu.log().first { $0.route == "get" })
        #expect(entry.status == nil && entry.fault == "drop")
    }

    @Test func faultsFireInCommandLineOrderAndCountDown() throws {
        let emu = try EmulatorProcess.start(arguments: [
            "--fault", "status:account:500:1", "--fault", "status:any:503:1",
        ])
        defer { emu.stop() }
        let statuses = try (0..<3).map { _ in
            try Curl.request("GET", emu.baseURL + "/v1/account", headers: ["x-api-key": "k"]).status
        }
        #expect(statuses == [500, 503, 200])
    }
}

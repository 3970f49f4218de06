import Foundation
import HeliosTestSupport
import Testing

/// The emulator's own command line: help, refusals, start-up line, clean stop.
@Suite(.blocking) struct EmulatorCommandLineTests {
    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    func run(_ args: [String]) throws -> Outcome {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: EmulatorProcess.binaryPath)
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Outcome(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    @Test func helpDocumentsTheFaultGrammar() throws {
        let r = try run(["--help"])
        #expect(r.status == 0)
        for word in ["status:ROUTE:CODE[:COUNT]", "slow:ROUTE:DUR[:COUNT]", "malformed:ROUTE[:COUNT]",
                     "drop:ROUTE[:COUNT]", "expired-upload[:COUNT]", "retry-after:SECONDS", "auth:401",
                     "HELIOS_EMULATOR_ERR_INTERNAL", "--deletion-delay", "--languages"] {
            #expect(r.stdout.contains(word), "\(word)")
        }
    }

    @Test(arguments: [
        ["--host", "0.0.0.0"], ["--host", "192.168.1.2"], ["--fault", "status:create"], ["--fault", "nope:1"],
        ["--fault", "status:create:200"], ["--fault", "slow:get:soon"], ["--fault", "drop:get:0"],
        ["--processing-time", "fast"], ["--port", "70000"], ["--bogus"], ["--api-key"],
    ])
    func badArgumentsExit2WithoutPrintingAURL(_ args: [String]) throws {
        let r = try run(args)
        #expect(r.status == 2)
        #expect(r.stdout.isEmpty)
        #expect(r.stderr.contains("error:"))
    }

    @Test func printsExactlyOneURLLineAndStopsCleanlyOnSIGTERM() throws {
        let emu = try EmulatorProcess.start(arguments: ["--processing-time", "3s", "--deletion-delay", "1m"])
        #expect(emu.baseURL == "http://127.0.0.1:\(emu.port)")
        #expect(emu.port > 0)
        emu.stop()
        #expect(emu.exitStatus == 0)
    }

    @Test func apiKeyNeverAppearsInErrors() throws {
        let r = try run(["--api-key", "hunter2-secret", "--host", "8.8.8.8"])
        #expect(r.status == 2)
        #expect(!r.stderr.contains("hunter2-secret"))
    }
}

import Foundation

/// The `helios-emulator` command: parse argv, serve, print the base URL, stop cleanly on
/// SIGTERM/SIGINT. The executable is this one call; Swift tests use `EmulatorServer` directly.
public enum EmulatorMain {
    public static func run(arguments: [String] = Array(CommandLine.arguments.dropFirst())) async -> Never {
        let options: EmulatorOptions
        do {
            options = try EmulatorCommandLine.parse(arguments)
        } catch {
            fail("\(error)", code: 2)
        }
        if options.showHelp {
            print(EmulatorCommandLine.helpText)
            exit(0)
        }

        // A client hanging up mid-response must not kill the process.
        signal(SIGPIPE, SIG_IGN)

        let server: EmulatorServer
        do {
            server = try EmulatorServer(options: options, onFailure: { error in
                fail("server stopped: \(error)", code: 1)
            })
        } catch {
            fail("cannot listen on \(options.host):\(options.port): \(error)", code: 1)
        }

        let signalSources = [SIGTERM, SIGINT].map { sig -> any DispatchSourceSignal in
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                // A bounded grace: a stop that waits on a connection (or on a listener still being set
                // up when the signal came) must not keep the process alive; once seen in a test run.
                DispatchQueue.global().asyncAfter(deadline: .now() + 2) { exit(0) }
                Task {
                    await server.stop()
                    exit(0)
                }
            }
            source.resume()
            return source
        }

        do {
            let baseURL = try await server.start()
            // FileHandle writes are unbuffered: the line is out before a reader waits on it.
            FileHandle.standardOutput.write(Data((baseURL + "\n").utf8))
        } catch {
            fail("cannot listen on \(options.host):\(options.port): \(error)", code: 1)
        }

        // Serve until a signal ends the process.
        while true {
            withExtendedLifetime(signalSources) {}
            try? await Task.sleep(nanoseconds: 3_600_000_000_000)
        }
    }

    static func fail(_ message: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data("helios-emulator: error: \(message)\n".utf8))
        exit(code)
    }
}

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

        // SIGTERM and SIGINT: a plain handler writes to a pipe that a thread waits on. Unlike a
        // dispatch signal source (armed asynchronously after resume()), the handler is in place
        // when sigaction returns, so a signal sent as soon as the URL line is read is never lost
        // (once seen: an emulator that ignored the test's SIGTERM and never exited).
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { fail("cannot create a pipe: errno \(errno)", code: 1) }
        stopPipeWriteEnd = fds[1]
        for sig in [SIGTERM, SIGINT] {
            signal(sig) { _ in
                var byte: UInt8 = 1
                _ = write(EmulatorMain.stopPipeWriteEnd, &byte, 1)
            }
        }
        let readEnd = fds[0]
        Thread.detachNewThread {
            var byte: UInt8 = 0
            while read(readEnd, &byte, 1) < 0, errno == EINTR {}
            // A bounded grace: a stop that waits on a connection (or on a listener still being set
            // up when the signal came) must not keep the process alive; once seen in a test run.
            DispatchQueue.global().asyncAfter(deadline: .now() + 2) { exit(0) }
            Task {
                await server.stop()
                exit(0)
            }
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
            try? await Task.sleep(nanoseconds: 3_600_000_000_000)
        }
    }

    /// Where the signal handler writes; a C handler cannot capture, so it is a global.
    nonisolated(unsafe) static var stopPipeWriteEnd: Int32 = -1

    static func fail(_ message: String, code: Int32) -> Never {
        FileHandle.standardError.write(Data("helios-emulator: error: \(message)\n".utf8))
        exit(code)
    }
}

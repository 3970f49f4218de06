import Foundation

/// A command-line mistake; main prints it with `error:` and exits 2.
enum UsageError: Error, Equatable, CustomStringConvertible {
    case unknownOption(String)
    case missingValue(String)
    case invalidValue(option: String, value: String, reason: String)
    case invalidFault(spec: String, reason: String)
    case remoteHostRefused(String)

    var description: String {
        switch self {
        case .unknownOption(let o): "unknown option '\(o)' (see --help)"
        case .missingValue(let o): "option '\(o)' needs a value"
        case let .invalidValue(o, v, why): "invalid value '\(v)' for \(o): \(why)"
        case let .invalidFault(spec, why): "invalid --fault '\(spec)': \(why)"
        case .remoteHostRefused(let h): "refusing to listen on non-loopback host '\(h)' without --allow-remote"
        }
    }
}

/// Everything the command line configures.
struct EmulatorOptions: Sendable, Equatable {
    var host = "127.0.0.1"
    var port: UInt16 = 8080
    var apiKey: String?
    var processingSeconds = 2.0
    var languages = ["en-GB", "en-US"]
    var deletionDelaySeconds = 12.0 * 3600
    var faults: [FaultSpec] = []
    var allowRemote = false
    var showHelp = false
}

/// One row of the option table: help text and usage are rendered from these.
struct OptionSpec {
    var name: String
    var meta: String?
    var help: String
}

enum EmulatorCommandLine {
    static let options: [OptionSpec] = [
        OptionSpec(name: "--host", meta: "<ip>", help: "address to listen on (default 127.0.0.1; loopback only unless --allow-remote)"),
        OptionSpec(name: "--port", meta: "<n>", help: "port (default 8080; 0 picks a free port)"),
        OptionSpec(name: "--api-key", meta: "<key>", help: "the only accepted x-api-key (default: any non-empty key)"),
        OptionSpec(name: "--processing-time", meta: "<dur>", help: "time from upload to a finished run (default 2s)"),
        OptionSpec(name: "--languages", meta: "<list>", help: "comma-separated accepted `language` values (default en-GB,en-US)"),
        OptionSpec(name: "--deletion-delay", meta: "<dur>", help: "how long after completion a deleteData run disappears (default 12h)"),
        OptionSpec(name: "--fault", meta: "<spec>", help: "inject a fault; repeatable (grammar below)"),
        OptionSpec(name: "--allow-remote", meta: nil, help: "allow a non-loopback --host"),
        OptionSpec(name: "--help", meta: nil, help: "show this help"),
    ]

    static var helpText: String {
        let width = options.map { $0.name.count + ($0.meta.map { $0.count + 1 } ?? 0) }.max() ?? 0
        let rows = options.map { o -> String in
            let left = o.name + (o.meta.map { " " + $0 } ?? "")
            return "  " + left + String(repeating: " ", count: width - left.count + 2) + o.help
        }
        return """
        usage: helios-emulator [options]

        A local emulator of thymia's Helios REST API (create run, upload, poll, account) for tests
        and offline CI. When ready it prints its base URL (http://HOST:PORT) as the only line on
        stdout; one log line per request goes to stderr (the API key is never logged).

        options:
        \(rows.joined(separator: "\n"))

        durations: 500ms, 3s, 2m, 1h, or bare seconds (1.5).

        fault specs (--fault, repeatable; ROUTE is create, get, upload, account or any;
        COUNT limits the fault to the first COUNT matching calls, default every call):
          auth:401 | auth:403          how a missing/wrong key is answered (default 401
                                       {"detail":"Invalid API key"}; 403 {"message":"Forbidden"})
          status:ROUTE:CODE[:COUNT]    answer with HTTP CODE (400-599); 429 carries Retry-After;
                                       502/503/504 send a plain-text gateway page, others JSON
          retry-after:SECONDS          Retry-After value sent with 429 (default 1)
          slow:ROUTE:DUR[:COUNT]       delay the answer by DUR
          malformed:ROUTE[:COUNT]      answer 200 with syntactically broken JSON
          drop:ROUTE[:COUNT]           close the connection without answering
          expired-upload[:COUNT]       the first COUNT runs (default all) get already expired upload URLs
        A faulted create never creates a run; a faulted upload stores nothing. Several answering
        faults on one route fire in command-line order; slow faults add up and precede them.

        upload URL (PUT, no key): needs Content-Length (chunked -> 411); bad signature or expired
        -> 403 (S3-style XML); unknown run -> 404; a second upload after a successful one -> 409.
        With deleteData and no dataToDelete, GET answers 404 once --deletion-delay has passed.

        test hooks:
          an upload whose first 64 KiB contain HELIOS_EMULATOR_ERR_INTERNAL ends in ERR_INTERNAL.
          GET /_emulator/log   every API request so far (no key values, no query strings)
          GET /_emulator/runs  every run with its stored fields, status and upload count
        """
    }

    /// Pure: argv (without the program name) to options.
    static func parse(_ args: [String]) throws(UsageError) -> EmulatorOptions {
        var o = EmulatorOptions()
        var i = 0
        while i < args.count {
            var arg = args[i]
            var inlineValue: String?
            if arg.hasPrefix("--"), let eq = arg.firstIndex(of: "=") {
                inlineValue = String(arg[arg.index(after: eq)...])
                arg = String(arg[..<eq])
            }
            func value() throws(UsageError) -> String {
                if let inlineValue { return inlineValue }
                i += 1
                guard i < args.count else { throw .missingValue(arg) }
                return args[i]
            }
            func duration() throws(UsageError) -> Double {
                let text = try value()
                guard let s = DurationParser.seconds(text) else {
                    throw .invalidValue(option: arg, value: text, reason: "expected a duration like 500ms, 3s, 2m or 1.5")
                }
                return s
            }
            switch arg {
            case "--help", "-h": o.showHelp = true
            case "--allow-remote": o.allowRemote = true
            case "--host": o.host = try value()
            case "--port":
                let text = try value()
                guard let p = UInt16(text) else { throw .invalidValue(option: arg, value: text, reason: "expected 0-65535") }
                o.port = p
            case "--api-key":
                let key = try value()
                // The key itself is never echoed, even in errors.
                guard !key.isEmpty else { throw .invalidValue(option: arg, value: "", reason: "must not be empty") }
                o.apiKey = key
            case "--processing-time": o.processingSeconds = try duration()
            case "--deletion-delay": o.deletionDelaySeconds = try duration()
            case "--languages":
                let text = try value()
                let list = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                guard !list.isEmpty else { throw .invalidValue(option: arg, value: text, reason: "expected a comma-separated list") }
                o.languages = list
            case "--fault": o.faults.append(try FaultSpec.parse(try value()))
            default: throw .unknownOption(arg)
            }
            i += 1
        }
        if !o.showHelp, !o.allowRemote, !ListenAddress.isLoopback(o.host) {
            throw .remoteHostRefused(o.host)
        }
        return o
    }
}

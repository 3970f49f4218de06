import Foundation
import HeliosCore

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

/// Everything the command line configures. Swift users build it from the same arguments the
/// command takes (`EmulatorOptions(arguments:)`) or set the fields directly.
public struct EmulatorOptions: Sendable, Equatable {
    public var host = "127.0.0.1"
    public var port: UInt16 = 8080
    /// The only accepted `x-api-key`; nil accepts any non-empty key.
    public var apiKey: String?
    public var processingSeconds = 2.0
    public var languages = ["en-GB", "en-US"]
    public var deletionDelaySeconds = 12.0 * 3600
    var faults: [FaultSpec] = []
    public var allowRemote = false
    var showHelp = false

    public init() {}

    /// The options `helios-emulator ARGUMENTS` would run with; throws on what it would refuse.
    public init(arguments: [String]) throws {
        self = try EmulatorCommandLine.parse(arguments)
    }

    /// Adds one `--fault` spec (grammar in `helios-emulator --help`).
    public mutating func addFault(_ spec: String) throws {
        faults.append(try FaultSpec.parse(spec))
    }
}

/// One row of the option table: help text, usage and the man page are rendered from these.
struct OptionSpec {
    var name: String
    var meta: String?
    var help: String
}

/// One fault of the `--fault` grammar, as help and the man page show it.
struct FaultDoc {
    var syntax: String
    var help: String
    /// A spec of this shape that `FaultSpec.parse` accepts (tests hold the grammar to the docs).
    var example: String
}

public enum EmulatorCommandLine {
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

    static let summary = """
        A local emulator of thymia's Helios REST API (create run, upload, poll, account) for tests
        and offline CI. When ready it prints its base URL (http://HOST:PORT) as the only line on
        stdout; one log line per request goes to stderr (the API key is never logged).
        """

    static let durations = "durations: 500ms, 3s, 2m, 1h, or bare seconds (1.5)."

    static let faultIntro = """
        ROUTE is create, get, upload, account or any; COUNT limits the fault to the first COUNT
        matching calls (default every call).
        """

    /// Every fault `FaultSpec.parse` accepts; a test holds the two together.
    static let faults: [FaultDoc] = [
        FaultDoc(syntax: "auth:401 | auth:403", help: "how a missing or wrong key is answered (default 401 {\"detail\":\"Invalid API key\"}; 403 {\"message\":\"Forbidden\"})", example: "auth:403"),
        FaultDoc(syntax: "status:ROUTE:CODE[:COUNT]", help: "answer with HTTP CODE (400-599); 429 carries Retry-After; 502/503/504 send a plain-text gateway page, others JSON", example: "status:create:503:1"),
        FaultDoc(syntax: "retry-after:SECONDS", help: "the Retry-After value sent with 429 (default 1)", example: "retry-after:2"),
        FaultDoc(syntax: "slow:ROUTE:DUR[:COUNT]", help: "delay the answer by DUR", example: "slow:get:500ms"),
        FaultDoc(syntax: "malformed:ROUTE[:COUNT]", help: "answer 200 with syntactically broken JSON", example: "malformed:get:1"),
        FaultDoc(syntax: "drop:ROUTE[:COUNT]", help: "close the connection without answering", example: "drop:upload:1"),
        FaultDoc(syntax: "expired-upload[:COUNT]", help: "the first COUNT runs (default all) get already expired upload URLs", example: "expired-upload:1"),
    ]

    static let faultOrder = """
        A faulted create never creates a run; a faulted upload stores nothing. Several answering
        faults on one route fire in command-line order; slow faults add up and precede them.
        """

    static let uploadRules = """
        upload URL (PUT, no key): needs Content-Length (chunked -> 411); bad signature or expired
        -> 403 (S3-style XML); unknown run -> 404; a second upload after a successful one -> 409.
        With deleteData and no dataToDelete, GET answers 404 once --deletion-delay has passed.
        """

    /// Test hooks: (what, effect).
    static let hooks: [(String, String)] = [
        ("HELIOS_EMULATOR_ERR_INTERNAL", "an upload whose first 64 KiB contain it ends in ERR_INTERNAL"),
        ("GET /_emulator/log", "every API request so far (no key values, no query strings)"),
        ("GET /_emulator/runs", "every run with its stored fields, status and upload count"),
    ]

    static var helpText: String {
        // Two columns, the second wrapped at 100 columns under itself.
        func table(_ rows: [(String, String)]) -> String {
            let width = rows.map(\.0.count).max() ?? 0
            let indent = String(repeating: " ", count: width + 4)
            return rows.map { left, help in
                var lines = [""]
                for word in help.split(separator: " ") {
                    if !lines[lines.count - 1].isEmpty, indent.count + lines[lines.count - 1].count + 1 + word.count > 100 { lines.append("") }
                    lines[lines.count - 1] += (lines[lines.count - 1].isEmpty ? "" : " ") + word
                }
                return "  " + left + String(repeating: " ", count: width - left.count + 2) + lines.joined(separator: "\n" + indent)
            }.joined(separator: "\n")
        }
        let optionRows = options.map { ($0.name + ($0.meta.map { " " + $0 } ?? ""), $0.help) }
        return """
        usage: helios-emulator [options]

        \(summary)

        options:
        \(table(optionRows))

        \(durations)

        fault specs (--fault, repeatable):
        \(faultIntro)
        \(table(faults.map { ($0.syntax, $0.help) }))

        \(faultOrder)

        \(uploadRules)

        test hooks:
        \(table(hooks))
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

extension EmulatorCommandLine {
    /// helios-emulator(1), from the same tables as `--help`.
    public static func manPage(date: String) -> String {
        var page = Roff.header(name: "helios-emulator", date: date, source: "helios \(HeliosVersion.string)",
                               summary: "a local emulator of thymia's Helios API for tests and offline CI")
        page += [Roff.section("SYNOPSIS"), "\\fBhelios\\-emulator\\fR [\\fIoptions\\fR]"]
        page.append(Roff.section("DESCRIPTION"))
        page += Roff.paragraph(summary.replacingOccurrences(of: "\n", with: " "))
        page += Roff.paragraph(durations.prefix(1).uppercased() + durations.dropFirst())
        page.append(Roff.section("OPTIONS"))
        for option in options { page += Roff.item(option.name + (option.meta.map { " " + $0 } ?? ""), option.help) }
        page.append(Roff.section("FAULTS"))
        page += Roff.paragraph("--fault SPEC injects a fault; it may be given several times. " + faultIntro.replacingOccurrences(of: "\n", with: " "))
        for fault in faults { page += Roff.item(fault.syntax, fault.help + " (e.g. --fault " + fault.example + ")") }
        page += Roff.paragraph(faultOrder.replacingOccurrences(of: "\n", with: " "))
        page.append(Roff.section("UPLOAD URL"))
        page += Roff.paragraph(uploadRules.replacingOccurrences(of: "\n", with: " "))
        page.append(Roff.section("TEST HOOKS"))
        for (hook, effect) in hooks { page += Roff.item(hook, effect) }
        page.append(Roff.section("EXIT STATUS"))
        page += Roff.item("0", "stopped by SIGTERM or SIGINT (or --help)")
        page += Roff.item("1", "could not listen, or the server stopped on its own")
        page += Roff.item("2", "a command-line mistake")
        page.append(Roff.section("EXAMPLES"))
        page += Roff.literal([
            "helios-emulator --port 0 --api-key test-key > emulator.url &",
            "until [ -s emulator.url ]; do sleep 0.1; done",
            "export THYMIA_BASE_URL=$(cat emulator.url) THYMIA_API_KEY=test-key",
            "helios submit sample.wav --dob 1990 --sex unknown",
            "kill %1",
            "",
            "helios-emulator --port 8080 --fault status:create:503:1 --fault slow:get:2s",
        ])
        page.append(Roff.section("SEE ALSO"))
        page.append("\\fBhelios\\fR(1)")
        return page.joined(separator: "\n") + "\n"
    }
}

/// A failure that ends a command: what the user reads, and the exit code it maps to.
public struct CLIFailure: Error, Sendable, Equatable {
    public var exitCode: ExitCode
    public var message: String
    /// The run the failure concerns, when one exists: it is always shown, never lost.
    public var runId: String?
    /// Extra lines of advice printed after the message in text mode (usage line, how to resume).
    public var hints: [String]
    /// The one command that carries the work on without a second paid run, after a stop.
    public var resume: String?

    public init(_ exitCode: ExitCode, _ message: String, runId: String? = nil, hints: [String] = [], resume: String? = nil) {
        self.exitCode = exitCode
        self.message = message
        self.runId = runId
        self.hints = hints
        self.resume = resume
    }

    public static func usage(_ error: UsageError) -> CLIFailure {
        var hints: [String] = []
        if let name = error.command, let spec = CommandTable.command(named: name) {
            hints = spec.usageLines.map { "usage: \($0)" } + ["Run 'helios help \(name)' for all options."]
        } else {
            hints = ["usage: helios COMMAND [options]", "Run 'helios --help' for the commands."]
        }
        return CLIFailure(.usage, error.message, hints: hints)
    }

    struct JSONForm: Encodable {
        struct Body: Encodable {
            var kind: String
            var message: String
            var exitCode: Int32
            var runId: String?
            var resume: String?
        }
        var error: Body
    }

    /// The failure as printed on stderr (by `Console.fail`, the one place that prints failures):
    /// `error: …` and hints, or one JSON object under `--json`.
    public func rendered(json: Bool) -> String {
        if json {
            return JSONLine.encode(JSONForm(error: .init(kind: exitCode.kind, message: message, exitCode: exitCode.rawValue,
                                                         runId: runId, resume: resume)))
        }
        // Messages quote file names and server answers: escaped for the terminal.
        var text = "error: \(Text.terminalSafe(message))\n"
        for hint in hints { text += "\(Text.terminalSafe(hint))\n" }
        if let resume { text += "resume with: \(Text.terminalSafe(resume))\n" }
        return text
    }
}

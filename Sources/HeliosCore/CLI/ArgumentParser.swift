/// The first, table-driven pass over argv: which command, which options with which raw values,
/// which positionals. Knows nothing of what values mean; `Invocation.parse` types them.
public struct RawArguments: Sendable, Equatable {
    public var command: String?
    /// Values by long option name, in order given; flags map to `[""]` per occurrence.
    public var values: [String: [String]] = [:]
    public var positionals: [String] = []

    public func has(_ long: String) -> Bool { values[long] != nil }
    /// The last value given (later options override earlier ones, as in curl and gh).
    public func value(_ long: String) -> String? { values[long]?.last }
    public func all(_ long: String) -> [String] { values[long] ?? [] }

    // The parser's way in: through the option table's entries, never a name typed again.
    public func has(_ option: OptionSpec) -> Bool { has(option.long) }
    public func value(_ option: OptionSpec) -> String? { value(option.long) }
    public func all(_ option: OptionSpec) -> [String] { all(option.long) }
}

public enum ArgumentParser {
    /// Splits argv (without the program name) using the command tables. Global options are
    /// accepted before or after the command; `--` ends options; `-` is a positional.
    public static func split(_ args: [String]) throws(UsageError) -> RawArguments {
        var raw = RawArguments()
        var spec: CommandSpec?
        var index = 0
        var optionsEnded = false

        func options() -> [OptionSpec] { spec?.allOptions ?? CommandTable.globalOptions + versionOptions }
        func record(_ option: OptionSpec, _ value: String) { raw.values[option.long, default: []].append(value) }
        func nextValue(for name: String) throws(UsageError) -> String {
            index += 1
            guard index < args.count else { throw .missingValue(option: name, command: spec?.name) }
            return args[index]
        }

        while index < args.count {
            let arg = args[index]
            if optionsEnded || arg == "-" || !arg.hasPrefix("-") {
                if spec == nil, !optionsEnded {
                    guard let found = CommandTable.command(named: arg) else {
                        throw .unknownCommand(arg, suggestion: nearestSpelling(to: arg, in: CommandTable.commands.map(\.name)))
                    }
                    spec = found
                    raw.command = found.name
                } else {
                    raw.positionals.append(arg)
                }
            } else if arg == "--" {
                optionsEnded = true
            } else if arg.hasPrefix("--") {
                let body = arg.dropFirst(2)
                let name = String(body.prefix { $0 != "=" })
                let inline: String? = body.contains("=") ? String(body.drop { $0 != "=" }.dropFirst()) : nil
                guard let option = options().first(where: { $0.long == name }) else {
                    throw unknown("--\(name)", spec)
                }
                if option.takesValue {
                    if let inline { record(option, inline) } else { record(option, try nextValue(for: "--\(name)")) }
                } else {
                    if inline != nil { throw .flagTakesNoValue(option: "--\(name)", command: spec?.name) }
                    record(option, "")
                }
            } else {
                // Short options: `-q`, `-qv` (flags bundled), `-u LABEL`, `-uLABEL`.
                var letters = Substring(arg.dropFirst())
                while let letter = letters.first {
                    letters = letters.dropFirst()
                    guard let option = options().first(where: { $0.short == letter }) else {
                        throw unknown("-\(letter)", spec)
                    }
                    if option.takesValue {
                        if letters.isEmpty { record(option, try nextValue(for: "-\(letter)")) } else { record(option, String(letters)) }
                        break
                    }
                    record(option, "")
                }
            }
            index += 1
        }
        return raw
    }

    /// `--version` and `-V` are accepted only before a command.
    static let versionOptions = [Opt.version, Opt.versionVerbose]

    private static func unknown(_ written: String, _ spec: CommandSpec?) -> UsageError {
        let pool = spec?.allOptions ?? (CommandTable.globalOptions + versionOptions)
        var candidates = pool.map { "--\($0.long)" }
        candidates += pool.compactMap { $0.short.map { "-\($0)" } }
        let suggestion = written.hasPrefix("--")
            ? nearestSpelling(to: written, in: candidates.filter { $0.hasPrefix("--") })
            : nil
        if spec == nil, suggestion == nil {
            // An option of some command written before the command name: say where it belongs.
            let owner = CommandTable.commands.first { $0.options.contains { "--\($0.long)" == written } }
            if let owner { return .unknownOption(written, command: nil, suggestion: "helios \(owner.name) … \(written)") }
        }
        return .unknownOption(written, command: spec?.name, suggestion: suggestion)
    }
}

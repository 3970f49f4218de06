/// A command line `helios` cannot act on. Each case carries the offending argument; the message
/// is a lower-case fragment (the CLI layer adds `error:` and the usage line) and exit status is 2.
public enum UsageError: Error, Sendable, Equatable {
    case missingCommand
    case unknownCommand(String, suggestion: String?)
    case unknownOption(String, command: String?, suggestion: String?)
    case missingValue(option: String, command: String?)
    case flagTakesNoValue(option: String, command: String?)
    case invalidValue(option: String, value: String, rule: String, command: String?)
    case missingOption(option: String, command: String)
    case missingArgument(String, command: String)
    case unexpectedArgument(String, command: String)
    case conflictingOptions(String, String, reason: String, command: String)
    case unknownHelpTopic(String, suggestion: String?)

    public var message: String {
        switch self {
        case .missingCommand:
            return "no command given"
        case let .unknownCommand(name, suggestion):
            return "unknown command '\(name)'" + Self.hint(suggestion)
        case let .unknownOption(name, command, suggestion):
            return "unknown option '\(name)'\(Self.forCommand(command))" + Self.hint(suggestion)
        case let .missingValue(option, command):
            return "option '\(option)'\(Self.forCommand(command)) needs a value"
        case let .flagTakesNoValue(option, command):
            return "option '\(option)'\(Self.forCommand(command)) takes no value"
        case let .invalidValue(option, value, rule, _):
            return "invalid value '\(value)' for '\(option)': \(rule)"
        case let .missingOption(option, command):
            return "'helios \(command)' needs '\(option)'"
        case let .missingArgument(what, command):
            return "'helios \(command)' needs \(what)"
        case let .unexpectedArgument(arg, command):
            return "unexpected argument '\(arg)' for 'helios \(command)'"
        case let .conflictingOptions(a, b, reason, _):
            return "'\(a)' and '\(b)' cannot be used together: \(reason)"
        case let .unknownHelpTopic(topic, suggestion):
            return "no help topic '\(topic)'" + Self.hint(suggestion)
        }
    }

    /// The command whose usage line should follow the message, if any.
    public var command: String? {
        switch self {
        case .missingCommand, .unknownCommand, .unknownHelpTopic: return nil
        case let .unknownOption(_, command, _), let .missingValue(_, command), let .flagTakesNoValue(_, command),
             let .invalidValue(_, _, _, command):
            return command
        case let .missingOption(_, command), let .missingArgument(_, command), let .unexpectedArgument(_, command),
             let .conflictingOptions(_, _, _, command):
            return command
        }
    }

    private static func forCommand(_ command: String?) -> String {
        command.map { " for 'helios \($0)'" } ?? ""
    }

    private static func hint(_ suggestion: String?) -> String {
        suggestion.map { "; did you mean '\($0)'?" } ?? ""
    }
}

/// The nearest spelling among `candidates`, by optimal-string-alignment distance (a swapped pair
/// of letters counts once, as in `submti`), or nil when nothing is close enough to be a typo.
public func nearestSpelling(to word: String, in candidates: [String]) -> String? {
    var best: (name: String, distance: Int)?
    for candidate in candidates {
        let d = editDistance(word.lowercased(), candidate)
        let limit = max(1, min(3, candidate.count / 3))
        if d <= limit, d < (best?.distance ?? .max) { best = (candidate, d) }
    }
    if best == nil {
        // A unique prefix (`--dele` → `--delete-data`) is also a good guess.
        let prefixed = candidates.filter { $0.hasPrefix(word) && word.count >= 3 }
        if prefixed.count == 1 { return prefixed[0] }
    }
    return best?.name
}

func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
    for i in 0...a.count { d[i][0] = i }
    for j in 0...b.count { d[0][j] = j }
    for i in 1...a.count {
        for j in 1...b.count {
            let cost = a[i - 1] == b[j - 1] ? 0 : 1
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
            }
        }
    }
    return d[a.count][b.count]
}

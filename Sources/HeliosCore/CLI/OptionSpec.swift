/// One option of a command's table. Help, usage lines and "did you mean" hints are all rendered
/// from these values, never written by hand.
public struct OptionSpec: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case flag
        case value
        /// A value option that may be given several times (`--tag`).
        case repeatable
    }

    /// The heading an option is listed under in help.
    public enum Group: String, Sendable, CaseIterable {
        case run = "Run options"
        case batch = "Many recordings"
        case wait = "Wait options"
        case command = "Options"
        case auth = "Authentication"
        case endpoint = "Endpoint"
        case output = "Output"
    }

    public var long: String
    public var short: Character?
    public var kind: Kind
    /// The value's placeholder in help, e.g. `DATE`.
    public var meta: String?
    public var help: String
    public var defaultValue: String?
    public var group: Group
    /// Global options are accepted by every command, before or after its name.
    public var isGlobal: Bool

    public init(
        _ long: String, short: Character? = nil, kind: Kind = .flag, meta: String? = nil,
        help: String, default defaultValue: String? = nil, group: Group = .command, global: Bool = false
    ) {
        self.long = long
        self.short = short
        self.kind = kind
        self.meta = meta
        self.help = help
        self.defaultValue = defaultValue
        self.group = group
        self.isGlobal = global
    }

    public var takesValue: Bool { kind != .flag }

    /// `-u, --user-label LABEL` as shown in help.
    public var synopsis: String {
        var s = short.map { "-\($0), " } ?? "    "
        s += "--\(long)"
        if let meta { s += " \(meta)" }
        return s
    }

    /// `--dob DATE` as shown in usage lines.
    public var usageFragment: String {
        meta.map { "--\(long) \($0)" } ?? "--\(long)"
    }
}

/// A command: its name, a one-line abstract, its positionals and its option table.
public struct CommandSpec: Sendable {
    public var name: String
    public var abstract: String
    /// Positionals as shown in usage, e.g. `FILE...`; empty when the command takes none.
    public var positionals: String
    /// Usage lines after `helios NAME`, when the command has more than one form.
    public var forms: [String]
    public var options: [OptionSpec]
    /// Options that must be given (unless the command's own rules say otherwise), shown in usage.
    public var required: [String]
    public var discussion: String?

    public init(
        name: String, abstract: String, positionals: String = "", forms: [String] = [],
        options: [OptionSpec], required: [String] = [], discussion: String? = nil
    ) {
        self.name = name
        self.abstract = abstract
        self.positionals = positionals
        self.forms = forms
        self.options = options
        self.required = required
        self.discussion = discussion
    }

    /// Every option the command accepts: its own then the global ones.
    public var allOptions: [OptionSpec] { options + CommandTable.globalOptions }

    public func option(long name: String) -> OptionSpec? { allOptions.first { $0.long == name } }
    public func option(short c: Character) -> OptionSpec? { allOptions.first { $0.short == c } }

    /// The usage lines, e.g. `helios submit FILE... --dob DATE --sex SEX [options]`.
    public var usageLines: [String] {
        if !forms.isEmpty { return forms.map { "helios \(name) \($0)" } }
        var parts = ["helios", name]
        if !positionals.isEmpty { parts.append(positionals) }
        for name in required {
            if let o = option(long: name) { parts.append(o.usageFragment) }
        }
        parts.append("[options]")
        return [parts.joined(separator: " ")]
    }
}

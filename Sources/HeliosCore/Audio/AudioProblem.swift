/// Why a recording fails the local check. Messages are lower-case fragments: the CLI layer adds
/// the file name and the `error:` prefix.
public enum AudioProblem: Error, Sendable, Equatable {
    case notFound
    case notAFile(String)
    case notReadable(String)
    case empty
    case invalidFormat(String)

    /// The stable code printed in `problems[].code`.
    public var code: String {
        switch self {
        case .notFound: "NOT_FOUND"
        case .notAFile: "NOT_A_FILE"
        case .notReadable: "NOT_READABLE"
        case .empty: "EMPTY"
        case .invalidFormat: "INVALID_FORMAT"
        }
    }

    public var message: String {
        switch self {
        case .notFound: "no such file"
        case .notAFile(let what): "not a regular file (\(what))"
        case .notReadable(let why): "cannot be read: \(why)"
        case .empty: "file is empty (0 bytes)"
        case .invalidFormat(let why): why
        }
    }

    public var finding: ValidationFinding { ValidationFinding(code: code, message: message) }
}

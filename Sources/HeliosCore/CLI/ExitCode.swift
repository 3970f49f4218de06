/// The exit-code table of CLI.md; the one place outcomes become process statuses.
public enum ExitCode: Int32, Sendable, CaseIterable {
    case success = 0
    case runFailed = 1
    case usage = 2
    case recordingRejected = 3
    case authFailed = 4
    case apiRefused = 5
    case networkFailed = 6
    case timedOut = 7
    case interrupted = 130

    public var meaning: String {
        switch self {
        case .success: "everything asked for succeeded (every run COMPLETE_OK; every file valid)"
        case .runFailed: "a run finished COMPLETE_ERROR, or some items of a batch failed"
        case .usage: "usage: unknown command or option, bad or missing value"
        case .recordingRejected: "a recording failed the local check; nothing was sent for it"
        case .authFailed: "authentication failed (401/403)"
        case .apiRefused: "the API refused the request (422, 404, other 4xx)"
        case .networkFailed: "network or server failure after retries"
        case .timedOut: "timed out waiting; the run goes on and can be resumed with 'helios poll'"
        case .interrupted: "interrupted (Ctrl-C); run ids created so far are printed and kept"
        }
    }

    /// The `kind` of the JSON error object on stderr.
    public var kind: String {
        switch self {
        case .success: "none"
        case .runFailed: "run"
        case .usage: "usage"
        case .recordingRejected: "recording"
        case .authFailed: "auth"
        case .apiRefused: "api"
        case .networkFailed: "network"
        case .timedOut: "timeout"
        case .interrupted: "interrupted"
        }
    }
}

/// The API's `ModelRunStatus` (helios-api.md §4). A status the documentation does not list is
/// kept verbatim rather than refused: the server may grow one, and we still have to journal it.
public enum APIStatus: Hashable, Sendable {
    case created, running, completeOK, completeError
    case unknown(String)

    public init(_ raw: String) {
        switch raw {
        case "CREATED": self = .created
        case "RUNNING": self = .running
        case "COMPLETE_OK": self = .completeOK
        case "COMPLETE_ERROR": self = .completeError
        default: self = .unknown(raw)
        }
    }

    public var rawValue: String {
        switch self {
        case .created: "CREATED"
        case .running: "RUNNING"
        case .completeOK: "COMPLETE_OK"
        case .completeError: "COMPLETE_ERROR"
        case .unknown(let raw): raw
        }
    }

    public var isTerminal: Bool { self == .completeOK || self == .completeError }
}

/// Where a run stands from helios' side: what it has done, and so what a resume must do. Kept
/// apart from `APIStatus`, which is only what the server last said.
public enum RunState: String, Sendable, CaseIterable, Codable {
    /// Checked and about to be created; never journaled.
    case planned
    /// The intent to create, journaled before the POST: a trace even if the process is killed.
    case creating
    /// The POST may have created a run whose id we never heard (a lost answer, a second Ctrl-C,
    /// a kill). thymia cannot list runs, so this record is all there is.
    case createUnconfirmed = "create-unconfirmed"
    /// The run exists; its upload has not started (or was cut short and storage discarded it).
    case created
    /// Bytes are on their way to the upload URL.
    case uploading
    /// Every byte was sent but storage's answer never came: the recording may be stored.
    case uploadUnconfirmed = "upload-unconfirmed"
    /// Storage confirmed the recording, or the API has moved past CREATED.
    case uploaded
    /// COMPLETE_OK or COMPLETE_ERROR; the run object is journaled.
    case finished
    /// Given up for good: its upload URL expired before the recording arrived, or a create that
    /// was never sent. Nothing of it is stored.
    case abandoned

    /// What is unfinished: `runs --pending` lists these and a resume picks them up.
    public var isPending: Bool {
        switch self {
        case .planned, .finished, .abandoned: false
        default: true
        }
    }

    /// Whether a recording may still land in this run from a URL we hold.
    public var mayStillReceiveUpload: Bool {
        self == .created || self == .uploading || self == .uploadUnconfirmed
    }

    /// The word `runs` shows: upper case like the API's statuses.
    public var label: String { rawValue.uppercased().replacing("-", with: "_") }
}

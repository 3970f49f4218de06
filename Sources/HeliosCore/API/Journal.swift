import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// One line of `runs.jsonl`: the state of one run (or one attempt to create a run) at `time`. The
/// journal is append-only; the last line for a key (`intent`, else `runId`) is the current state.
/// Never holds the API key or the upload URL (its signature is a credential; see
/// `UploadURLStore`); it does hold the finished run object, so results can be printed again.
public struct JournalEntry: Codable, Sendable, Equatable {
    /// Drawn by helios before it asks for a run, so the attempt has an identity before the
    /// server gives it one. Nil for runs created elsewhere and only polled here.
    public var intent: String?
    /// Nil while the create's answer is not in (`creating`, `create-unconfirmed`).
    public var runId: String?
    public var time: String
    public var baseURL: String
    public var file: String?
    public var bytes: Int64?
    public var sha256: String?
    public var userLabel: String?
    /// The manifest line the run was made for, when it came from a manifest.
    public var line: Int?
    public var state: RunState
    /// What the API last said (`RUNNING`, `COMPLETE_OK`, …), verbatim.
    public var apiStatus: String?
    /// Digest of the create request, so a resumed batch recognises the same recording *and* fields.
    public var requestDigest: String?
    public var uploadURLExpiresAt: String?
    /// The MIME type the upload was (or will be) sent with.
    public var contentType: String?
    public var errorCode: String?
    /// The run made in place of this one (an expired upload URL, an unconfirmed create).
    public var replacedBy: String?
    public var run: JSONValue?

    public init(intent: String? = nil, runId: String?, time: String = JournalEntry.now(), baseURL: String,
                file: String? = nil, bytes: Int64? = nil, sha256: String? = nil, userLabel: String? = nil,
                state: RunState, apiStatus: String? = nil, requestDigest: String? = nil) {
        self.intent = intent
        self.runId = runId
        self.time = time
        self.baseURL = baseURL
        self.file = file
        self.bytes = bytes
        self.sha256 = sha256
        self.userLabel = userLabel
        self.state = state
        self.apiStatus = apiStatus
        self.requestDigest = requestDigest
    }

    /// The journal's key for this run: one attempt to create, or one run polled from elsewhere.
    public var key: String { intent ?? runId ?? "" }

    /// Unfinished, and not superseded by a run made in its place.
    public var isPending: Bool { state.isPending && replacedBy == nil }

    public var typedAPIStatus: APIStatus? { apiStatus.map(APIStatus.init) }

    /// What `runs` shows: the API's final word once finished, else helios' own state.
    public var status: String {
        switch state {
        case .finished: apiStatus ?? "FINISHED"
        case .uploaded: apiStatus.flatMap { $0 == "CREATED" ? nil : $0 } ?? state.label
        default: state.label
        }
    }

    /// helios 0.1.0's single `status` string as a state and the API's status.
    public static func state(legacyStatus old: String) -> (RunState, String?) {
        switch old {
        case "CREATED": (.created, nil)
        case "ABANDONED": (.abandoned, nil)
        case "UPLOADED": (.uploaded, nil)
        case "COMPLETE_OK", "COMPLETE_ERROR": (.finished, old)
        default: (.uploaded, old)
        }
    }

    /// This entry in another state, as of `time` (the lifecycle passes its injected clock's).
    public func with(state: RunState, at time: String = JournalEntry.now()) -> JournalEntry {
        var copy = self
        copy.time = time
        copy.state = state
        return copy
    }

    public static func now() -> String {
        Text.iso8601UTC()
    }

    enum CodingKeys: String, CodingKey {
        case intent, runId, time, baseURL, file, bytes, sha256, userLabel, line, state, apiStatus, requestDigest,
             uploadURLExpiresAt, contentType, errorCode, replacedBy, run, status
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(intent, forKey: .intent)
        try c.encodeIfPresent(runId, forKey: .runId)
        try c.encode(time, forKey: .time)
        try c.encode(baseURL, forKey: .baseURL)
        try c.encodeIfPresent(file, forKey: .file)
        try c.encodeIfPresent(bytes, forKey: .bytes)
        try c.encodeIfPresent(sha256, forKey: .sha256)
        try c.encodeIfPresent(userLabel, forKey: .userLabel)
        try c.encodeIfPresent(line, forKey: .line)
        try c.encode(state, forKey: .state)
        try c.encodeIfPresent(apiStatus, forKey: .apiStatus)
        try c.encodeIfPresent(requestDigest, forKey: .requestDigest)
        try c.encodeIfPresent(uploadURLExpiresAt, forKey: .uploadURLExpiresAt)
        try c.encodeIfPresent(contentType, forKey: .contentType)
        try c.encodeIfPresent(errorCode, forKey: .errorCode)
        try c.encodeIfPresent(replacedBy, forKey: .replacedBy)
        try c.encodeIfPresent(run, forKey: .run)
    }

    /// Also reads the journals of helios 0.1.0, which kept one `status` string for everything.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        intent = try c.decodeIfPresent(String.self, forKey: .intent)
        runId = try c.decodeIfPresent(String.self, forKey: .runId)
        time = try c.decode(String.self, forKey: .time)
        baseURL = try c.decode(String.self, forKey: .baseURL)
        file = try c.decodeIfPresent(String.self, forKey: .file)
        bytes = try c.decodeIfPresent(Int64.self, forKey: .bytes)
        sha256 = try c.decodeIfPresent(String.self, forKey: .sha256)
        userLabel = try c.decodeIfPresent(String.self, forKey: .userLabel)
        line = try c.decodeIfPresent(Int.self, forKey: .line)
        apiStatus = try c.decodeIfPresent(String.self, forKey: .apiStatus)
        if let state = try c.decodeIfPresent(RunState.self, forKey: .state) {
            self.state = state
        } else {
            (state, apiStatus) = Self.state(legacyStatus: try c.decode(String.self, forKey: .status))
        }
        requestDigest = try c.decodeIfPresent(String.self, forKey: .requestDigest)
        uploadURLExpiresAt = try c.decodeIfPresent(String.self, forKey: .uploadURLExpiresAt)
        contentType = try c.decodeIfPresent(String.self, forKey: .contentType)
        errorCode = try c.decodeIfPresent(String.self, forKey: .errorCode)
        replacedBy = try c.decodeIfPresent(String.self, forKey: .replacedBy)
        run = try c.decodeIfPresent(JSONValue.self, forKey: .run)
        guard runId != nil || intent != nil else {
            throw DecodingError.dataCorruptedError(forKey: .runId, in: c, debugDescription: "neither a run id nor an intent")
        }
    }
}

public enum JournalError: Error, Sendable, Equatable {
    case cannotOpen(path: String, reason: String)
    case cannotWrite(path: String, reason: String)

    public var reason: String {
        switch self {
        case .cannotOpen(_, let reason), .cannotWrite(_, let reason): reason
        }
    }
}

/// `runs.jsonl` in the state directory, mode 0600. Each append is one `write(2)` of a whole line
/// under an exclusive `flock`, so concurrent helios processes never interleave or tear lines.
public struct Journal: Sendable {
    public let path: String
    /// Consulted before each append (tests simulate a crash by refusing every write from then on).
    let beforeEffect: (@Sendable (String) throws -> Void)?

    public init(path: String, beforeEffect: (@Sendable (String) throws -> Void)? = nil) {
        self.path = path
        self.beforeEffect = beforeEffect
    }

    /// Opens the journal for appending and closes it again: a command that will create runs
    /// checks this before it does any work, so nothing is paid for that could not be recorded.
    public func checkWritable() throws(JournalError) {
        let fd = try open(forAppend: true)
        close(fd)
    }

    /// `$HELIOS_STATE_DIR`, else `$XDG_STATE_HOME/helios`, else `~/.local/state/helios`.
    public static func defaultPath(environment: [String: String]) -> String {
        let dir: String
        if let d = environment["HELIOS_STATE_DIR"], !d.isEmpty {
            dir = d
        } else if let x = environment["XDG_STATE_HOME"], !x.isEmpty {
            dir = x + "/helios"
        } else {
            dir = (environment["HOME"] ?? Text.homeDirectory()) + "/.local/state/helios"
        }
        return dir + "/runs.jsonl"
    }

    public func append(_ entry: JournalEntry) throws(JournalError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        if let beforeEffect {
            do { try beforeEffect("journal") } catch { throw .cannotWrite(path: path, reason: "\(error)") }
        }
        guard var line = try? encoder.encode(entry) else { throw .cannotWrite(path: path, reason: "could not encode the entry") }
        line.append(0x0A)
        let fd = try open(forAppend: true)
        defer { close(fd) }
        try lock(fd, LOCK_EX)
        defer { flock(fd, LOCK_UN) }
        // After a crash mid-write the file ends without a newline: start on a fresh line, or this
        // entry (perhaps the only record of a new run) would be glued to the fragment and lost.
        var st = stat()
        if fstat(fd, &st) == 0, st.st_size > 0 {
            var last: UInt8 = 0
            if pread(fd, &last, 1, st.st_size - 1) == 1, last != 0x0A { line.insert(0x0A, at: 0) }
        }
        let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == line.count else { throw .cannotWrite(path: path, reason: String(cString: strerror(errno))) }
    }

    /// Every readable entry in order. A torn or corrupt line (a power cut mid-write) is skipped and
    /// reported through `warn`, never fatal. A missing journal is empty.
    public func entries(warn: (String) -> Void = { _ in }) throws(JournalError) -> [JournalEntry] {
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        let fd = try open(forAppend: false)
        defer { close(fd) }
        try lock(fd, LOCK_SH)
        defer { flock(fd, LOCK_UN) }
        let data = PosixFile(borrowing: fd).readToEnd()
        let decoder = JSONDecoder()
        var result: [JournalEntry] = []
        for (index, line) in data.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() where !line.isEmpty {
            if let entry = try? decoder.decode(JournalEntry.self, from: Data(line)) {
                result.append(entry)
            } else {
                warn("skipping unreadable line \(index + 1) of \(path)")
            }
        }
        return result
    }

    /// The current state of each run (its last entry), in the order runs were first journaled.
    /// Entries group by intent, so a create's trace and the run it became are one item.
    public func latest(warn: (String) -> Void = { _ in }) throws(JournalError) -> [JournalEntry] {
        var order: [String] = []
        var last: [String: JournalEntry] = [:]
        for entry in try entries(warn: warn) {
            if last[entry.key] == nil { order.append(entry.key) }
            last[entry.key] = entry
        }
        return order.compactMap { last[$0] }
    }

    /// Waits for the lock, retrying when a signal interrupts the wait; never writes unlocked.
    private func lock(_ fd: Int32, _ operation: Int32) throws(JournalError) {
        while flock(fd, operation) != 0 {
            guard errno == EINTR else { throw .cannotWrite(path: path, reason: "cannot lock: " + String(cString: strerror(errno))) }
        }
    }

    private func open(forAppend: Bool) throws(JournalError) -> Int32 {
        // The state directory and its parents, 0700, made the way the upload URLs' and locks' are.
        try PrivateFiles.makeDirectory(Text.deletingLastPathComponent(path))
        // O_NOFOLLOW: a symlink planted at the journal's path is refused, never followed and chmod-ed.
        let flags = forAppend ? (O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW) : (O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        let fd = Glibc.open(path, flags, 0o600)
        guard fd >= 0 else { throw .cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        // A journal created by an older umask or by hand is tightened: it holds health-data metadata.
        if forAppend { fchmod(fd, 0o600) }
        return fd
    }
}

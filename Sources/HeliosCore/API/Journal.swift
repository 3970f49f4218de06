import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// One line of `runs.jsonl`: the state of a run at `time`. The journal is append-only; the last line
/// for a run id is its current state. Never holds the API key or the upload URL (its signature is a
/// credential); it does hold the finished run object, so results can be printed again.
public struct JournalEntry: Codable, Sendable, Equatable {
    public var runId: String
    public var time: String
    public var baseURL: String
    public var file: String?
    public var bytes: Int64?
    public var sha256: String?
    public var userLabel: String?
    /// `CREATED` (upload not done), `UPLOADED`, `RUNNING`, `COMPLETE_OK`, `COMPLETE_ERROR`, or
    /// `ABANDONED` (its upload URL expired; a fresh run replaced it).
    public var status: String
    /// Digest of the create request, so a resumed batch recognises the same recording *and* fields.
    public var requestDigest: String?
    public var uploadURLExpiresAt: String?
    public var errorCode: String?
    public var replacedBy: String?
    public var run: JSONValue?

    public init(runId: String, time: String = JournalEntry.now(), baseURL: String, file: String? = nil,
                bytes: Int64? = nil, sha256: String? = nil, userLabel: String? = nil, status: String,
                requestDigest: String? = nil) {
        self.runId = runId
        self.time = time
        self.baseURL = baseURL
        self.file = file
        self.bytes = bytes
        self.sha256 = sha256
        self.userLabel = userLabel
        self.status = status
        self.requestDigest = requestDigest
    }

    public var isPending: Bool { !ModelRun.terminalStatuses.contains(status) && status != "ABANDONED" }

    public static func now() -> String {
        Text.iso8601UTC()
    }
}

public enum JournalError: Error, Sendable, Equatable {
    case cannotOpen(path: String, reason: String)
    case cannotWrite(path: String, reason: String)
}

/// `runs.jsonl` in the state directory, mode 0600. Each append is one `write(2)` of a whole line
/// under an exclusive `flock`, so concurrent helios processes never interleave or tear lines.
public struct Journal: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

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
    public func latest(warn: (String) -> Void = { _ in }) throws(JournalError) -> [JournalEntry] {
        var order: [String] = []
        var last: [String: JournalEntry] = [:]
        for entry in try entries(warn: warn) {
            if last[entry.runId] == nil { order.append(entry.runId) }
            last[entry.runId] = entry
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
        let dir = Text.deletingLastPathComponent(path)
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw .cannotOpen(path: path, reason: "cannot create \(dir)")
        }
        let flags = forAppend ? (O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC) : (O_RDONLY | O_CLOEXEC)
        let fd = Glibc.open(path, flags, 0o600)
        guard fd >= 0 else { throw .cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        // A journal created by an older umask or by hand is tightened: it holds health-data metadata.
        if forAppend { fchmod(fd, 0o600) }
        return fd
    }
}

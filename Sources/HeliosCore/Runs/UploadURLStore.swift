import FoundationEssentials
import Glibc

/// The upload URLs of runs whose recording is not confirmed yet, one file per run beside the
/// journal (`uploads/<intent>.json`, mode 0600, directory 0700). The URL's signature is a
/// credential for one object for one hour, so it never goes into the journal, output or logs;
/// keeping it here is what lets a resume finish the same run instead of paying for a new one.
/// The file is named by the create's intent id and also holds the run id: written before the
/// journal learns the id, it recovers a run whose journal line a crash prevented.
public struct UploadURLStore: Sendable {
    public struct Saved: Codable, Sendable, Equatable {
        public var runId: String
        public var url: String
        /// Seconds since the epoch after which storage refuses the URL.
        public var expiresAt: Double
    }

    public let directory: String
    /// Consulted before each write or delete (tests simulate a crash by refusing from then on).
    let beforeEffect: (@Sendable (String) throws -> Void)?

    public init(directory: String, beforeEffect: (@Sendable (String) throws -> Void)? = nil) {
        self.directory = directory
        self.beforeEffect = beforeEffect
    }

    /// Beside a journal at `journalPath`.
    public init(besideJournal journalPath: String, beforeEffect: (@Sendable (String) throws -> Void)? = nil) {
        self.init(directory: Text.deletingLastPathComponent(journalPath) + "/uploads", beforeEffect: beforeEffect)
    }

    private func path(_ intent: String) -> String? {
        // The intent is ours (a UUID), but the journal it came from is a file anyone could edit.
        guard RunID.isValid(intent) else { return nil }
        return directory + "/" + intent.lowercased() + ".json"
    }

    /// Written whole to a private temporary file, then renamed over: never half a URL on disk.
    public func save(intent: String, _ saved: Saved) throws(JournalError) {
        guard let path = path(intent) else { throw .cannotWrite(path: directory, reason: "bad intent id") }
        if let hook = beforeEffect {
            do { try hook("save-url") } catch { throw .cannotWrite(path: path, reason: "\(error)") }
        }
        try PrivateFiles.makeDirectory(directory)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(saved) else { throw .cannotWrite(path: path, reason: "could not encode") }
        try PrivateFiles.writeAtomically(data, to: path)
    }

    public func load(intent: String?) -> Saved? {
        guard let intent, let path = path(intent) else { return nil }
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        let data = PosixFile(borrowing: fd).readToEnd()
        guard data.count < 64 * 1024, let saved = try? JSONDecoder().decode(Saved.self, from: Data(data)),
              RunID.isValid(saved.runId) else { return nil }
        return saved
    }

    /// Once the recording is confirmed, or the URL has expired, it is of no more use to anyone.
    public func delete(intent: String?) {
        guard let intent, let path = path(intent) else { return }
        if let hook = beforeEffect { guard (try? hook("delete-url")) != nil else { return } }
        unlink(path)
        unlink(path + ".tmp")  // left by a crash mid-save
    }
}

/// Files only this user may read, in directories only this user may enter; symlinks refused.
enum PrivateFiles {
    /// Creates `dir` and any missing parents, each 0700. An existing directory is used as it is,
    /// through a symlink too (a state directory may well be one); the files are what is guarded.
    static func makeDirectory(_ dir: String) throws(JournalError) {
        var st = stat()
        if stat(dir, &st) == 0 {
            guard (st.st_mode & S_IFMT) == S_IFDIR else { throw .cannotOpen(path: dir, reason: "not a directory") }
            return
        }
        let parent = Text.deletingLastPathComponent(dir)
        if parent != dir, !parent.isEmpty, stat(parent, &st) != 0 { try makeDirectory(parent) }
        guard mkdir(dir, 0o700) == 0 || errno == EEXIST else {
            throw .cannotOpen(path: dir, reason: String(cString: strerror(errno)))
        }
    }

    static func writeAtomically(_ data: Data, to path: String) throws(JournalError) {
        // One writer per intent (the recording's lock), so one temporary name per file.
        let temp = path + ".tmp"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .cannotWrite(path: path, reason: String(cString: strerror(errno))) }
        fchmod(fd, 0o600)
        let ok = PosixFile(borrowing: fd).write(data)
        let synced = fsync(fd) == 0
        close(fd)
        guard ok, synced, rename(temp, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temp)
            throw .cannotWrite(path: path, reason: reason)
        }
    }
}

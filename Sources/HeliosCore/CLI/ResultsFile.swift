import FoundationEssentials
import Glibc
import Synchronization

/// `--output FILE`: the command's results go to a temporary file beside FILE (so the rename is
/// within one file system) and are renamed over FILE when the command ends, whatever its exit
/// code: a reader never sees half a file, and the results of the runs that finished before a
/// failure or Ctrl-C are kept. A command that wrote nothing (a usage error, a rejected
/// recording) leaves FILE as it was: a typo must not wipe the last study's results. Mode 0600,
/// as the journal: scores are health data.
final class ResultsFile: Sendable {
    let path: String
    private let temporary: String
    private let fd: Int32
    private let written = Mutex(0)

    init(path: String) throws(CLIFailure) {
        self.path = path
        let dir = Text.deletingLastPathComponent(path)
        let name = Text.lastPathComponent(path)
        var template = Array(((dir.isEmpty ? "." : dir) + "/." + name + ".helios-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else {
            throw CLIFailure(.usage, "cannot write the results to '\(path)': \(String(cString: strerror(errno)))", hints: ["nothing was sent"])
        }
        fchmod(fd, 0o600)
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        temporary = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        self.fd = fd
    }

    deinit { close(fd) }

    /// Appends results; false when the disk refused them.
    func write(_ text: String) -> Bool {
        written.withLock { $0 += text.utf8.count }
        return PosixFile(borrowing: fd).write(text.utf8)
    }

    /// Puts the results in place (fsync, then rename over `path`).
    func commit() throws(CLIFailure) {
        guard written.withLock({ $0 }) > 0 else {
            unlink(temporary)
            return
        }
        guard fsync(fd) == 0, rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw CLIFailure(.runFailed, "cannot write the results to '\(path)': \(reason)")
        }
    }
}

import FoundationEssentials
import Glibc
import Synchronization

/// One helios process at a time per manifest and per recording: an exclusive `flock` on a file
/// under `locks/` in the state directory, holding the owner's pid. The kernel drops the lock when
/// the process ends, however it ends, so a killed run never leaves a stale lock behind.
public final class RunLocks: Sendable {
    public enum Failure: Error, Sendable, Equatable {
        case held(what: String, pid: Int32?)
        case cannotLock(path: String, reason: String)
    }

    public let directory: String
    private let held = Mutex<[Int32]>([])

    public init(besideJournal journalPath: String) {
        directory = Text.deletingLastPathComponent(journalPath) + "/locks"
    }

    /// A lock is an open file for the whole command, one per recording: a 5,000-row manifest
    /// needs more descriptors than the usual soft limit of 1,024, so take what the hard limit allows.
    public static func raiseOpenFileLimit() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }

    deinit { held.withLock { for fd in $0 { close(fd) } } }

    /// Takes the lock for `key` (any string; hashed into a file name) or fails at once, naming
    /// the pid that has it. `what` names the thing for the message.
    public func acquire(key: String, what: String) throws(Failure) {
        do {
            try PrivateFiles.makeDirectory(directory)
        } catch {
            throw .cannotLock(path: directory, reason: "\(error)")
        }
        let path = directory + "/" + String(SHA256.hexDigest(of: Data(key.utf8)).prefix(32)) + ".lock"
        let fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .cannotLock(path: path, reason: String(cString: strerror(errno))) }
        var waited = 0
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            if errno == EINTR { continue }
            let pid = Self.pid(in: fd)
            // Our own pid on a lock we cannot take: a command in this process gave it back, but a
            // child forked meanwhile (by the embedding program: tests spawn processes in parallel)
            // still has the descriptor until it execs, and a flock lives as long as any copy.
            // That lasts milliseconds; wait up to 2 s before calling it held.
            if pid == getpid(), waited < 200 {
                waited += 1
                usleep(10_000)
                continue
            }
            close(fd)
            throw .held(what: what, pid: pid)
        }
        let text = "\(getpid())\n"
        ftruncate(fd, 0)
        _ = pwrite(fd, text, text.utf8.count, 0)
        held.withLock { $0.append(fd) }
    }

    /// Gives every lock back (also done by the kernel at exit).
    public func releaseAll() {
        held.withLock { held in
            for fd in held { close(fd) }
            held.removeAll()
        }
    }

    private static func pid(in fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 16)
        let n = pread(fd, &buffer, 15, 0)
        guard n > 0 else { return nil }
        return Int32(Text.trimmed(String(decoding: buffer[0..<n], as: UTF8.self)))
    }
}

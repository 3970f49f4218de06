import FoundationEssentials
import Glibc

/// A request body read from disk in blocks straight into curl's buffer, rewindable for a resend.
/// Not Sendable: it belongs to one exchange on one thread.
final class FileUploadSource {
    let path: String
    let size: Int64
    private(set) var offset: Int64 = 0
    private let fd: Int32
    /// The digest the bytes must have, and the hash of what was read so far (from offset 0).
    private let expectedSHA256: String?
    private var hasher = SHA256()

    /// Opens the file and checks it still has the size the caller declared (and signed for).
    init(path: String, size: Int64, expectedSHA256: String? = nil) throws(TransportError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw .fileUnreadable(path: path, reason: Self.errnoText())
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let reason = Self.errnoText()
            close(fd)
            throw .fileUnreadable(path: path, reason: reason)
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw .fileUnreadable(path: path, reason: "not a regular file")
        }
        guard Int64(st.st_size) == size else {
            close(fd)
            throw .fileUnreadable(path: path, reason: "file size changed from \(size) to \(st.st_size) bytes")
        }
        self.path = path
        self.size = size
        self.fd = fd
        self.expectedSHA256 = expectedSHA256?.lowercased()
    }

    deinit { close(fd) }

    /// Fills as much of `buffer` as the file has left; 0 at the end.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(TransportError) -> Int {
        let wanted = Int(min(Int64(buffer.count), size - offset))
        guard wanted > 0, let base = buffer.baseAddress else { return 0 }
        while true {
            let n = Glibc.read(fd, base, wanted)
            if n < 0 {
                if errno == EINTR { continue }
                throw .fileUnreadable(path: path, reason: Self.errnoText())
            }
            // The file shrank after it was opened: sending less than Content-Length would hang the server.
            if n == 0 {
                throw .fileUnreadable(path: path, reason: "file ended after \(offset) of \(size) bytes")
            }
            if expectedSHA256 != nil {
                hasher.update(UnsafeRawBufferPointer(start: base, count: n))
                // The read that holds the last bytes hands them over only if everything hashes
                // to the checked digest; otherwise the body stays short and storage drops it.
                if offset + Int64(n) == size, SHA256.hex(hasher.finalize()) != expectedSHA256 {
                    throw .fileChanged(path: path)
                }
            }
            offset += Int64(n)
            return n
        }
    }

    /// Repositions for a resend (curl rewinds on redirects and authentication retries).
    func seek(to newOffset: Int64) -> Bool {
        guard newOffset >= 0, newOffset <= size, lseek(fd, off_t(newOffset), SEEK_SET) == off_t(newOffset) else {
            return false
        }
        offset = newOffset
        if expectedSHA256 != nil {
            // The hash covers [0, offset): re-read the prefix a rewind skips (curl only rewinds to 0 in practice).
            hasher = SHA256()
            var buffer = [UInt8](repeating: 0, count: 64 * 1024)
            var at: Int64 = 0
            while at < newOffset {
                let want = Int(min(Int64(buffer.count), newOffset - at))
                let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, want, off_t(at)) }
                guard n > 0 else { return false }
                buffer.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                at += Int64(n)
            }
        }
        return true
    }

    private static func errnoText() -> String {
        String(cString: strerror(errno))
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// Plain file-descriptor I/O. Foundation's FileHandle initialises CoreFoundation on first use,
/// which alone costs a command several MB of memory; every read and write on the hot paths of
/// helios (the recording, the journal, stdout and stderr) goes through these instead.
public final class PosixFile {
    public let fd: Int32
    private let owned: Bool

    /// Opens `path` read-only; nil with `errno` set when it cannot be opened.
    public init?(readingAtPath path: String) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        self.fd = fd
        owned = true
    }

    public init(borrowing fd: Int32) {
        self.fd = fd
        owned = false
    }

    deinit { if owned { close(fd) } }

    /// `stat(2)` of `path` (following links); nil when it fails. FoundationEssentials'
    /// `attributesOfItem` boxes sizes and modes as `UInt`, which an `as? Int` cast would miss.
    public static func status(atPath path: String) -> stat? {
        var st = stat()
        return stat(path, &st) == 0 ? st : nil
    }

    public var size: UInt64? {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return nil }
        return UInt64(st.st_size)
    }

    /// Up to `count` bytes at `offset` (fewer at the end of the file), retrying short reads.
    public func read(at offset: UInt64, count: Int) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: count)
        var got = 0
        let ok = buffer.withUnsafeMutableBytes { raw -> Bool in
            while got < count {
                let n = pread(fd, raw.baseAddress! + got, count - got, off_t(offset) + off_t(got))
                if n < 0 { if errno == EINTR { continue }; return false }
                if n == 0 { break }
                got += n
            }
            return true
        }
        guard ok else { return nil }
        buffer.removeSubrange(got...)
        return buffer
    }

    /// Reads sequentially into `buffer`; returns the byte count (0 at the end), nil on error.
    public func read(into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n < 0, errno == EINTR { continue }
            return n < 0 ? nil : n
        }
    }

    /// Everything from the current position to the end.
    public func readToEnd() -> [UInt8] {
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(into: $0) } ?? 0
            if n <= 0 { return result }
            result += chunk[0..<n]
        }
    }

    /// Writes all of `bytes`, retrying short writes; false on error.
    @discardableResult
    public func write(_ bytes: some Collection<UInt8>) -> Bool {
        let array = Array(bytes)
        return array.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 { if errno == EINTR { continue }; return false }
                done += n
            }
            return true
        }
    }

    public static let standardOutput = PosixFile(borrowing: STDOUT_FILENO)
    public static let standardError = PosixFile(borrowing: STDERR_FILENO)
    public static let standardInput = PosixFile(borrowing: STDIN_FILENO)
}

extension PosixFile: Sendable {}

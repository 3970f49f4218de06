import FoundationEssentials
import Glibc

/// Random access to a file by offset through a small window cache: the parsers read headers
/// scattered through a file and seek past payloads, so memory stays constant whatever the size.
final class FileBytes {
    let size: UInt64
    /// The file read through; nil for bytes held in memory (the fuzz targets' input).
    private let file: PosixFile?
    private let memory: [UInt8]
    private var window: [UInt8] = []
    private var windowStart: UInt64 = 0
    private static let windowSize = 64 * 1024

    init?(path: String) {
        guard let file = PosixFile(readingAtPath: path), let size = file.size else { return nil }
        self.file = file
        self.size = size
        memory = []
    }

    /// Bytes already in memory, read through the same interface.
    init(bytes: [UInt8]) {
        file = nil
        memory = bytes
        size = UInt64(bytes.count)
    }

    private init(file: PosixFile?, memory: [UInt8], size: UInt64) {
        self.file = file
        self.memory = memory
        self.size = size
    }

    /// Another reader of the same bytes, with a window of its own, for another thread: the file
    /// is read with pread, which threads may call at once (a FileBytes itself is not shared).
    func sharingFile() -> FileBytes { FileBytes(file: file, memory: memory, size: size) }

    /// Up to `count` bytes at `offset`; fewer at the end of the file, none past it.
    func read(at offset: UInt64, count: Int) throws -> [UInt8] {
        guard count > 0, offset < size else { return [] }
        let want = Int(min(UInt64(count), size - offset))
        let windowEnd = windowStart + UInt64(window.count)
        if offset >= windowStart, offset + UInt64(want) <= windowEnd {
            let from = Int(offset - windowStart)
            return Array(window[from..<from + want])
        }
        if want > Self.windowSize { return try readDirect(at: offset, count: want) }
        window = try readDirect(at: offset, count: Self.windowSize)
        windowStart = offset
        return Array(window.prefix(want))
    }

    /// Exactly `count` bytes at `offset`, or nil when the file ends first.
    func readExactly(at offset: UInt64, count: Int) throws -> [UInt8]? {
        let bytes = try read(at: offset, count: count)
        return bytes.count == count ? bytes : nil
    }

    /// `readExactly` appending to `buffer` (nothing when the file ends first, and false): a
    /// decoder reading every frame saves an array a frame.
    func readExactly(at offset: UInt64, count: Int, appendingTo buffer: inout [UInt8]) throws -> Bool {
        guard count > 0 else { return true }
        guard offset < size, UInt64(count) <= size - offset else { return false }
        let windowEnd = windowStart + UInt64(window.count)
        if offset >= windowStart, offset + UInt64(count) <= windowEnd || count <= Self.windowSize {
            if offset + UInt64(count) > windowEnd {
                window = try readDirect(at: offset, count: Self.windowSize)
                windowStart = offset
            }
            let from = Int(offset - windowStart)
            guard from + count <= window.count else { return false }
            window.withUnsafeBufferPointer { buffer.append(contentsOf: UnsafeBufferPointer(rebasing: $0[from..<(from + count)])) }
            return true
        }
        guard let bytes = try readExactly(at: offset, count: count) else { return false }
        buffer.append(contentsOf: bytes)
        return true
    }

    private func readDirect(at offset: UInt64, count: Int) throws -> [UInt8] {
        guard let file else {
            let start = Int(min(offset, size)), end = Int(min(size, offset + UInt64(count)))
            return Array(memory[start..<end])
        }
        guard let bytes = file.read(at: offset, count: count) else { throw FileBytesError.readFailed(errno) }
        return bytes
    }
}

enum FileBytesError: Error { case readFailed(Int32) }

/// Big-endian and little-endian integers out of byte arrays, bounds-checked (nil when short).
extension Array where Element == UInt8 {
    func be(_ at: Int, _ width: Int) -> UInt64? {
        guard at >= 0, width <= 8, at + width <= count else { return nil }
        var v: UInt64 = 0
        for i in at..<at + width { v = v << 8 | UInt64(self[i]) }
        return v
    }

    func be32(_ at: Int) -> UInt32? { be(at, 4).map { UInt32(truncatingIfNeeded: $0) } }

    func le32(_ at: Int) -> UInt32? {
        guard at >= 0, at + 4 <= count else { return nil }
        return UInt32(self[at]) | UInt32(self[at + 1]) << 8 | UInt32(self[at + 2]) << 16 | UInt32(self[at + 3]) << 24
    }

    func ascii(_ at: Int, _ width: Int) -> String? {
        guard at >= 0, at + width <= count else { return nil }
        return String(decoding: self[at..<at + width], as: UTF8.self)
    }

    func hasPrefix(_ bytes: [UInt8], at: Int = 0) -> Bool {
        guard at >= 0, at + bytes.count <= count else { return false }
        return self[at..<at + bytes.count].elementsEqual(bytes)
    }
}

/// The packets of one logical stream of an Ogg file (RFC 3533), in order, read a page at a time
/// so memory stays constant. The stream is the first whose opening page begins with `head`
/// (b"OpusHead"); pages of other streams are skipped. Every page's CRC is checked: a page that
/// fails it, bytes that are not a page, or a packet over `maximumPacket` end the stream there,
/// as the end of a damaged file (`damaged` says so).
final class OggPackets {
    /// Far above any Opus packet (at most 120 ms at 510 kbit/s per stream: under 8 KB).
    static let maximumPacket = 1 << 20

    private let file: FileBytes
    private let head: [UInt8]
    private var offset: UInt64 = 0
    private var serial: UInt32?
    private var ready: [[UInt8]] = []
    private var readyIndex = 0
    /// A packet continued on the next page.
    private var partial: [UInt8] = []
    private var ended = false
    private(set) var damaged = false

    init(_ file: FileBytes, head: [UInt8]) {
        self.file = file
        self.head = head
    }

    /// The stream's next packet; nil at its end (or where the file is damaged).
    func next() -> [UInt8]? {
        while readyIndex == ready.count {
            ready.removeAll(keepingCapacity: true)
            readyIndex = 0
            guard !ended, readPage() else { ended = true; return nil }
        }
        defer { readyIndex += 1 }
        return ready[readyIndex]
    }

    /// Reads the page at `offset`; false at the end of the file or of the stream, or at damage.
    private func readPage() -> Bool {
        guard offset < file.size else { return false }
        guard let header = try? file.readExactly(at: offset, count: 27),
              header[0] == 0x4F, header[1] == 0x67, header[2] == 0x67, header[3] == 0x53, header[4] == 0,
              let lacing = try? file.readExactly(at: offset + 27, count: Int(header[26])) else {
            damaged = true
            return false
        }
        let bodySize = lacing.reduce(0) { $0 + Int($1) }
        guard let body = try? file.readExactly(at: offset + 27 + UInt64(lacing.count), count: bodySize) else {
            damaged = true
            return false
        }
        guard Self.crc(header, lacing, body) == Self.le32(header, 22) else {
            damaged = true
            return false
        }
        offset += 27 + UInt64(lacing.count) + UInt64(bodySize)
        let flags = header[5], pageSerial = Self.le32(header, 14)
        if serial == nil {
            // Lock onto the stream whose first page opens with the codec's header.
            guard flags & 0x02 != 0, body.count >= head.count, Array(body[0..<head.count]) == head else { return true }
            serial = pageSerial
        }
        guard pageSerial == serial else { return true }
        // Segments of 255 bytes continue a packet; a shorter one ends it. A page that does not
        // continue a packet drops any unfinished one; one that continues a packet we do not
        // have skips to the first packet it starts.
        var skipping = flags & 0x01 != 0 && partial.isEmpty
        if flags & 0x01 == 0 { partial.removeAll(keepingCapacity: true) }
        var position = 0
        for size in lacing {
            let length = Int(size)
            if !skipping {
                partial.append(contentsOf: body[position..<(position + length)])
                guard partial.count <= Self.maximumPacket else {
                    damaged = true
                    return false
                }
            }
            position += length
            if size < 255 {
                if !skipping { ready.append(partial) }
                partial.removeAll(keepingCapacity: true)
                skipping = false
            }
        }
        if flags & 0x04 != 0 { ended = true }
        return true
    }

    private static func le32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
    }

    /// Ogg's CRC-32 (polynomial 0x04C11DB7, no reflection, zero start) over the page with its
    /// own CRC field (bytes 22-25 of the header) taken as zero.
    static func crc(_ header: [UInt8], _ lacing: [UInt8], _ body: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0
        table.withUnsafeBufferPointer { table in
            for (i, byte) in header.enumerated() { crc = (crc << 8) ^ table[Int((crc >> 24) ^ UInt32(22...25 ~= i ? 0 : byte))] }
            for byte in lacing { crc = (crc << 8) ^ table[Int((crc >> 24) ^ UInt32(byte))] }
            for byte in body { crc = (crc << 8) ^ table[Int((crc >> 24) ^ UInt32(byte))] }
        }
        return crc
    }

    private static let table: [UInt32] = (0..<256).map { i in
        var r = UInt32(i) << 24
        for _ in 0..<8 { r = r & 0x8000_0000 != 0 ? (r << 1) ^ 0x04C1_1DB7 : r << 1 }
        return r
    }
}

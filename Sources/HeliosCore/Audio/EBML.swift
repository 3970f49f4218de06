/// EBML, the binary layout of WebM: elements are a variable-length id, a variable-length size
/// and a payload. A size of all ones means "unknown" (live recorders write it for Segment and
/// Cluster, which then end where an element that cannot be their child begins).
enum EBML {
    enum ID {
        static let header: UInt32 = 0x1A45_DFA3
        static let docType: UInt32 = 0x4282
        static let segment: UInt32 = 0x1853_8067
        static let info: UInt32 = 0x1549_A966
        static let timecodeScale: UInt32 = 0x2A_D7B1
        static let duration: UInt32 = 0x4489
        static let tracks: UInt32 = 0x1654_AE6B
        static let trackEntry: UInt32 = 0xAE
        static let trackNumber: UInt32 = 0xD7
        static let trackType: UInt32 = 0x83
        static let codecID: UInt32 = 0x86
        static let defaultDuration: UInt32 = 0x23_E383
        static let audio: UInt32 = 0xE1
        static let samplingFrequency: UInt32 = 0xB5
        static let channels: UInt32 = 0x9F
        static let cluster: UInt32 = 0x1F43_B675
        static let timecode: UInt32 = 0xE7
        static let simpleBlock: UInt32 = 0xA3
        static let blockGroup: UInt32 = 0xA0
        static let block: UInt32 = 0xA1
        static let blockDuration: UInt32 = 0x9B
    }

    /// Ids that may appear directly inside a Cluster: anything else ends an unknown-size Cluster.
    static let clusterChildren: Set<UInt32> = [
        0xE7, 0xA3, 0xA0, 0xAB, 0xA7, 0x5854, 0xAF, 0xEC, 0xBF,
    ]

    struct Element {
        var id: UInt32
        /// nil when the size is unknown.
        var size: UInt64?
        var headerLength: Int
        var dataStart: Int
    }

    /// Reads a variable-length integer: returns the value (marker bit cleared unless `keepMarker`),
    /// its length, and whether all value bits were ones (the "unknown size" pattern).
    static func vint(_ b: [UInt8], at i: Int, keepMarker: Bool) -> (value: UInt64, length: Int, allOnes: Bool)? {
        guard i >= 0, i < b.count, b[i] != 0 else { return nil }
        let length = b[i].leadingZeroBitCount + 1
        guard i + length <= b.count else { return nil }
        var value = UInt64(keepMarker ? b[i] : b[i] & (0xFF >> length))
        var allOnes = b[i] & (0xFF >> length) == (0xFF >> length)
        for k in 1..<length {
            value = value << 8 | UInt64(b[i + k])
            allOnes = allOnes && b[i + k] == 0xFF
        }
        return (value, length, allOnes)
    }

    /// The element header at `i` in `b`, or nil when the bytes are cut short or malformed.
    static func element(in b: [UInt8], at i: Int) -> Element? {
        guard let id = vint(b, at: i, keepMarker: true), id.length <= 4,
            let size = vint(b, at: i + id.length, keepMarker: false)
        else { return nil }
        let header = id.length + size.length
        return Element(id: UInt32(id.value), size: size.allOnes ? nil : size.value, headerLength: header, dataStart: i + header)
    }

    static func unsigned(_ b: ArraySlice<UInt8>) -> UInt64? {
        guard !b.isEmpty, b.count <= 8 else { return nil }
        return b.reduce(0) { $0 << 8 | UInt64($1) }
    }

    static func float(_ b: ArraySlice<UInt8>) -> Double? {
        guard let bits = unsigned(b) else { return nil }
        switch b.count {
        case 4: return Double(Float(bitPattern: UInt32(bits)))
        case 8: return Double(bitPattern: bits)
        default: return nil
        }
    }
}

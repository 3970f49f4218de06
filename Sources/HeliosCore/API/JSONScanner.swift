import FoundationEssentials
import Glibc

/// A small, strict JSON reader over bytes, for the journal: Foundation's `JSONDecoder` (and
/// `JSONValue`'s try-each-type `Decodable`) took 13 s and 600 MB for a 100 MB journal. RFC 8259
/// values; nesting deeper than `maximumDepth` and anything malformed give nil, never a trap.
enum JSONScanner {
    static let maximumDepth = 64

    /// The whole of `bytes` as one JSON value (surrounding whitespace allowed); nil if it is not.
    static func parse(_ bytes: UnsafeRawBufferPointer) -> JSONValue? {
        var reader = Reader(bytes)
        guard let value = reader.value(depth: 0) else { return nil }
        reader.skipSpace()
        return reader.atEnd ? value : nil
    }

    static func parse(_ bytes: some Collection<UInt8>) -> JSONValue? {
        let array = Array(bytes)
        return array.withUnsafeBytes { parse($0) }
    }

    /// The string values of `keys` (as bytes) among a top-level object's members, in the keys'
    /// order (nil where absent or not a string); every other member is skipped without building
    /// it (keys are compared as bytes: no String, no hashing per member). nil when `bytes` is not
    /// one JSON object.
    static func topLevelStrings(_ bytes: UnsafeRawBufferPointer, keys: [[UInt8]]) -> [String?]? {
        var reader = Reader(bytes)
        var found = [String?](repeating: nil, count: keys.count)
        reader.skipSpace()
        guard reader.take(UInt8(ascii: "{")) else { return nil }
        reader.skipSpace()
        if reader.take(UInt8(ascii: "}")) { reader.skipSpace(); return reader.atEnd ? found : nil }
        while true {
            reader.skipSpace()
            guard let key = reader.plainKey() else { return nil }
            reader.skipSpace()
            guard reader.take(UInt8(ascii: ":")) else { return nil }
            reader.skipSpace()
            let index = keys.firstIndex { k in k.count == key.count && k.elementsEqual(key) }
            if let index, reader.peek == UInt8(ascii: "\"") {
                guard let value = reader.string() else { return nil }
                found[index] = value
            } else {
                guard reader.skipValue(depth: 1) else { return nil }
            }
            reader.skipSpace()
            if reader.take(UInt8(ascii: ",")) { continue }
            guard reader.take(UInt8(ascii: "}")) else { return nil }
            reader.skipSpace()
            return reader.atEnd ? found : nil
        }
    }

    private struct Reader {
        /// 10^0 … 10^22, each exact in a Double.
        static let powersOfTen: [Double] = (0...22).map { p in (0..<p).reduce(1.0) { acc, _ in acc * 10 } }

        let base: UnsafePointer<UInt8>?
        let count: Int
        var i = 0

        init(_ bytes: UnsafeRawBufferPointer) {
            base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
            count = bytes.count
        }

        var atEnd: Bool { i >= count }
        var peek: UInt8? { i < count ? base?[i] : nil }

        mutating func take(_ byte: UInt8) -> Bool {
            guard peek == byte else { return false }
            i += 1
            return true
        }

        mutating func skipSpace() {
            while let b = peek, b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D { i += 1 }
        }

        mutating func literal(_ text: StaticString) -> Bool {
            let n = text.utf8CodeUnitCount
            guard i + n <= count, let base else { return false }
            for k in 0..<n where base[i + k] != text.utf8Start[k] { return false }
            i += n
            return true
        }

        mutating func value(depth: Int) -> JSONValue? {
            skipSpace()
            guard let b = peek else { return nil }
            switch b {
            case UInt8(ascii: "{"):
                guard depth < JSONScanner.maximumDepth else { return nil }
                i += 1
                var members: [String: JSONValue] = [:]
                members.reserveCapacity(16)
                skipSpace()
                if take(UInt8(ascii: "}")) { return .object(members) }
                while true {
                    skipSpace()
                    guard let key = string() else { return nil }
                    skipSpace()
                    guard take(UInt8(ascii: ":")), let v = value(depth: depth + 1) else { return nil }
                    members[key] = v
                    skipSpace()
                    if take(UInt8(ascii: ",")) { continue }
                    return take(UInt8(ascii: "}")) ? .object(members) : nil
                }
            case UInt8(ascii: "["):
                guard depth < JSONScanner.maximumDepth else { return nil }
                i += 1
                var items: [JSONValue] = []
                skipSpace()
                if take(UInt8(ascii: "]")) { return .array(items) }
                while true {
                    guard let v = value(depth: depth + 1) else { return nil }
                    items.append(v)
                    skipSpace()
                    if take(UInt8(ascii: ",")) { continue }
                    return take(UInt8(ascii: "]")) ? .array(items) : nil
                }
            case UInt8(ascii: "\""):
                return string().map(JSONValue.string)
            case UInt8(ascii: "t"): return literal("true") ? .bool(true) : nil
            case UInt8(ascii: "f"): return literal("false") ? .bool(false) : nil
            case UInt8(ascii: "n"): return literal("null") ? .null : nil
            default: return number().map(JSONValue.number)
            }
        }

        /// Skips one value without building it (strings' escapes and nesting respected).
        mutating func skipValue(depth: Int) -> Bool {
            skipSpace()
            guard let b = peek else { return false }
            switch b {
            case UInt8(ascii: "\""):
                return skipString()
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                guard depth < JSONScanner.maximumDepth else { return false }
                let close = b == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
                i += 1
                skipSpace()
                if take(close) { return true }
                while true {
                    if close == UInt8(ascii: "}") {
                        skipSpace()
                        guard skipString() else { return false }
                        skipSpace()
                        guard take(UInt8(ascii: ":")) else { return false }
                    }
                    guard skipValue(depth: depth + 1) else { return false }
                    skipSpace()
                    if take(UInt8(ascii: ",")) { continue }
                    return take(close)
                }
            default:
                return value(depth: depth) != nil
            }
        }

        /// A member name's bytes in place when it has no escapes (a key helios wants never has);
        /// an escaped name is skipped and given as empty, matching no wanted key.
        mutating func plainKey() -> UnsafeBufferPointer<UInt8>? {
            guard peek == UInt8(ascii: "\""), let base else { return nil }
            let start = i + 1
            var k = start
            while k < count, base[k] != UInt8(ascii: "\""), base[k] != UInt8(ascii: "\\"), base[k] >= 0x20 { k += 1 }
            if k < count, base[k] == UInt8(ascii: "\"") {
                i = k + 1
                return UnsafeBufferPointer(start: base + start, count: k - start)
            }
            return skipString() ? UnsafeBufferPointer(start: base, count: 0) : nil
        }

        mutating func skipString() -> Bool {
            guard take(UInt8(ascii: "\"")), let base else { return false }
            while i < count {
                let b = base[i]
                if b == UInt8(ascii: "\"") { i += 1; return true }
                if b == UInt8(ascii: "\\") { i += 2; continue }
                if b < 0x20 { return false }
                i += 1
            }
            return false
        }

        mutating func string() -> String? {
            guard take(UInt8(ascii: "\"")), let base else { return nil }
            let start = i
            // The common case, no escapes: one copy of the bytes.
            while i < count, base[i] != UInt8(ascii: "\""), base[i] != UInt8(ascii: "\\"), base[i] >= 0x20 { i += 1 }
            guard i < count else { return nil }
            if base[i] == UInt8(ascii: "\"") {
                i += 1
                return String(decoding: UnsafeBufferPointer(start: base + start, count: i - 1 - start), as: UTF8.self)
            }
            var bytes = Array(UnsafeBufferPointer(start: base + start, count: i - start))
            while i < count {
                let b = base[i]
                if b == UInt8(ascii: "\"") { i += 1; return String(decoding: bytes, as: UTF8.self) }
                guard b >= 0x20 else { return nil }
                guard b == UInt8(ascii: "\\") else { bytes.append(b); i += 1; continue }
                guard i + 1 < count else { return nil }
                let e = base[i + 1]
                i += 2
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): bytes.append(e)
                case UInt8(ascii: "b"): bytes.append(0x08)
                case UInt8(ascii: "f"): bytes.append(0x0C)
                case UInt8(ascii: "n"): bytes.append(0x0A)
                case UInt8(ascii: "r"): bytes.append(0x0D)
                case UInt8(ascii: "t"): bytes.append(0x09)
                case UInt8(ascii: "u"):
                    guard var scalar = hex4() else { return nil }
                    // A surrogate pair spells one scalar; a lone surrogate becomes U+FFFD.
                    if (0xD800..<0xDC00).contains(scalar), peek == UInt8(ascii: "\\"), i + 1 < count, base[i + 1] == UInt8(ascii: "u") {
                        let save = i
                        i += 2
                        if let low = hex4(), (0xDC00..<0xE000).contains(low) {
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        } else {
                            i = save
                        }
                    }
                    bytes.append(contentsOf: String(Character(Unicode.Scalar(scalar) ?? "\u{FFFD}")).utf8)
                default: return nil
                }
            }
            return nil
        }

        mutating func hex4() -> UInt32? {
            guard i + 4 <= count, let base else { return nil }
            var v: UInt32 = 0
            for k in 0..<4 {
                let c = base[i + k]
                let d: UInt8
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c - UInt8(ascii: "A") + 10
                default: return nil
                }
                v = v << 4 | UInt32(d)
            }
            i += 4
            return v
        }

        /// RFC 8259's number grammar, then `strtod` on those bytes.
        mutating func number() -> Double? {
            guard let base else { return nil }
            let start = i
            func digits() -> Int { let s = i; while i < count, (0x30...0x39).contains(base[i]) { i += 1 }; return i - s }
            _ = take(UInt8(ascii: "-"))
            guard let first = peek, (0x30...0x39).contains(first) else { return nil }
            if first == 0x30 { i += 1 } else { _ = digits() }
            if take(UInt8(ascii: ".")) { guard digits() > 0 else { return nil } }
            if let e = peek, e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
                i += 1
                if let s = peek, s == UInt8(ascii: "+") || s == UInt8(ascii: "-") { i += 1 }
                guard digits() > 0 else { return nil }
            }
            // Most numbers here are short decimals (0.42, 1105978): digits below 2^53 over an exact
            // power of ten is one correctly rounded division, the value strtod gives. The rest go
            // to strtod.
            var mantissa: UInt64 = 0, digitCount = 0, scale = 0, simple = true, seenPoint = false
            var k = start
            let negative = base[k] == UInt8(ascii: "-")
            if negative { k += 1 }
            while k < i, simple {
                let c = base[k]
                if c == UInt8(ascii: ".") { seenPoint = true } else if (0x30...0x39).contains(c) {
                    mantissa = mantissa &* 10 &+ UInt64(c - 0x30)
                    digitCount += 1
                    if seenPoint { scale += 1 }
                } else { simple = false }
                k += 1
            }
            if simple, digitCount <= 15, scale <= 22 {
                let value = Double(mantissa) / Self.powersOfTen[scale]
                return negative ? -value : value
            }
            var text = [CChar](repeating: 0, count: i - start + 1)
            for k in 0..<(i - start) { text[k] = CChar(bitPattern: base[start + k]) }
            let value = strtod(text, nil)
            return value.isFinite ? value : nil
        }
    }
}

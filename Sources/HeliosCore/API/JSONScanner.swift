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

    /// Where the objects and arrays of checked bytes start and end (in order of their starts):
    /// recorded while a journal line is checked, so a later walk over the same bytes (a run's
    /// scores) jumps over the containers it does not want instead of reading them again.
    struct Containers: Sendable {
        fileprivate(set) var spans: [Range<Int>] = []

        /// Those inside `range`, counted from its start.
        func within(_ range: Range<Int>) -> Containers {
            Containers(spans: spans.filter { range.contains($0.lowerBound) }.map { ($0.lowerBound - range.lowerBound)..<($0.upperBound - range.lowerBound) })
        }

        /// Where the container that starts at `start` ends, if one of `spans` starts there.
        fileprivate static func end(_ spans: UnsafeBufferPointer<Range<Int>>, startingAt start: Int) -> Int? {
            var low = 0, high = spans.count
            while low < high {
                let mid = (low + high) / 2
                if spans[mid].lowerBound < start { low = mid + 1 } else { high = mid }
            }
            return low < spans.count && spans[low].lowerBound == start ? spans[low].upperBound : nil
        }
    }

    /// A checked value read in place (no copy, no reference counting), jumping over its recorded
    /// containers; valid only while its bytes and spans are.
    struct View: JSONReadable {
        let bytes: UnsafeRawBufferPointer
        let spans: UnsafeBufferPointer<Range<Int>>
        /// Where `bytes` starts in the bytes `spans` count from.
        let origin: Int

        func forEachMember(_ body: (UnsafeRawBufferPointer, View) -> Void) -> Bool {
            var reader = Reader(bytes, known: spans, origin: origin)
            return walkMembers(&reader) { name, range in body(name, self[range]) }
        }

        var firstElement: View? {
            var reader = Reader(bytes, known: spans, origin: origin)
            reader.skipSpace()
            guard reader.take(UInt8(ascii: "[")) else { return nil }
            reader.skipSpace()
            let start = reader.i
            guard !reader.take(UInt8(ascii: "]")), reader.skipValue(depth: 1) else { return nil }
            return self[start..<reader.i]
        }

        var stringValue: String? { bytes.first == UInt8(ascii: "\"") ? string(bytes) : nil }
        var doubleValue: Double? { bytes.first.map { $0 == UInt8(ascii: "-") || (0x30...0x39).contains($0) } == true ? parse(bytes)?.doubleValue : nil }

        private subscript(range: Range<Int>) -> View {
            View(bytes: UnsafeRawBufferPointer(rebasing: bytes[range]), spans: spans, origin: origin + range.lowerBound)
        }
    }

    /// Walks the one JSON object in `bytes`: each member's name (its bytes, escapes undone) and
    /// the byte range of its value, in order; every value is checked, none is built. false when
    /// `bytes` is not exactly one object (`body` may have seen members before the fault).
    static func forEachMember(_ bytes: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer, Range<Int>) -> Void) -> Bool {
        var reader = Reader(bytes)
        return walkMembers(&reader, body)
    }

    /// `forEachMember`, recording the containers it checks into `containers`.
    static func forEachMember(_ bytes: UnsafeRawBufferPointer, recording containers: inout Containers,
                              _ body: (UnsafeRawBufferPointer, Range<Int>) -> Void) -> Bool {
        var reader = Reader(bytes)
        reader.recorded = Containers()
        defer { containers = reader.recorded ?? Containers() }
        return walkMembers(&reader, body)
    }

    private static func walkMembers(_ reader: inout Reader, _ body: (UnsafeRawBufferPointer, Range<Int>) -> Void) -> Bool {
        reader.skipSpace()
        guard reader.take(UInt8(ascii: "{")) else { return false }
        reader.skipSpace()
        if !reader.take(UInt8(ascii: "}")) {
            while true {
                reader.skipSpace()
                let nameStart = reader.i
                guard reader.skipString() else { return false }
                let quoted = nameStart..<reader.i
                let name = reader.bytes(quoted.dropFirst().dropLast())
                reader.skipSpace()
                guard reader.take(UInt8(ascii: ":")) else { return false }
                reader.skipSpace()
                let valueStart = reader.i
                guard reader.skipValue(depth: 1) else { return false }
                if name.contains(UInt8(ascii: "\\")), var spelt = string(reader.bytes(quoted)) {
                    spelt.withUTF8 { body(UnsafeRawBufferPointer($0), valueStart..<reader.i) }
                } else {
                    body(name, valueStart..<reader.i)
                }
                reader.skipSpace()
                if reader.take(UInt8(ascii: ",")) { continue }
                guard reader.take(UInt8(ascii: "}")) else { return false }
                break
            }
        }
        reader.skipSpace()
        return reader.atEnd
    }

    /// Whether a member's name (from `forEachMember`) is `key`.
    static func isName(_ name: UnsafeRawBufferPointer, _ key: [UInt8]) -> Bool {
        guard name.count == key.count else { return false }
        return key.withUnsafeBytes { k in
            guard let a = name.baseAddress, let b = k.baseAddress else { return true }  // both empty
            return memcmp(a, b, k.count) == 0
        }
    }

    /// The string in `bytes` (one JSON string, already checked), its escapes undone.
    static func string(_ bytes: UnsafeRawBufferPointer) -> String? {
        var reader = Reader(bytes)
        return reader.string()
    }

    private struct Reader {
        /// 10^0 … 10^22, each exact in a Double.
        static let powersOfTen: [Double] = (0...22).map { p in (0..<p).reduce(1.0) { acc, _ in acc * 10 } }

        let base: UnsafePointer<UInt8>?
        let count: Int
        var i = 0
        /// Containers checked before, which `skipValue` jumps over (counted from `origin` bytes
        /// before `base`).
        let known: UnsafeBufferPointer<Range<Int>>?
        let origin: Int
        /// The containers `skipValue` checks, when they are to be recorded.
        var recorded: Containers?

        init(_ bytes: UnsafeRawBufferPointer, known: UnsafeBufferPointer<Range<Int>>? = nil, origin: Int = 0) {
            base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self)
            count = bytes.count
            self.known = known
            self.origin = origin
        }

        func bytes(_ range: Range<Int>) -> UnsafeRawBufferPointer {
            UnsafeRawBufferPointer(start: base.map { UnsafeRawPointer($0 + range.lowerBound) }, count: range.count)
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

        /// Skips one value without building it, checking it as `value` would.
        mutating func skipValue(depth: Int) -> Bool {
            skipSpace()
            guard let b = peek else { return false }
            switch b {
            case UInt8(ascii: "\""):
                return skipString()
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                if let known, let end = Containers.end(known, startingAt: origin + i) {
                    i = end - origin
                    return true
                }
                let start = i, slot = recorded?.spans.count
                recorded?.spans.append(start..<start)
                guard skipContainer(b, depth: depth) else { return false }
                if let slot { recorded?.spans[slot] = start..<i }
                return true
            case UInt8(ascii: "t"): return literal("true")
            case UInt8(ascii: "f"): return literal("false")
            case UInt8(ascii: "n"): return literal("null")
            default: return skipNumber()
            }
        }

        mutating func skipContainer(_ open: UInt8, depth: Int) -> Bool {
            guard depth < JSONScanner.maximumDepth else { return false }
            let close = open == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
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
        }

        /// Moves past string bytes that need no attention (not a quote, a backslash or a control
        /// character), eight at a time while it can: most of a journal line is inside strings.
        mutating func skipPlain() {
            guard let base else { return }
            let ones: UInt64 = 0x0101_0101_0101_0101
            while i + 8 <= count {
                let w = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
                let quote = w ^ (ones &* UInt64(UInt8(ascii: "\""))), backslash = w ^ (ones &* UInt64(UInt8(ascii: "\\")))
                // A byte of w below n shows in (w - n·ones) & ~w & 0x80·ones (a zero byte: n = 1).
                let special = ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash) | ((w &- ones &* 0x20) & ~w)
                if special & (ones &* 0x80) != 0 { break }
                i += 8
            }
            while i < count, base[i] != UInt8(ascii: "\""), base[i] != UInt8(ascii: "\\"), base[i] >= 0x20 { i += 1 }
        }

        /// Skips one string, checking its escapes as `string` would.
        mutating func skipString() -> Bool {
            guard take(UInt8(ascii: "\"")), let base else { return false }
            while true {
                skipPlain()
                guard i < count else { return false }
                switch base[i] {
                case UInt8(ascii: "\""):
                    i += 1
                    return true
                case UInt8(ascii: "\\"):
                    guard i + 1 < count else { return false }
                    switch base[i + 1] {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                         UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                        i += 2
                    case UInt8(ascii: "u"):
                        i += 2
                        guard hex4() != nil else { return false }
                    default: return false
                    }
                default: return false  // a control character
                }
            }
        }

        mutating func string() -> String? {
            guard take(UInt8(ascii: "\"")), let base else { return nil }
            let start = i
            // The common case, no escapes: one copy of the bytes.
            skipPlain()
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
            guard scanNumber() else { return nil }
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

        /// Moves past one number, checking RFC 8259's grammar.
        /// Skips a number that `number` would read: one out of a Double's range (1e400) is refused
        /// here too, so a value skipped when a line is checked and the same value parsed later agree
        /// (found by fuzzing the journal reader). Only an exponent or 300 digits can get that far.
        mutating func skipNumber() -> Bool {
            guard let base else { return false }
            let start = i
            guard scanNumber() else { return false }
            guard i - start > 300 || UnsafeBufferPointer(start: base + start, count: i - start).contains(where: { $0 | 0x20 == UInt8(ascii: "e") }) else {
                return true
            }
            i = start
            return number() != nil
        }

        /// Skips a number's syntax (RFC 8259), not its value.
        mutating func scanNumber() -> Bool {
            guard let base else { return false }
            func digits() -> Int { let s = i; while i < count, (0x30...0x39).contains(base[i]) { i += 1 }; return i - s }
            _ = take(UInt8(ascii: "-"))
            guard let first = peek, (0x30...0x39).contains(first) else { return false }
            if first == 0x30 { i += 1 } else { _ = digits() }
            if take(UInt8(ascii: ".")) { guard digits() > 0 else { return false } }
            if let e = peek, e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
                i += 1
                if let s = peek, s == UInt8(ascii: "+") || s == UInt8(ascii: "-") { i += 1 }
                guard digits() > 0 else { return false }
            }
            return true
        }
    }
}

import Foundation
import HeliosTestSupport
import Testing
@testable import HeliosCore

/// `runs --json` writes each journal entry with `JSONText` instead of JSONEncoder; the bytes must
/// be the encoder's (`JSONLine.encode`), for every entry and run object a journal can hold.
@Suite(.blocking) struct JSONTextTests {
    /// A small deterministic generator (xorshift), so a failure can be replayed.
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return state
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    }

    /// Text with what JSON escapes (quotes, backslashes, every control character), slashes,
    /// DEL, C1 controls, accents, line and paragraph separators, a BOM and emoji.
    static func text(_ r: inout Random) -> String {
        let pool: [Unicode.Scalar] = (0..<0x20).map { Unicode.Scalar(UInt8($0)) }
            + ["\"", "\\", "/", "a", "Z", "0", " ", "\u{7F}", "\u{80}", "\u{9F}", "é", "ß", "\u{2028}", "\u{2029}", "\u{FEFF}", "😀", "中"]
        var s = String.UnicodeScalarView()
        for _ in 0..<r.below(12) { s.append(pool[r.below(pool.count)]) }
        return String(s)
    }

    /// Numbers of every kind the scanner can give: whole and not, tiny, huge, negative, -0,
    /// around 1e15 (where whole numbers stop printing as integers) and any bit pattern.
    static func number(_ r: inout Random) -> Double {
        switch r.below(8) {
        case 0: return Double(r.below(2001) - 1000) / 100
        case 1: return Double(r.below(1000))
        case 2: return [0, -0.0, 1e15, 1e15 - 1, 1e15 + 2, -1e15, 1e21, 1e-7, 5e-324, 1.7976931348623157e308, 0.1 + 0.2][r.below(11)]
        case 3: return Double(r.next() % 1000) / 1000
        default:
            let d = Double(bitPattern: r.next())
            return d.isFinite ? d : 0.5
        }
    }

    static func value(_ r: inout Random, depth: Int = 0) -> JSONValue {
        switch r.below(depth > 3 ? 4 : 6) {
        case 0: return .null
        case 1: return .bool(r.below(2) == 0)
        case 2: return .number(number(&r))
        case 3: return .string(text(&r))
        case 4: return .array((0..<r.below(4)).map { _ in value(&r, depth: depth + 1) })
        default:
            var members: [String: JSONValue] = [:]
            // Names that sort differently by bytes, by case and by prefix, and an accent written
            // decomposed (Swift's String order compares it as "é", the encoder by its bytes).
            let names = ["id", "ID", "Id", "status", "statusCode", "é", "e\u{301}", "z", "_", "A1", "a"]
            for _ in 0..<r.below(6) { members[names[r.below(names.count)] + text(&r)] = value(&r, depth: depth + 1) }
            return .object(members)
        }
    }

    static func entry(_ r: inout Random) -> JournalEntry {
        func maybe(_ s: String) -> String? { r.below(3) == 0 ? nil : s }
        var e = JournalEntry(intent: maybe(text(&r)), runId: maybe(text(&r)), time: text(&r), baseURL: text(&r),
                             file: maybe(text(&r)), bytes: r.below(3) == 0 ? nil : Int64(bitPattern: r.next()),
                             sha256: maybe(text(&r)), userLabel: maybe(text(&r)), state: RunState.allCases[r.below(RunState.allCases.count)],
                             apiStatus: maybe(text(&r)), requestDigest: maybe(text(&r)))
        e.line = r.below(3) == 0 ? nil : r.below(1 << 20) - 5
        e.uploadURLExpiresAt = maybe(text(&r))
        e.contentType = maybe(text(&r))
        e.errorCode = maybe(text(&r))
        e.replacedBy = maybe(text(&r))
        e.run = r.below(4) == 0 ? nil : LazyJSON(value(&r))
        return e
    }

    @Test func entriesAreTheEncodersBytes() {
        var r = Random(state: 0x9E37_79B9_7F4A_7C15)
        var differ: [String] = []
        for _ in 0..<4000 {
            let e = Self.entry(&r)
            let fast = e.jsonLine(), slow = JSONLine.encode(e)
            if fast != slow, differ.count < 5 { differ.append("fast \(fast ?? "nil")slow \(slow)") }
        }
        #expect(differ.isEmpty, "\(differ.joined(separator: "\n"))")
    }

    /// A run object read from a journal line (bytes kept, parsed when printed), as `runs` reads it.
    @Test func aRunObjectReadFromTheJournalIsTheEncodersBytes() throws {
        let line = #"{"intent":"i-1","runId":"r\/1","time":"2026-12-01T09:00:00Z","baseURL":"https://api.thymia.ai","state":"finished","run":{"z":1,"Z":[0.33,1e2,-0,12.5e-3],"id":"r\u00e9","s":"a\tb\u0001\"","n":null,"ok":true}}"#
        let e = try #require(line.utf8.withContiguousStorageIfAvailable { JournalEntry(line: UnsafeRawBufferPointer($0)) } ?? nil)
        #expect(e.jsonLine() == JSONLine.encode(e))
        #expect(e.jsonLine()?.contains(#""run":{"Z":[0.33,100,0,0.0125],"id":"ré","n":null,"ok":true,"s":"a\tb\u0001\"","z":1}"#) == true, "\(e.jsonLine() ?? "")")
    }

    /// A number JSON cannot hold (a journal line with 1e999 parses to infinity): the encoder
    /// refuses it, and `runs --json` prints what it printed before, the encoder's error line.
    @Test func aNumberTheEncoderRefusesFallsBackToItsErrorLine() {
        var e = JournalEntry(runId: "r", time: "t", baseURL: "b", state: .finished)
        e.run = LazyJSON(.object(["x": .number(.infinity)]))
        #expect(e.jsonLine() == nil)
        let renderer = ResultRenderer(format: .json, palette: Palette(mode: .never, isTerminal: false, environment: [:]), bands: true)
        #expect(renderer.journal(e) == JSONLine.encode(e))
        #expect(renderer.journal(e).contains("could not encode output"))
    }
}

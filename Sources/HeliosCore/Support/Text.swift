import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// Small string and time helpers written on the standard library alone. Their Foundation
/// counterparts (`trimmingCharacters`, `NSString` path methods, `ISO8601DateFormatter`) start
/// CoreFoundation or ICU, which would cost every helios command several MB of memory.
enum Text {
    static func trimmed(_ s: some StringProtocol) -> String {
        // Character's own test: "\r\n" is one Character, equal to neither "\r" nor "\n".
        let isSpace: (Character) -> Bool = { $0.isWhitespace }
        guard let first = s.firstIndex(where: { !isSpace($0) }), let last = s.lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(s[first...last])
    }

    /// `s` cut or padded with spaces to `length` characters, as NSString's
    /// `padding(toLength:withPad:" ",startingAt:0)` did for the ASCII of our tables.
    /// Text from outside (a file's header, a server's id) made safe to print: every character
    /// but printable ASCII becomes `?`.
    static func printableASCII(_ s: some StringProtocol) -> String {
        String(s.unicodeScalars.map { $0.isASCII && $0.value >= 32 && $0.value < 127 ? Character($0) : "?" })
    }

    /// Text from outside (a server's answer, a file name, a manifest's field) made safe for a
    /// terminal: C0 and C1 control characters, DEL, and the invisible bidirectional overrides and
    /// line separators are written as escapes (`\e` is `\x1b`, CR is `\r`), so an answer cannot
    /// move the cursor, retitle the window (OSC) or hide text. Everything else is kept.
    public static func terminalSafe(_ s: some StringProtocol) -> String {
        guard s.unicodeScalars.contains(where: needsEscape) else { return String(s) }
        var out = ""
        out.reserveCapacity(s.utf8.count + 8)
        for scalar in s.unicodeScalars {
            guard needsEscape(scalar) else { out.unicodeScalars.append(scalar); continue }
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                let hex = String(scalar.value, radix: 16)
                out += scalar.value < 0x100 ? "\\x" + (hex.count < 2 ? "0" + hex : hex) : "\\u{" + hex + "}"
            }
        }
        return out
    }

    private static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0..<0x20, 0x7F...0x9F: return true
        case 0x200E, 0x200F, 0x2028, 0x2029, 0x202A...0x202E, 0x2066...0x2069: return true
        default: return false
        }
    }

    static func padded(_ s: String, to length: Int) -> String {
        let count = s.count
        return count >= length ? String(s.prefix(length)) : s + String(repeating: " ", count: length - count)
    }

    /// The home directory: `$HOME`, else the password database's entry for this user.
    static func homeDirectory() -> String {
        if let home = getenv("HOME"), home.pointee != 0 { return String(cString: home) }
        if let entry = getpwuid(getuid()), let dir = entry.pointee.pw_dir { return String(cString: dir) }
        return "/"
    }

    /// `a/b/c.wav` → `c.wav`.
    static func lastPathComponent(_ path: String) -> String {
        let trimmed = path.hasSuffix("/") && path.count > 1 ? path.dropLast() : path[...]
        return String(trimmed.lastIndex(of: "/").map { trimmed[trimmed.index(after: $0)...] } ?? trimmed)
    }

    /// `a/b/c.wav` → `a/b`; `c.wav` → `.`.
    static func deletingLastPathComponent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// `take.M4A` → `m4a`; no extension → empty.
    static func pathExtension(_ path: String) -> String {
        let name = lastPathComponent(path)
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return "" }
        return name[name.index(after: dot)...].lowercased()
    }

    /// `2026-11-25T07:05:09Z` for `secondsFromNow` seconds from now, in UTC.
    static func iso8601UTC(secondsFromNow: Int = 0) -> String {
        iso8601UTC(epoch: time(nil) + secondsFromNow)
    }

    static func iso8601UTC(_ date: Date) -> String {
        let seconds = date.timeIntervalSince1970
        return iso8601UTC(epoch: seconds.isFinite ? Int(max(0, min(seconds, 253_402_300_799))) : 0)
    }

    private static func iso8601UTC(epoch: Int) -> String {
        var t = epoch
        var parts = tm()
        gmtime_r(&t, &parts)
        let z = Formatting.zeroPadded
        return "\(z(Int(parts.tm_year) + 1900, 4))-\(z(Int(parts.tm_mon) + 1, 2))-\(z(Int(parts.tm_mday), 2))T"
            + "\(z(Int(parts.tm_hour), 2)):\(z(Int(parts.tm_min), 2)):\(z(Int(parts.tm_sec), 2))Z"
    }

    /// The process environment from libc's `environ` (Foundation's ProcessInfo starts CoreFoundation).
    static func environment() -> [String: String] {
        var result: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let eq = text.firstIndex(of: "=") { result[String(text[..<eq])] = String(text[text.index(after: eq)...]) }
            pointer += 1
        }
        return result
    }
}

extension CLIContext {
    /// The process's environment, read without Foundation.
    public static func processEnvironment() -> [String: String] { Text.environment() }
}

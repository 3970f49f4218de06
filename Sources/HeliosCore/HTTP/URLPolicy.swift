import FoundationEssentials
import Glibc

/// Which URLs `helios` will send to: https anywhere, plain http only to this machine, because a
/// key or a recording sent over http to another host can be read by anyone on the path.
public enum URLPolicy {
    public struct Checked: Sendable, Equatable {
        public var scheme: String
        /// Without IPv6 brackets, lower-cased.
        public var host: String
        public var port: Int?
        public var isLoopback: Bool
    }

    public enum Violation: Error, Sendable, Equatable, CustomStringConvertible {
        case malformed(String)
        case unsupportedScheme(String)
        case insecureRemoteHTTP(host: String)

        public var description: String {
            switch self {
            case .malformed(let url):
                return "not a valid URL: \(Redaction.url(url))"
            case .unsupportedScheme(let scheme):
                return "unsupported URL scheme '\(scheme)'; use https://"
            case .insecureRemoteHTTP(let host):
                return "http:// is only allowed for loopback hosts (localhost, 127.0.0.0/8, ::1), not \(host); use https://"
            }
        }
    }

    /// Checks an API base URL or an upload URL. Parsed by hand (RFC 3986's scheme and authority
    /// only): Foundation's URLComponents.host runs IDNA through ICU, which costs a command more
    /// memory than everything else it does.
    public static func check(_ string: String) throws(Violation) -> Checked {
        guard let sep = string.firstRange(of: "://"), !string.contains(where: { $0.isWhitespace || $0.asciiValue.map { $0 < 0x20 || $0 == 0x7F } == true })
        else { throw .malformed(string) }
        let rawScheme = string[..<sep.lowerBound]
        guard let first = rawScheme.first, first.isASCII, first.isLetter,
              rawScheme.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "+-.".contains($0)) })
        else { throw .malformed(string) }
        let scheme = rawScheme.lowercased()
        let rest = string[sep.upperBound...]
        var authority = rest.prefix { !"/?#".contains($0) }
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        var host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw .malformed(string) }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw .malformed(string) }
                portText = after.dropFirst()
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        } else {
            host = authority
        }
        var port: Int?
        if let portText, !portText.isEmpty {
            guard portText.allSatisfy({ $0.isASCII && $0.isNumber }), let p = Int(portText), p <= 65535 else { throw .malformed(string) }
            port = p
        }
        let lowered = host.lowercased()
        guard !lowered.isEmpty, !lowered.contains(where: { "[]@:".contains($0) }) || lowered.contains(":") && authority.hasPrefix("[")
        else { throw .malformed(string) }
        let loopback = isLoopback(host: lowered)
        switch scheme {
        case "https":
            break
        case "http":
            guard loopback else { throw .insecureRemoteHTTP(host: lowered) }
        default:
            throw .unsupportedScheme(scheme)
        }
        return Checked(scheme: scheme, host: lowered, port: port, isLoopback: loopback)
    }

    /// `localhost`, `127.0.0.0/8` written as a dotted quad, and `::1` in any spelling.
    public static func isLoopback(host: String) -> Bool {
        var h = host.lowercased()
        if h.hasPrefix("[") && h.hasSuffix("]") { h = String(h.dropFirst().dropLast()) }
        if h == "localhost" || h == "localhost." { return true }
        let octets = h.split(separator: ".", omittingEmptySubsequences: false)
        if octets.count == 4,
           octets.allSatisfy({ !$0.isEmpty && $0.count <= 3 && $0.allSatisfy(\.isASCII) && UInt8($0) != nil }) {
            return octets[0] == "127"
        }
        if h.contains(":") {
            var addr = in6_addr()
            guard inet_pton(AF_INET6, h, &addr) == 1 else { return false }
            let bytes = withUnsafeBytes(of: &addr) { Array($0) }
            return bytes == Array(repeating: 0, count: 15) + [1]
        }
        return false
    }
}

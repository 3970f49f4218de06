import Foundation

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

    /// Checks an API base URL or an upload URL.
    public static func check(_ string: String) throws(Violation) -> Checked {
        guard let components = URLComponents(string: string),
              let rawScheme = components.scheme,
              let rawHost = components.host, !rawHost.isEmpty
        else { throw .malformed(string) }
        let scheme = rawScheme.lowercased()
        var host = rawHost.lowercased()
        if host.hasPrefix("[") && host.hasSuffix("]") {
            host = String(host.dropFirst().dropLast())
        }
        guard !host.isEmpty else { throw .malformed(string) }
        let loopback = isLoopback(host: host)
        switch scheme {
        case "https":
            break
        case "http":
            guard loopback else { throw .insecureRemoteHTTP(host: host) }
        default:
            throw .unsupportedScheme(scheme)
        }
        return Checked(scheme: scheme, host: host, port: components.port, isLoopback: loopback)
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

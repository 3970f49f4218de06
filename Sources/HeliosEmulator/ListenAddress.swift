import FlyingFox
import FlyingSocks
import Foundation

/// Turns `--host`/`--port` into a socket address and the printed base URL.
enum ListenAddress {
    static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" || host == "::1" { return true }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
    }

    static func isIPv6(_ host: String) -> Bool { host.contains(":") }

    /// `localhost` binds IPv4 loopback so the printed URL is the address actually served.
    static func bindHost(_ host: String) -> String { host == "localhost" ? "127.0.0.1" : host }

    static func socketAddress(host: String, port: UInt16) throws -> any SocketAddress {
        let h = bindHost(host)
        if isIPv6(h) { return try sockaddr_in6.inet6(ip6: h, port: port) }
        return try sockaddr_in.inet(ip4: h, port: port)
    }

    static func baseURL(host: String, port: UInt16) -> String {
        let h = bindHost(host)
        return isIPv6(h) ? "http://[\(h)]:\(port)" : "http://\(h):\(port)"
    }
}

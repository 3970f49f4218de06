import CCurl
import CFAAD
import COpus
import CSndFile

/// The runtime versions of the C libraries helios runs on, as they report themselves (not the
/// headers it was built against): what `helios doctor` and a bug report need.
enum LibraryVersions {
    /// `libcurl/7.88.1 OpenSSL/3.0.15 zlib/…`: libcurl and its TLS backend, first (which loads
    /// libcurl); "not loaded: <why>" when it cannot be.
    static var curl: String {
        guard let api = helios_curl() else { return "not loaded: " + String(cString: helios_curl_load_error()) }
        return api.pointee.version().map { String(cString: $0) } ?? "unknown"
    }

    /// libcurl's own version number (`7.88.1`).
    static var curlNumber: String {
        if curl.hasPrefix("not loaded") { return curl }
        let first = curl.split(separator: " ").first ?? ""
        return first.hasPrefix("libcurl/") ? String(first.dropFirst("libcurl/".count)) : "unknown"
    }

    /// The TLS library libcurl verifies certificates with (`OpenSSL/3.0.15`).
    static var tls: String {
        let backends = ["OpenSSL/", "GnuTLS/", "mbedTLS/", "wolfSSL/", "BoringSSL", "LibreSSL/", "rustls"]
        return curl.split(separator: " ").first { token in backends.contains { token.hasPrefix($0) } }.map(String.init) ?? "none"
    }

    static var sndfile: String { sf_version_string().map { String(cString: $0) } ?? "unknown" }
    static var opus: String { opus_get_version_string().map { String(cString: $0) } ?? "unknown" }
    static var faad2: String {
        var id: UnsafeMutablePointer<CChar>?
        var copyright: UnsafeMutablePointer<CChar>?
        guard NeAACDecGetVersion(&id, &copyright) == 0, let id else { return "unknown" }
        return "FAAD2 " + String(cString: id)
    }
}

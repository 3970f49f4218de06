import FoundationEssentials
import Glibc

/// Hides secrets in anything that may be printed: `-v` logs, error messages, journals.
/// The API key and pre-signed upload URLs (their query string is the signature) must never leak.
public enum Redaction {
    public static let placeholder = "[redacted]"

    /// Header names whose values are credentials; compared case-insensitively.
    public static let secretHeaderNames: Set<String> = [
        "x-api-key", "authorization", "proxy-authorization", "cookie", "set-cookie",
    ]

    public static func isSecretHeader(_ name: String) -> Bool {
        secretHeaderNames.contains(name.lowercased())
    }

    /// The value to print for a header: `[redacted]` for credentials, URLs in it stripped of queries.
    public static func headerValue(name: String, value: String) -> String {
        if isSecretHeader(name) { return placeholder }
        // Location and similar headers may carry a signed URL.
        return urls(in: value)
    }

    /// `Name: value` with the value redacted as `headerValue` does.
    public static func headerLine(name: String, value: String) -> String {
        "\(name): \(headerValue(name: name, value: value))"
    }

    /// `https://h/p?X-Amz-Signature=…#f` → `https://h/p?[redacted]`; a password in the user part too.
    public static func url(_ url: String) -> String {
        var out = url
        // The fragment never reaches the server but may still hold a token.
        if let hash = out.firstIndex(of: "#") {
            out = String(out[..<hash])
        }
        if let q = out.firstIndex(of: "?") {
            out = String(out[..<q]) + "?" + placeholder
        }
        return redactUserInfoPassword(out)
    }

    /// Every `http://` or `https://` URL inside free text with its query redacted.
    public static func urls(in text: String) -> String {
        guard text.contains("://") else { return text }
        return text.replacing(/[hH][tT][tT][pP][sS]?:\/\/[^\s"'<>]+/) { match in
            url(String(match.output))
        }
    }

    /// Replaces every occurrence of each non-empty secret, then redacts URL queries.
    /// Very short secrets are still replaced: a leaked fragment of a key is a leak.
    public static func text(_ text: String, secrets: [String] = []) -> String {
        var out = text
        // Longest first, so a secret containing another one is replaced whole.
        for secret in secrets.filter({ !$0.isEmpty }).sorted(by: { $0.count > $1.count }) {
            out = out.replacing(secret, with: placeholder)
        }
        return urls(in: out)
    }

    private static func redactUserInfoPassword(_ url: String) -> String {
        guard let schemeEnd = url.firstRange(of: "://") else { return url }
        let rest = url[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        guard let at = authority.lastIndex(of: "@"),
              let colon = authority[..<at].firstIndex(of: ":") else { return url }
        return String(url[..<authority.index(after: colon)]) + placeholder + String(url[at...])
    }
}

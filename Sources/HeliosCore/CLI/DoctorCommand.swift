import FoundationEssentials
import Glibc

/// `helios doctor`: checks a setup without a paid run. The key (found, and accepted by
/// `GET /v1/account`: the account id and its features), the endpoint, any proxy, TLS, the clock
/// against the server's `Date` header (a skewed clock breaks pre-signed upload URLs), the
/// journal, and the libraries' runtime versions. Exit 0 when the key is accepted, 4 when it is
/// missing or refused, 6 when the API cannot be reached.
struct DoctorCommand {
    let session: Session

    /// Past this, pre-signed URLs (signed with the client's idea of now) may be refused.
    static let clockTolerance = 60.0

    struct Report: Encodable {
        struct Key: Encodable {
            var source: String?
            var accepted: Bool
            var accountId: String?
            var features: [String]?
            var problem: String?
        }
        struct Clock: Encodable {
            var serverDate: String?
            /// Server minus local, seconds (positive: this machine is behind).
            var offsetSeconds: Double?
            var ok: Bool?
        }
        struct JournalCheck: Encodable {
            var path: String
            var writable: Bool
            var problem: String?
        }
        var schemaVersion = 1
        var ok = false
        var baseURL: String
        var region: String?
        var proxy: String?
        var tls: String
        var key: Key
        var clock: Clock
        var journal: JournalCheck
        var libraries: [String: String]
    }

    func run() throws -> ExitCode {
        let global = session.global, env = session.context.environment
        let baseURL = try session.baseURL()
        let target = try? URLPolicy.check(baseURL)
        let region = session.explicitBaseURL == nil ? session.regionName : nil
        let proxy = target.flatMap { Self.proxy(for: $0, environment: env) }
        let tls = target?.scheme == "https" ? "certificates verified (\(LibraryVersions.tls))" : "none: http to this machine only"

        var journal = Report.JournalCheck(path: session.journal.path, writable: true)
        do { try session.journal.checkWritable() } catch {
            journal.writable = false
            journal.problem = error.reason
        }
        let libraries = ["libcurl": LibraryVersions.curl, "libsndfile": LibraryVersions.sndfile,
                         "libopus": LibraryVersions.opus, "faad2": LibraryVersions.faad2]

        var key = Report.Key(source: Self.keySource(global, env), accepted: false)
        var clock = Report.Clock()
        var code = ExitCode.success
        do {
            let apiKey = try session.apiKey()
            let (account, date) = try session.client(baseURL: baseURL, apiKey: apiKey).account()
            key.accepted = true
            key.accountId = account.id
            key.features = account.features
            clock.serverDate = date
            if let date, let server = Self.httpDate(date) {
                let offset = server.timeIntervalSince(session.context.now())
                clock.offsetSeconds = (offset * 10).rounded() / 10
                clock.ok = abs(offset) <= Self.clockTolerance
            }
        } catch let failure as CLIFailure {
            key.problem = failure.message
            code = failure.exitCode
        } catch let error as APIError {
            key.problem = error.message
            code = error.exitCode == .authFailed ? .authFailed : .networkFailed
        }
        let report = Report(ok: code == .success && journal.writable && clock.ok != false, baseURL: baseURL, region: region,
                            proxy: proxy, tls: tls, key: key, clock: clock, journal: journal, libraries: libraries)
        switch session.global.format {
        case .json: session.console.result(JSONLine.encode(report))
        case .text, .csv: session.console.result(Self.text(report))
        }
        if !journal.writable { session.warn("the journal \(journal.path) is not writable (\(journal.problem ?? "")): submit would refuse to start; set HELIOS_STATE_DIR") }
        if clock.ok == false { session.warn("this machine's clock is \(Formatting.fixed(abs(clock.offsetSeconds ?? 0), 0)) s off the server's: pre-signed upload URLs may be refused; sync the clock (NTP)") }
        return code
    }

    static func text(_ r: Report) -> String {
        var lines: [String] = []
        func row(_ label: String, _ value: String) { lines.append("  " + Text.padded(label, to: 11) + Text.terminalSafe(value)) }
        if r.key.accepted {
            let features = (r.key.features ?? []).isEmpty ? "no features listed" : "features " + (r.key.features ?? []).joined(separator: ", ")
            row("key", "accepted: account \(r.key.accountId ?? "?"), \(features) (from \(r.key.source ?? "?"))")
        } else {
            row("key", (r.key.source.map { "from \($0): " } ?? "") + (r.key.problem ?? "not checked"))
        }
        row("endpoint", r.baseURL + (r.region.map { " (region \($0))" } ?? ""))
        row("proxy", r.proxy ?? "none")
        row("TLS", r.tls)
        if let offset = r.clock.offsetSeconds {
            let how = offset == 0 ? "in step with the server" : "\(Formatting.fixed(abs(offset), 1)) s \(offset > 0 ? "behind" : "ahead of") the server"
            row("clock", how + (r.clock.ok == true ? " (fine)" : " (too far: pre-signed upload URLs may be refused)"))
        } else {
            row("clock", r.key.accepted ? "the server sent no usable Date header" : "not checked (no answer from the API)")
        }
        row("journal", r.journal.path + (r.journal.writable ? " (writable)" : " (NOT writable: \(r.journal.problem ?? ""))"))
        row("libraries", ["libcurl", "libsndfile", "libopus", "faad2"].compactMap { r.libraries[$0] }.joined(separator: ", "))
        return "helios doctor: " + (r.ok ? "ready" : "not ready") + "\n" + lines.joined(separator: "\n") + "\n"
    }

    static func keySource(_ global: GlobalOptions, _ env: [String: String]) -> String? {
        if let file = global.apiKeyFile { return "\(Opt.apiKeyFile.flag) \(file)" }
        if global.apiKeyStdin { return Opt.apiKeyStdin.flag }
        return (env["THYMIA_API_KEY"] ?? "").isEmpty ? nil : "THYMIA_API_KEY"
    }

    /// The proxy libcurl will use for `target`, credentials hidden; nil when none (helios never
    /// proxies loopback, and `no_proxy` can exempt the host).
    static func proxy(for target: URLPolicy.Checked, environment env: [String: String]) -> String? {
        guard !target.isLoopback else { return nil }
        let names = target.scheme == "https" ? ["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"] : ["http_proxy", "all_proxy", "ALL_PROXY"]
        guard let (name, value) = names.lazy.compactMap({ n in env[n].flatMap { $0.isEmpty ? nil : (n, $0) } }).first else { return nil }
        let exempt = (env["no_proxy"] ?? env["NO_PROXY"] ?? "").split(separator: ",").map { Text.trimmed($0).lowercased() }
        if exempt.contains(where: { $0 == "*" || target.host == $0 || target.host.hasSuffix("." + $0.drop { $0 == "." }) }) { return nil }
        // A proxy's password never reaches the output: `user:[redacted]@host`.
        let shown = value.contains("://") ? Redaction.url(value)
            : value.lastIndex(of: "@").map { "[redacted]" + value[$0...] } ?? value
        return "\(shown) (from \(name))"
    }

    /// An HTTP date (`Thu, 04 Dec 2026 06:30:00 GMT`, RFC 9110's IMF-fixdate).
    static func httpDate(_ text: String) -> Date? {
        let parts = text.split(separator: " ")
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        guard parts.count == 6, parts[5] == "GMT", let day = Int(parts[1]), let month = months.firstIndex(of: String(parts[2])),
              let year = Int(parts[3]) else { return nil }
        let clock = parts[4].split(separator: ":").compactMap { Int($0) }
        guard clock.count == 3, (1...31).contains(day), (1970...9999).contains(year),
              (0...23).contains(clock[0]), (0...59).contains(clock[1]), (0...60).contains(clock[2]) else { return nil }
        var t = tm()
        t.tm_year = Int32(year - 1900)
        t.tm_mon = Int32(month)
        t.tm_mday = Int32(day)
        t.tm_hour = Int32(clock[0])
        t.tm_min = Int32(clock[1])
        t.tm_sec = Int32(clock[2])
        return Date(timeIntervalSince1970: TimeInterval(timegm(&t)))
    }
}

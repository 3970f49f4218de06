import FoundationEssentials
import Glibc

/// What every networked command needs, resolved once from options and environment: the base URL,
/// the key (only when asked for), the journal, the palette and the notes channel.
struct Session: Sendable {
    let global: GlobalOptions
    let context: CLIContext
    let output: Output
    /// Every write of the command: results, notes, warnings, failures (one policy for --json,
    /// --quiet and the live line).
    let console: Console
    let journal: Journal
    let uploads: UploadURLStore
    let locks: RunLocks
    /// Shared by every client of this command, so a 429 slows all its workers down.
    let gate = RateGate()

    init(global: GlobalOptions, context: CLIContext, output: Output, console: Console? = nil) {
        self.global = global
        self.context = context
        self.output = output
        self.console = console ?? Console(output: output, global: global, context: context)
        let path = Journal.defaultPath(environment: context.environment)
        journal = Journal(path: path, beforeEffect: context.beforeStateWrite)
        uploads = UploadURLStore(besideJournal: path, beforeEffect: context.beforeStateWrite)
        locks = RunLocks(besideJournal: path)
    }

    /// A note on stderr (progress, what happened); silenced by --quiet.
    func note(_ text: String) { console.note(text) }

    func warn(_ text: String, file: String? = nil, code: String? = nil) { console.warn(text, file: file, code: code) }

    /// `--base-url`, else `THYMIA_BASE_URL`, else the region's host. http:// only to loopback.
    /// The base URL given (`--base-url`, else `THYMIA_BASE_URL`), or nil when the region decides.
    var explicitBaseURL: String? {
        global.baseURL ?? context.environment["THYMIA_BASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The region's name as given (`--region`, else `THYMIA_REGION`, else `default`); unchecked.
    var regionName: String {
        global.region?.rawValue ?? context.environment["THYMIA_REGION"].flatMap { $0.isEmpty ? nil : $0 } ?? "default"
    }

    func baseURL() throws -> String {
        let url: String
        if let given = explicitBaseURL {
            url = given
        } else {
            let regionName = regionName
            guard let region = Region(rawValue: regionName) else {
                throw CLIFailure(.usage, "invalid THYMIA_REGION '\(regionName)': expected one of default, ca, us")
            }
            url = region == .default ? "https://api.thymia.ai" : "https://\(region.rawValue).api.thymia.ai"
        }
        do {
            _ = try URLPolicy.check(url)
        } catch {
            let source = global.baseURL != nil ? Opt.baseUrl.flag : "THYMIA_BASE_URL"
            throw CLIFailure(.usage, "invalid value '\(Redaction.url(url))' for '\(source)': \(error.description)")
        }
        return url.hasSuffix("/") ? String(url.dropLast()) : url
    }

    /// The key from `--api-key-file`, `--api-key-stdin` or `THYMIA_API_KEY`, in that order.
    func apiKey() throws -> String {
        var key: String?
        if let file = global.apiKeyFile {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw CLIFailure(.authFailed, "cannot read the API key file '\(file)'")
            }
            if let st = PosixFile.status(atPath: file), case let mode = Int(st.st_mode & 0o7777), mode & 0o077 != 0 {
                warn("'\(file)' is readable by other users (mode \(String(mode & 0o777, radix: 8))); chmod 600 it")
            }
            key = text.split(whereSeparator: \.isNewline).first.map(String.init)
        } else if global.apiKeyStdin {
            // A terminal would take the key as typed, echoed, and wait silently for Ctrl-D.
            guard !context.stdinIsTerminal else {
                throw CLIFailure(.usage, "--api-key-stdin reads the key from standard input, which is a terminal; pipe it in (e.g. from a secret store) or use THYMIA_API_KEY or --api-key-file")
            }
            key = context.readStdin()?.split(whereSeparator: \.isNewline).first.map(String.init)
        } else {
            key = context.environment["THYMIA_API_KEY"]
        }
        guard let key = key.map(Text.trimmed), !key.isEmpty else {
            throw CLIFailure(.authFailed, APIError.missingKey.message)
        }
        // It goes into a header line: a CR or LF would start another header (or a second request).
        guard key.unicodeScalars.allSatisfy({ $0.value >= 0x21 && $0.value < 0x7F }) else {
            throw CLIFailure(.authFailed, "the API key contains control characters, spaces or non-ASCII characters; check THYMIA_API_KEY, --api-key-file or --api-key-stdin")
        }
        return key
    }

    func client(baseURL: String, apiKey: String) -> APIClient {
        let console = console
        let log: (@Sendable (String) -> Void)? = global.verbose
            ? { @Sendable line in console.http(Redaction.text(line, secrets: [apiKey])) }
            : nil
        let base: any HTTPTransport = context.transport ?? CurlTransport(version: HeliosVersion.string, log: log)
        let onRetry: @Sendable (RetryNotice) -> Void = { console.retry($0) }
        let transport = RetryingTransport(GatedTransport(base, gate: gate), sleep: context.sleep, now: context.now, onRetry: onRetry)
        let cancellation = context.cancellation
        return APIClient(baseURL: baseURL, apiKey: apiKey, transport: transport, shouldAbort: { cancellation.isRequested })
    }

    /// Stops at once when the command has been asked to stop (the local check's loop).
    func checkCancelled(_ what: String) throws {
        if context.cancellation.isRequested {
            throw CLIFailure(.interrupted, "interrupted \(what)")
        }
    }

    /// A command that will create runs first makes sure it can record them: nothing is paid for
    /// that the journal could not hold.
    func checkJournalWritable() throws {
        do {
            try journal.checkWritable()
        } catch {
            throw CLIFailure(.usage, "cannot write the journal \(journal.path): \(error.reason); set HELIOS_STATE_DIR to a writable directory",
                             hints: ["nothing was sent"])
        }
    }
}

import FoundationEssentials
import Synchronization

/// What became of each recording or run of a command, for `--summary FILE` (one JSON object)
/// and `--junit FILE` (JUnit XML: GitHub, GitLab and Jenkins display it). Items are recorded as
/// they end; the files are written once, when the command ends, whatever its exit code.
final class CIReports: Sendable {
    /// One recording or run and how it ended.
    struct Item: Encodable, Sendable, Equatable {
        enum Outcome: String, Encodable, Sendable {
            case completeOK = "COMPLETE_OK", completeError = "COMPLETE_ERROR", uploaded, failed, pending, unconfirmed,
                 notStarted = "not-started", skipped
        }
        var file: String?
        var manifestLine: Int?
        var runId: String?
        var outcome: Outcome
        /// thymia's error code, or helios' failure kind (`network`, `auth`, …).
        var errorCode: String?
        var message: String?
    }

    private let items = Mutex<[Item]>([])
    private let started: Date

    init(started: Date = Date()) { self.started = started }

    func record(_ item: Item) { items.withLock { $0.append(item) } }

    /// The item of a finished lifecycle outcome.
    static func item(_ outcome: RunOutcome, file: String?, manifestLine: Int?) -> Item {
        switch outcome {
        case .finished(let run):
            let ok = run.status == APIStatus.completeOK.rawValue
            return Item(file: file, manifestLine: manifestLine, runId: run.id, outcome: ok ? .completeOK : .completeError,
                        errorCode: ok ? nil : run.errorCode ?? "ERR_UNKNOWN", message: ok ? nil : run.errorReason)
        case .uploaded(let runId):
            return Item(file: file, manifestLine: manifestLine, runId: runId, outcome: .uploaded)
        case .pending(let runId, _, let why):
            return Item(file: file, manifestLine: manifestLine, runId: runId, outcome: .pending,
                        message: why == .timedOut ? "still running when helios stopped waiting" : "still running when helios was interrupted")
        case .unconfirmedCreate(_, let failure):
            return Item(file: file, manifestLine: manifestLine, outcome: .unconfirmed, errorCode: failure.map { RunExit.code(for: $0).kind },
                        message: "the create got no answer: a run may exist that helios cannot name")
        case .failed(let failure):
            return Item(file: file, manifestLine: manifestLine, runId: failure.runId, outcome: .failed,
                        errorCode: RunExit.code(for: failure).kind, message: failure.message)
        case .notStarted:
            return Item(file: file, manifestLine: manifestLine, outcome: .notStarted, message: "not started: the command stopped first")
        }
    }

    // MARK: --summary

    struct Summary: Encodable {
        var schemaVersion = 1
        var command: String
        var exitCode: Int32
        var total: Int
        var counts: [String: Int]
        var items: [Item]
    }

    func summary(command: String, exitCode: Int32) -> String {
        let all = items.withLock { $0 }
        var counts: [String: Int] = [:]
        for outcome in ["COMPLETE_OK", "COMPLETE_ERROR", "uploaded", "failed", "pending", "unconfirmed", "not-started", "skipped"] {
            counts[outcome] = 0
        }
        for item in all { counts[item.outcome.rawValue, default: 0] += 1 }
        return JSONLine.encode(Summary(command: command, exitCode: exitCode, total: all.count, counts: counts, items: all))
    }

    // MARK: --junit

    /// One test case per recording (or run). COMPLETE_ERROR is a `failure` carrying thymia's
    /// error code and recommended action; a helios failure (network, auth, …) an `error`;
    /// skipped rows and runs left pending or not started are `skipped` with the reason.
    func junit(command: String, exitCode: Int32, now: Date = Date()) -> String {
        let all = items.withLock { $0 }
        let failures = all.filter { $0.outcome == .completeError }.count
        let errors = all.filter { $0.outcome == .failed || $0.outcome == .unconfirmed }.count
        let skipped = all.filter { [.skipped, .pending, .notStarted].contains($0.outcome) }.count
        let seconds = Formatting.fixed(max(0, now.timeIntervalSince(started)), 3)
        let suite = "helios \(command)"
        var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        xml += "<testsuites name=\"helios\" tests=\"\(all.count)\" failures=\"\(failures)\" errors=\"\(errors)\" skipped=\"\(skipped)\" time=\"\(seconds)\">\n"
        xml += "  <testsuite name=\"\(Self.escape(suite))\" tests=\"\(all.count)\" failures=\"\(failures)\" errors=\"\(errors)\" skipped=\"\(skipped)\" time=\"\(seconds)\">\n"
        xml += "    <properties><property name=\"exitCode\" value=\"\(exitCode)\"/></properties>\n"
        for item in all {
            var name = item.file ?? item.runId ?? "run"
            if let line = item.manifestLine { name += " (line \(line))" }
            xml += "    <testcase classname=\"helios.\(Self.escape(command))\" name=\"\(Self.escape(name))\">\n"
            let detail = [item.runId.map { "run id: \($0)" }, item.message, item.errorCode.flatMap { RunResult.actions[$0] }.map { "action: \($0)" }]
                .compactMap { $0 }.joined(separator: "\n")
            switch item.outcome {
            case .completeOK, .uploaded:
                break
            case .completeError:
                xml += "      <failure type=\"\(Self.escape(item.errorCode ?? ""))\" message=\"\(Self.escape((item.errorCode ?? "") + (item.message.map { ": \($0)" } ?? "")))\">\(Self.escape(detail))</failure>\n"
            case .failed, .unconfirmed:
                xml += "      <error type=\"\(Self.escape(item.errorCode ?? "error"))\" message=\"\(Self.escape(item.message ?? ""))\">\(Self.escape(detail))</error>\n"
            case .pending, .notStarted, .skipped:
                xml += "      <skipped message=\"\(Self.escape(item.message ?? item.outcome.rawValue))\"/>\n"
            }
            if let runId = item.runId { xml += "      <system-out>run id: \(Self.escape(runId))</system-out>\n" }
            xml += "    </testcase>\n"
        }
        xml += "  </testsuite>\n</testsuites>\n"
        return xml
    }

    /// XML text and attribute escaping; characters XML 1.0 cannot hold at all (most C0 controls)
    /// are written as `\xNN`, as helios prints them on a terminal.
    static func escape(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\n": out += "&#10;"
            case "\t": out += "&#9;"
            default:
                if scalar.value < 0x20 || (0xFFFE...0xFFFF).contains(scalar.value) {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\x" + (hex.count < 2 ? "0" + hex : hex)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }
}

import FoundationEssentials
import Glibc

/// Whether resending a request can do harm.
public enum RequestKind: Sendable, Equatable {
    /// GET, and the upload PUT (it overwrites the same object): resending is harmless.
    case idempotent
    /// The POST that creates a run: the API has no idempotency key, so every POST that reaches the
    /// server creates (and bills) a run, and resending one whose answer was lost makes a duplicate.
    case createRun

    /// POST and PATCH are not idempotent; everything else the client sends is.
    public static func inferred(fromMethod method: String) -> RequestKind {
        switch method.uppercased() {
        case "POST", "PATCH": return .createRun
        default: return .idempotent
        }
    }
}

/// What one attempt produced.
public enum AttemptOutcome: Sendable {
    case response(HTTPResponse)
    case failure(TransportError)
}

/// When and how long to wait before trying again. A pure value: time and randomness come in as
/// arguments, so every decision can be tested as a table.
public struct RetryPolicy: Sendable, Equatable {
    public enum Jitter: Sendable, Equatable {
        /// Exactly the exponential delay (tests, and callers that want predictability).
        case none
        /// Uniform in 0…exponential delay ("full jitter"): spreads many clients out best.
        case full
        /// Uniform in base…3 × previous delay, capped ("decorrelated jitter").
        case decorrelated
    }

    public enum Decision: Sendable, Equatable {
        case retry(after: Double)
        case stop
    }

    /// Attempts in all, the first one included.
    public var maxAttempts = 5
    public var baseDelay = 0.5
    public var factor = 2.0
    public var maxDelay = 30.0
    /// A server's Retry-After is obeyed up to this many seconds.
    public var maxRetryAfter = 60.0
    /// No retry starts whose wait would end later than this after the first attempt began.
    public var totalBudget = 120.0
    public var jitter = Jitter.full

    public init() {}

    public init(
        maxAttempts: Int = 5, baseDelay: Double = 0.5, factor: Double = 2, maxDelay: Double = 30,
        maxRetryAfter: Double = 60, totalBudget: Double = 120, jitter: Jitter = .full
    ) {
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
        self.factor = factor
        self.maxDelay = maxDelay
        self.maxRetryAfter = maxRetryAfter
        self.totalBudget = totalBudget
        self.jitter = jitter
    }

    /// Retrying more than once is off: for callers that must not resend at all.
    public static let never = RetryPolicy(maxAttempts: 1)

    /// Whether this outcome is worth another attempt, regardless of counts and budgets.
    public static func isRetryable(_ outcome: AttemptOutcome, kind: RequestKind) -> Bool {
        switch outcome {
        case .response(let response):
            switch response.status {
            // 429 and 503 say the server did not act on the request: safe even for a POST.
            case 429, 503: return true
            // A 500 or a gateway's 502/504 (or 408) may come after the server already created the
            // run, so only idempotent requests are resent.
            case 408, 500, 502, 504: return kind == .idempotent
            default: return false
            }
        case .failure(let error):
            switch error {
            // Nothing was sent, so nothing can have been created.
            case .couldNotConnect: return true
            // The request may have been received and acted on; a POST's answer is just lost.
            case .timedOut, .connectionLost: return kind == .idempotent
            case .tlsFailed, .aborted, .withheld, .fileUnreadable, .fileChanged, .other, .unavailable: return false
            }
        }
    }

    /// Decides after attempt number `attempt` (1-based) produced `outcome`.
    /// - Parameters:
    ///   - elapsed: seconds since the first attempt started.
    ///   - previousDelay: the last wait (for decorrelated jitter); 0 before the first retry.
    ///   - random: a uniform number in 0…1.
    ///   - now: the clock, for a Retry-After given as an HTTP date.
    public func decide(
        kind: RequestKind, outcome: AttemptOutcome, attempt: Int, elapsed: Double,
        previousDelay: Double = 0, random: Double, now: Date = Date()
    ) -> Decision {
        guard attempt < maxAttempts, Self.isRetryable(outcome, kind: kind) else { return .stop }
        var delay = backoff(retry: attempt, previousDelay: previousDelay, random: random)
        if case .response(let response) = outcome,
           let header = response.headers["retry-after"],
           let seconds = Self.retryAfterSeconds(header, now: now) {
            delay = min(seconds, maxRetryAfter)
        }
        guard elapsed + delay <= totalBudget else { return .stop }
        return .retry(after: delay)
    }

    /// The wait before retry number `retry` (1 = the first retry), without Retry-After.
    public func backoff(retry: Int, previousDelay: Double, random: Double) -> Double {
        let r = min(max(random, 0), 1)
        let exponential = min(maxDelay, baseDelay * pow(factor, Double(max(0, retry - 1))))
        switch jitter {
        case .none:
            return exponential
        case .full:
            return r * exponential
        case .decorrelated:
            let upper = max(baseDelay, previousDelay * 3)
            return min(maxDelay, baseDelay + r * (upper - baseDelay))
        }
    }

    /// `Retry-After` as delta-seconds or an HTTP date (RFC 9110 §10.2.3); nil when unparsable.
    public static func retryAfterSeconds(_ value: String, now: Date) -> Double? {
        let trimmed = trimmingBlanks(value)
        if !trimmed.isEmpty, trimmed.allSatisfy(\.isASCII), trimmed.allSatisfy(\.isNumber) {
            return Double(trimmed)
        }
        guard let date = HTTPDate.parse(trimmed, now: now) else { return nil }
        return max(0, date.timeIntervalSince(now))
    }

    /// Without leading and trailing spaces and tabs (what `trimmingCharacters(in: .whitespaces)` cut).
    private static func trimmingBlanks(_ s: String) -> Substring {
        let blank: (Character) -> Bool = { c in
            c == "\t" || c.unicodeScalars.allSatisfy { $0.properties.generalCategory == .spaceSeparator }
        }
        guard let first = s.firstIndex(where: { !blank($0) }), let last = s.lastIndex(where: { !blank($0) }) else { return "" }
        return s[first...last]
    }
}

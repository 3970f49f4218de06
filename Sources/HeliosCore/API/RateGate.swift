import FoundationEssentials
import Glibc
import Synchronization

/// One gate for every request of a command: when the API answers 429, every worker holds back
/// until the Retry-After has passed, so a rate limit slows the whole batch rather than letting
/// the other workers keep hammering it.
public final class RateGate: Sendable {
    private let notBefore = Mutex(Date.distantPast)

    /// A server's Retry-After closes the gate for at most this long (as `RetryPolicy` caps its
    /// own waits): `Retry-After: 99999` must not stall every worker for a day.
    public static let maxHold = 60.0

    public init() {}

    /// Holds every later request until `seconds` (at most `maxHold`) from now; a longer hold
    /// already set wins.
    public func hold(for seconds: Double) {
        let seconds = seconds.isFinite ? min(max(0, seconds), Self.maxHold) : Self.maxHold
        notBefore.withLock { $0 = max($0, Date().addingTimeInterval(seconds)) }
    }

    /// When the gate opens.
    var openAt: Date { notBefore.withLock { $0 } }

    /// Waits until the gate opens or `deadline` passes (the request then goes, and meets the
    /// server's own 429 if the limit still holds); false if `shouldAbort` turned true first.
    public func wait(until deadline: Date? = nil, shouldAbort: (@Sendable () -> Bool)?) -> Bool {
        while true {
            var remaining = notBefore.withLock { $0.timeIntervalSinceNow }
            if let deadline { remaining = min(remaining, deadline.timeIntervalSinceNow) }
            if remaining <= 0 { return true }
            if let shouldAbort, shouldAbort() { return false }
            Worker.sleep(min(0.05, remaining))
        }
    }
}

/// Puts a `RateGate` in front of a transport: waits at the gate before each attempt and closes it
/// on a 429. Sits under the retrying layer, so each retry passes the gate too.
public struct GatedTransport: HTTPTransport {
    let base: any HTTPTransport
    let gate: RateGate

    public init(_ base: any HTTPTransport, gate: RateGate) {
        self.base = base
        self.gate = gate
    }

    public func send(
        _ request: HTTPRequest, options: TransportOptions,
        progress: (@Sendable (UploadProgress) -> Void)?,
        shouldAbort: (@Sendable () -> Bool)?
    ) throws(TransportError) -> HTTPResponse {
        guard gate.wait(until: options.deadline, shouldAbort: options.waitAbort ?? shouldAbort) else { throw .aborted }
        let response = try base.send(request, options: options, progress: progress, shouldAbort: shouldAbort)
        if response.status == 429 {
            gate.hold(for: response.headers["retry-after"].flatMap { RetryPolicy.retryAfterSeconds($0, now: Date()) } ?? 1)
        }
        return response
    }
}

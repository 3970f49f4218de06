import FoundationEssentials
import Dispatch
import Glibc

/// Told to the caller before each wait, e.g. to print "retrying in 2.1s after 503".
public struct RetryNotice: Sendable, Equatable {
    /// The attempt that just failed (1-based).
    public var attempt: Int
    public var delay: Double
    /// `503`, or the transport error's short name.
    public var reason: String

    public init(attempt: Int, delay: Double, reason: String) {
        self.attempt = attempt
        self.delay = delay
        self.reason = reason
    }
}

/// Wraps a transport and applies a `RetryPolicy`. Waits are abortable: when `shouldAbort` turns
/// true during a wait the exchange ends with `TransportError.aborted`.
public struct RetryingTransport: HTTPTransport {
    /// Waits up to `seconds`; returns false if `shouldAbort` turned true first.
    public typealias Sleep = @Sendable (_ seconds: Double, _ shouldAbort: (@Sendable () -> Bool)?) -> Bool

    public var base: any HTTPTransport
    public var policy: RetryPolicy
    public var sleep: Sleep
    public var random: @Sendable () -> Double
    public var now: @Sendable () -> Date
    public var onRetry: (@Sendable (RetryNotice) -> Void)?

    public init(
        _ base: any HTTPTransport, policy: RetryPolicy = RetryPolicy(),
        sleep: @escaping Sleep = RetryingTransport.abortableSleep,
        random: @escaping @Sendable () -> Double = { Double.random(in: 0...1) },
        now: @escaping @Sendable () -> Date = { Date() },
        onRetry: (@Sendable (RetryNotice) -> Void)? = nil
    ) {
        self.base = base
        self.policy = policy
        self.sleep = sleep
        self.random = random
        self.now = now
        self.onRetry = onRetry
    }

    /// `HTTPTransport` entry point: the request kind is inferred from its method.
    public func send(
        _ request: HTTPRequest, options: TransportOptions,
        progress: (@Sendable (UploadProgress) -> Void)?,
        shouldAbort: (@Sendable () -> Bool)?
    ) throws(TransportError) -> HTTPResponse {
        try send(request, kind: .inferred(fromMethod: request.method), options: options,
                 progress: progress, shouldAbort: shouldAbort)
    }

    /// Sends with an explicit idempotency. After the last attempt, a retryable status (e.g. 503) is
    /// returned as the response and a transport error is thrown, for the caller to report.
    /// `shouldAbort` ends a transfer in flight; `waitAbort` (default: the same) ends a wait
    /// between attempts. They differ for a create POST: one Ctrl-C must not cut off an answer
    /// that may carry a paid run's id, but need not wait out a backoff before a resend.
    public func send(
        _ request: HTTPRequest, kind: RequestKind, options: TransportOptions,
        progress: (@Sendable (UploadProgress) -> Void)? = nil,
        shouldAbort: (@Sendable () -> Bool)? = nil,
        waitAbort: (@Sendable () -> Bool)? = nil
    ) throws(TransportError) -> HTTPResponse {
        try exchange(request, kind: kind, options: options, progress: progress,
                     shouldAbort: shouldAbort, waitAbort: waitAbort).result.get()
    }

    /// What `exchange` ends with: the last attempt's outcome, and how many attempts were made
    /// (so a message says "after 5 attempts" only when there were).
    public struct Exchange: Sendable {
        public var result: Result<HTTPResponse, TransportError>
        public var attempts: Int
    }

    /// `send`, and the number of attempts. With a `deadline`, no retry waits beyond it, and
    /// (with `cutTransfers`) no attempt runs past it: each one's whole-exchange limit is cut to
    /// what is left. A create or an upload keeps its own transfer limits (cutting a POST short
    /// could leave a paid run unconfirmed) and only its waits are bounded.
    public func exchange(
        _ request: HTTPRequest, kind: RequestKind, options: TransportOptions,
        progress: (@Sendable (UploadProgress) -> Void)? = nil,
        shouldAbort: (@Sendable () -> Bool)? = nil,
        waitAbort: (@Sendable () -> Bool)? = nil,
        deadline: Date? = nil,
        cutTransfers: Bool = true
    ) -> Exchange {
        let waitAbort = waitAbort ?? shouldAbort
        let started = now()
        var attempt = 1
        var previousDelay = 0.0
        while true {
            // Every resend of a body starts from its first byte: say so, so a caller can tell an
            // earlier attempt that delivered everything from the last one.
            if attempt > 1, let progress, case .file(_, let size, _, _) = request.body {
                progress(UploadProgress(sent: 0, total: size))
            }
            var attemptOptions = options
            if let deadline, cutTransfers {
                let left = deadline.timeIntervalSince(now())
                guard left > 0 else {
                    return Exchange(result: .failure(.timedOut("the deadline passed before the request was sent")), attempts: attempt - 1)
                }
                attemptOptions.totalTimeout = options.totalTimeout > 0 ? min(options.totalTimeout, left) : left
            }
            attemptOptions.deadline = deadline
            let outcome: AttemptOutcome
            do {
                outcome = .response(try base.send(request, options: attemptOptions, progress: progress, shouldAbort: shouldAbort))
            } catch {
                outcome = .failure(error)
            }
            var decision = policy.decide(
                kind: kind, outcome: outcome, attempt: attempt, elapsed: now().timeIntervalSince(started),
                previousDelay: previousDelay, random: random(), now: now())
            if case .retry(let delay) = decision, let deadline, now().addingTimeInterval(delay) >= deadline {
                decision = .stop
            }
            guard case .retry(let delay) = decision else {
                switch outcome {
                case .response(let response): return Exchange(result: .success(response), attempts: attempt)
                case .failure(let error): return Exchange(result: .failure(error), attempts: attempt)
                }
            }
            if let waitAbort, waitAbort() { return Exchange(result: .failure(.aborted), attempts: attempt) }
            onRetry?(RetryNotice(attempt: attempt, delay: delay, reason: Self.reason(outcome)))
            guard sleep(delay, waitAbort) else { return Exchange(result: .failure(.aborted), attempts: attempt) }
            previousDelay = delay
            attempt += 1
        }
    }

    static func reason(_ outcome: AttemptOutcome) -> String {
        switch outcome {
        case .response(let response): return String(response.status)
        case .failure(.couldNotConnect): return "connection failure"
        case .failure(.connectionLost): return "connection lost"
        case .failure(.timedOut): return "timeout"
        case .failure(let error): return "\(error)"
        }
    }

    /// Sleeps in short slices so Ctrl-C ends a long Retry-After wait promptly.
    public static let abortableSleep: Sleep = { seconds, shouldAbort in
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(max(0, seconds) * 1e9)
        while true {
            if let shouldAbort, shouldAbort() { return false }
            let now = DispatchTime.now().uptimeNanoseconds
            guard now < deadline else { return true }
            let slice = min(deadline - now, 50_000_000)
            usleep(UInt32(slice / 1000))
        }
    }
}

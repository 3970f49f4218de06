import Foundation
import Testing
import HeliosTestSupport
@testable import HeliosCore

private func status(_ code: Int, _ headers: [String: String] = [:]) -> AttemptOutcome {
    .response(HTTPResponse(status: code, headers: headers))
}

@Suite(.blocking) struct RetryPolicyTests {
    // (outcome, kind, retryable?)
    @Test(arguments: [
        (status(200), RequestKind.idempotent, false),
        (status(404), .idempotent, false),
        (status(401), .idempotent, false),
        (status(422), .createRun, false),
        (status(408), .idempotent, true),
        (status(408), .createRun, false),
        (status(429), .idempotent, true),
        (status(429), .createRun, true),
        (status(500), .idempotent, true),
        (status(500), .createRun, false),
        (status(502), .idempotent, true),
        (status(502), .createRun, false),
        (status(503), .idempotent, true),
        (status(503), .createRun, true),
        (status(504), .idempotent, true),
        (status(504), .createRun, false),
        (.failure(.couldNotConnect("refused")), .idempotent, true),
        (.failure(.couldNotConnect("refused")), .createRun, true),
        (.failure(.timedOut("after send")), .idempotent, true),
        (.failure(.timedOut("after send")), .createRun, false),
        (.failure(.connectionLost("reset")), .idempotent, true),
        (.failure(.connectionLost("reset")), .createRun, false),
        (.failure(.aborted), .idempotent, false),
        (.failure(.fileUnreadable(path: "f", reason: "gone")), .idempotent, false),
        (.failure(.other(code: 60, message: "certificate")), .idempotent, false),
    ] as [(AttemptOutcome, RequestKind, Bool)])
    func retryableOutcomes(outcome: AttemptOutcome, kind: RequestKind, expected: Bool) {
        #expect(RetryPolicy.isRetryable(outcome, kind: kind) == expected)
    }

    // (retry number, random, jitter, previous delay, expected delay)
    @Test(arguments: [
        (1, 1.0, RetryPolicy.Jitter.none, 0.0, 0.5),
        (2, 1.0, .none, 0.0, 1.0),
        (3, 0.3, .none, 0.0, 2.0),
        (10, 1.0, .none, 0.0, 30.0),
        (1, 1.0, .full, 0.0, 0.5),
        (3, 0.5, .full, 0.0, 1.0),
        (3, 0.0, .full, 0.0, 0.0),
        (12, 0.5, .full, 0.0, 15.0),
        (1, 0.0, .decorrelated, 0.0, 0.5),
        (2, 1.0, .decorrelated, 2.0, 6.0),
        (2, 0.5, .decorrelated, 2.0, 3.25),
        (5, 1.0, .decorrelated, 20.0, 30.0),
    ] as [(Int, Double, RetryPolicy.Jitter, Double, Double)])
    func backoffDelays(retry: Int, random: Double, jitter: RetryPolicy.Jitter, previous: Double, expected: Double) {
        var policy = RetryPolicy()
        policy.jitter = jitter
        #expect(abs(policy.backoff(retry: retry, previousDelay: previous, random: random) - expected) < 1e-9)
    }

    static let now = Date(timeIntervalSince1970: 1_785_000_000)  // 2026-07-25T17:20:00Z

    @Test(arguments: [
        ("2", 2.0),
        (" 120 ", 120.0),
        ("0", 0.0),
        ("Sat, 25 Jul 2026 17:20:30 GMT", 30.0),
        ("Saturday, 25-Jul-26 17:21:00 GMT", 60.0),
        ("Sat Jul 25 17:20:10 2026", 10.0),
        ("Sat, 25 Jul 2026 17:00:00 GMT", 0.0),  // a date in the past: no wait
        ("sat, 25 jul 2026 17:20:30 gmt", 30.0),  // names in any case
        ("Sat,  25 Jul 2026\t17:20:30 GMT", 30.0),  // runs of blanks
        ("Sun, 26 Jul 2026 17:20:00 GMT", 86400.0),
        ("Sat Aug  1 17:20:00 2026", 7 * 86400.0),  // asctime pads a one-digit day
    ])
    func retryAfterParses(value: String, seconds: Double) throws {
        let parsed = try #require(RetryPolicy.retryAfterSeconds(value, now: Self.now))
        #expect(abs(parsed - seconds) < 1e-6)
    }

    @Test(arguments: ["", "soon", "-5", "1.5", "２", "Sat, 31 Jun 2026 17:20:30 GMT", "Sat, 25 Jul 2026 24:00:00 GMT",
                      "Sat, 25 Jul 2026 17:20:30 CET", "Sat, 25 Jly 2026 17:20:30 GMT", "Sat, 25 Jul 2026 17:20 GMT"])
    func retryAfterRejects(value: String) {
        #expect(RetryPolicy.retryAfterSeconds(value, now: Self.now) == nil)
    }

    // (attempt, outcome, elapsed, expected decision) with maxAttempts 5, budget 120, no jitter.
    @Test(arguments: [
        (1, status(503), 0.0, RetryPolicy.Decision.retry(after: 0.5)),
        (4, status(503), 0.0, .retry(after: 4.0)),
        (5, status(503), 0.0, .stop),  // attempts used up
        (1, status(429, ["retry-after": "2"]), 0.0, .retry(after: 2)),
        (1, status(503, ["retry-after": "7"]), 0.0, .retry(after: 7)),
        (1, status(429, ["retry-after": "3600"]), 0.0, .retry(after: 60)),  // capped
        (1, status(429, ["retry-after": "junk"]), 0.0, .retry(after: 0.5)),  // falls back to backoff
        (2, status(429, ["retry-after": "30"]), 100.0, .stop),  // would overrun the total budget
        (2, status(503), 119.5, .stop),  // the 1 s wait would end past 120 s
        (1, status(404, ["retry-after": "1"]), 0.0, .stop),
    ] as [(Int, AttemptOutcome, Double, RetryPolicy.Decision)])
    func decisions(attempt: Int, outcome: AttemptOutcome, elapsed: Double, expected: RetryPolicy.Decision) {
        let policy = RetryPolicy(jitter: .none)
        #expect(policy.decide(kind: .idempotent, outcome: outcome, attempt: attempt, elapsed: elapsed,
                              random: 1, now: Self.now) == expected)
    }

    @Test(arguments: [("GET", RequestKind.idempotent), ("put", .idempotent), ("POST", .createRun), ("PATCH", .createRun)])
    func kindFromMethod(method: String, kind: RequestKind) {
        #expect(RequestKind.inferred(fromMethod: method) == kind)
    }

    @Test func neverPolicyDoesNotRetry() {
        #expect(RetryPolicy.never.decide(kind: .idempotent, outcome: status(503), attempt: 1, elapsed: 0, random: 1) == .stop)
    }
}

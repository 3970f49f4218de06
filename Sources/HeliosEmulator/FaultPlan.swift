/// The routes faults can target (`any` matches all four).
enum RouteName: String, Sendable, CaseIterable {
    case create, get, upload, account

    static func parseTarget(_ text: String) -> Set<RouteName>? {
        if text == "any" { return Set(RouteName.allCases) }
        return RouteName(rawValue: text).map { [$0] }
    }
}

/// One `--fault` spec, parsed. Grammar (also in `--help`):
///   auth:401 | auth:403
///   status:ROUTE:CODE[:COUNT]   slow:ROUTE:DUR[:COUNT]   malformed:ROUTE[:COUNT]
///   drop:ROUTE[:COUNT]          expired-upload[:COUNT]   retry-after:SECONDS
/// COUNT limits the fault to the first COUNT matching calls; without it every call is affected.
enum FaultSpec: Sendable, Equatable {
    case auth(code: Int)
    case status(routes: Set<RouteName>, code: Int, count: Int?)
    case slow(routes: Set<RouteName>, seconds: Double, count: Int?)
    case malformed(routes: Set<RouteName>, count: Int?)
    case drop(routes: Set<RouteName>, count: Int?)
    case expiredUpload(count: Int?)
    case retryAfter(seconds: Int)

    static func parse(_ spec: String) throws(UsageError) -> FaultSpec {
        let parts = spec.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        func bad(_ why: String) -> UsageError { .invalidFault(spec: spec, reason: why) }
        func routes(_ i: Int) throws(UsageError) -> Set<RouteName> {
            guard i < parts.count, let r = RouteName.parseTarget(parts[i]) else {
                throw bad("ROUTE must be one of create, get, upload, account, any")
            }
            return r
        }
        func count(_ i: Int) throws(UsageError) -> Int? {
            guard i < parts.count else { return nil }
            guard let n = Int(parts[i]), n > 0 else { throw bad("COUNT must be a positive integer") }
            return n
        }
        func arity(_ allowed: ClosedRange<Int>) throws(UsageError) {
            guard allowed.contains(parts.count) else { throw bad("wrong number of fields") }
        }
        switch parts[0] {
        case "auth":
            try arity(2...2)
            guard let code = Int(parts[1]), code == 401 || code == 403 else { throw bad("auth takes 401 or 403") }
            return .auth(code: code)
        case "status":
            try arity(3...4)
            let r = try routes(1)
            guard let code = Int(parts[2]), (400...599).contains(code) else { throw bad("CODE must be 400-599") }
            return .status(routes: r, code: code, count: try count(3))
        case "slow":
            try arity(3...4)
            let r = try routes(1)
            guard let s = DurationParser.seconds(parts[2]) else { throw bad("DUR must look like 500ms, 3s, 2m or 1.5") }
            return .slow(routes: r, seconds: s, count: try count(3))
        case "malformed":
            try arity(2...3)
            return .malformed(routes: try routes(1), count: try count(2))
        case "drop":
            try arity(2...3)
            return .drop(routes: try routes(1), count: try count(2))
        case "expired-upload":
            try arity(1...2)
            return .expiredUpload(count: try count(1))
        case "retry-after":
            try arity(2...2)
            guard let s = Int(parts[1]), s >= 0 else { throw bad("SECONDS must be a non-negative integer") }
            return .retryAfter(seconds: s)
        default:
            throw bad("unknown fault kind '\(parts[0])'")
        }
    }
}

/// What a fault makes the emulator do instead of (or before) the real handling of a call.
enum FaultAction: Sendable, Equatable {
    case status(Int)
    case malformed
    case drop
}

/// The faults of this process and how many of their calls are used up. An actor because
/// concurrent requests consume the same counters.
actor FaultPlan {
    private struct Entry {
        var spec: FaultSpec
        var used = 0
    }

    private var entries: [Entry]
    private var expiredUploadsGiven = 0
    let authFailureCode: Int
    let retryAfterSeconds: Int

    init(specs: [FaultSpec]) {
        entries = specs.map { Entry(spec: $0) }
        var auth = 401
        var retry = 1
        for spec in specs {
            if case .auth(let code) = spec { auth = code }
            if case .retryAfter(let s) = spec { retry = s }
        }
        authFailureCode = auth
        retryAfterSeconds = retry
    }

    /// The total delay of every `slow` fault that applies to this call (each consumes one use).
    func delay(for route: RouteName) -> Double {
        var total = 0.0
        for i in entries.indices {
            guard case let .slow(routes, seconds, count) = entries[i].spec, routes.contains(route) else { continue }
            if let count, entries[i].used >= count { continue }
            entries[i].used += 1
            total += seconds
        }
        return total
    }

    /// The first answering fault (in command-line order) that still has uses left for this route.
    func action(for route: RouteName) -> FaultAction? {
        for i in entries.indices {
            let action: FaultAction
            let routes: Set<RouteName>
            let limit: Int?
            switch entries[i].spec {
            case let .status(r, code, count): (action, routes, limit) = (.status(code), r, count)
            case let .malformed(r, count): (action, routes, limit) = (.malformed, r, count)
            case let .drop(r, count): (action, routes, limit) = (.drop, r, count)
            default: continue
            }
            guard routes.contains(route) else { continue }
            if let limit, entries[i].used >= limit { continue }
            entries[i].used += 1
            return action
        }
        return nil
    }

    /// Whether the next created run gets an already expired upload URL.
    func nextUploadIsExpired() -> Bool {
        for spec in entries.map(\.spec) {
            guard case .expiredUpload(let count) = spec else { continue }
            if let count, expiredUploadsGiven >= count { return false }
            expiredUploadsGiven += 1
            return true
        }
        return false
    }
}

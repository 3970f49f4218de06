import Synchronization

/// Why a command is being asked to stop: Ctrl-C or SIGTERM, or a reader that closed our stdout.
public enum StopReason: Int, Sendable {
    case signal = 1
    case brokenPipe = 2
}

/// A request to stop, passed to everything that waits or sends. The first request stops new work
/// and ends waits and uploads; work that may already cost money (a create POST in flight) runs
/// to its answer so the run id is journaled. A second request is urgent: stop waiting even for
/// that, and record what may have happened.
public final class Cancellation: Sendable {
    private let count = Atomic<Int>(0)
    private let reasonCode = Atomic<Int>(0)

    public init() {}

    /// The process's own, which signal handlers and a broken stdout pipe trigger. Touched by
    /// `Interrupt.install()` before any handler is installed, so a handler never initialises it.
    public static let process = Cancellation()

    /// Async-signal-safe: atomic operations only, no allocation, no locks. Each signal counts
    /// (the second is urgent); a closed stdout is reported on every failed write, so it counts
    /// once and never makes a stop urgent: it must not cut off a create's answer.
    public func request(_ reason: StopReason = .signal) {
        _ = reasonCode.compareExchange(expected: 0, desired: reason.rawValue, ordering: .relaxed)
        if reason == .brokenPipe {
            _ = count.compareExchange(expected: 0, desired: 1, ordering: .relaxed)
        } else {
            count.add(1, ordering: .relaxed)
        }
    }

    /// Stop new work; end waits and uploads.
    public var isRequested: Bool { count.load(ordering: .relaxed) > 0 }
    /// Stop everything, even waiting for the answer of a create POST.
    public var isUrgent: Bool { count.load(ordering: .relaxed) > 1 }

    public var reason: StopReason? { StopReason(rawValue: reasonCode.load(ordering: .relaxed)) }
}

import FoundationEssentials
import Glibc
import Synchronization

/// Ctrl-C: the handler only sets a flag; transfers (curl's progress callback), retry waits and poll
/// waits check it and unwind, so every created run id is journaled and printed before exit 130.
public enum Interrupt {
    private static let flag = Atomic<Bool>(false)

    public static var requested: Bool { flag.load(ordering: .relaxed) }

    public static func install() {
        // A parent may start us with these signals blocked (some process spawners do); a blocked
        // Ctrl-C would never reach the handler, so unblock them explicitly.
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        signal(SIGINT) { _ in Interrupt.flag.store(true, ordering: .relaxed) }
        signal(SIGTERM) { _ in Interrupt.flag.store(true, ordering: .relaxed) }
    }

    /// Sleeps up to `seconds` in short slices; false if interrupted first.
    public static func sleep(_ seconds: Double) -> Bool {
        RetryingTransport.abortableSleep(seconds, { requested })
    }
}

import FoundationEssentials
import Glibc

/// Ctrl-C and SIGTERM: the handler only records the request on `Cancellation.process`; transfers
/// (curl's progress callback), retry waits, poll waits and the local check look at it and unwind,
/// so every created run id is journaled and printed before exit 130. A second signal is urgent.
/// SIGPIPE is ignored: a closed stdout shows up as EPIPE on the write, and stops the command the
/// same way (see `Output.standard`).
public enum Interrupt {
    public static var requested: Bool { Cancellation.process.isRequested }

    public static func install() {
        _ = Cancellation.process.isRequested  // initialised here, never inside a handler
        // A parent may start us with these signals blocked (some process spawners do); a blocked
        // Ctrl-C would never reach the handler, so unblock them explicitly.
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        signal(SIGINT) { _ in Cancellation.process.request(.signal) }
        signal(SIGTERM) { _ in Cancellation.process.request(.signal) }
        signal(SIGPIPE, SIG_IGN)
    }
}

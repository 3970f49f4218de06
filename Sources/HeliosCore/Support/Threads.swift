#if canImport(Glibc)
import Glibc
#endif
import CKernels
import Synchronization

/// A CPU mask's bytes (a cpu_set_t: 1024 bits).
private struct CPUSet { var words = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0),
                                     UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0)) }

/// A thread of its own for blocking work (libcurl's easy interface, sleeps between polls), in
/// place of Foundation's Thread. Joinable: `join()` waits for `body` to return.
final class Worker: Sendable {
    private let thread: pthread_t
    private let joined = Atomic(false)

    private final class Body {
        let run: () -> Void
        /// The CPUs the thread may run on once started (when it was started on fewer).
        var allowed: CPUSet?
        let startedOn: StartedOn
        init(_ run: @escaping () -> Void, startedOn: StartedOn) {
            self.run = run
            self.startedOn = startedOn
        }
    }

    /// The CPU a thread started `elsewhere` began on, as it reports it (-1 until then).
    private final class StartedOn: Sendable { let cpu = Atomic(-1) }
    private let avoided: Int?
    private let startedOn = StartedOn()

    /// For `elsewhere`: the creator's CPU, which the thread did not start on, and the one it did
    /// (read after `join`).
    var placement: (avoided: Int?, startedOn: Int) { (avoided, startedOn.cpu.load(ordering: .acquiring)) }

    /// Starts `body` on a new thread with `stackSize` bytes of stack (nil: the system default).
    /// `elsewhere`: on another CPU than the caller's, for work that runs beside the caller's own.
    /// (Left to the scheduler, a new thread starts on its creator's CPU, and the two share it,
    /// four milliseconds each in turn, until the load balancer moves one: 20 ms of a two-thread
    /// decode on one CPU of two.) Once started, the thread may run on any CPU the process may.
    init(stackSize: Int? = nil, elsewhere: Bool = false, _ body: @escaping @Sendable () -> Void) {
        var attr = pthread_attr_t()
        pthread_attr_init(&attr)
        defer { pthread_attr_destroy(&attr) }
        if let stackSize { pthread_attr_setstacksize(&attr, max(stackSize, Int(PTHREAD_STACK_MIN))) }
        let work = Body(body, startedOn: startedOn)
        var avoided: Int?
        if elsewhere {
            var allowed = CPUSet()
            let here = withUnsafeMutableBytes(of: &allowed) { helios_attr_elsewhere(&attr, $0.baseAddress, $0.count) }
            if here > 0 {
                work.allowed = allowed
                avoided = Int(here) - 1
            }
        }
        self.avoided = avoided
        let context = Unmanaged.passRetained(work).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, &attr, { raw in
            let body = Unmanaged<Body>.fromOpaque(raw!).takeRetainedValue()
            if let allowed = body.allowed {
                body.startedOn.cpu.store(Int(helios_cpu()), ordering: .releasing)
                withUnsafeBytes(of: allowed) { helios_allow_cpus($0.baseAddress) }
            }
            body.run()
            return nil
        }, context)
        precondition(rc == 0, "pthread_create failed: \(rc)")
        self.thread = thread
    }

    /// Waits for the thread to finish; once.
    func join() {
        guard !joined.exchange(true, ordering: .acquiringAndReleasing) else { return }
        pthread_join(thread, nil)
    }

    /// Lets the thread run on alone: its resources go when it ends.
    func detach() {
        guard !joined.exchange(true, ordering: .acquiringAndReleasing) else { return }
        pthread_detach(thread)
    }

    /// Blocks the calling thread for `seconds` (resumed after a signal, like Thread.sleep).
    static func sleep(_ seconds: Double) {
        guard seconds > 0 else { return }
        let whole = seconds.rounded(.down)
        var request = timespec(tv_sec: Int(whole), tv_nsec: Int((seconds - whole) * 1e9))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0, errno == EINTR { request = remaining }
    }
}

#if SANITIZE_THREAD
/// The ThreadSanitizer build's stand-in for `Synchronization.Mutex`: same name and `withLock`, so
/// it shadows the real one inside this module. On Linux a contended `Mutex` is handed over by the
/// kernel (a PI futex, in the uninstrumented Synchronization library), which TSan cannot see, so it
/// reports the state the `Mutex` guards as raced. TSan intercepts pthread mutexes.
// The value lives behind a pointer, not in a stored property: Swift's exclusivity checks on a
// property are reported by TSan as accesses of their own, and for a zero-sized value (`Mutex(())`)
// the optimiser may begin that access before the lock is taken, which TSan then calls a race.
// @unchecked: every access to value is inside pthread_mutex_lock/unlock.
final class Mutex<Value>: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let value = UnsafeMutablePointer<Value>.allocate(capacity: 1)

    init(_ initialValue: Value) {
        value.initialize(to: initialValue)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
        value.deinitialize(count: 1)
        value.deallocate()
    }

    func withLock<Result, E: Error>(_ body: (inout Value) throws(E) -> Result) throws(E) -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value.pointee)
    }
}
#endif

import Foundation
import Testing

/// Threads of their own for test bodies that block: waiting on a spawned helios, an emulator's
/// processing time, a poll interval of at least 1 s. Swift Testing runs tests as tasks on the
/// cooperative pool, which is as wide as the machine has cores (2 here), so two blocked tests
/// used to stall every other test, and `make test` was bound by waits, not work.
/// Tests marked `.blocking` run here instead; the pool is wider than the core count because most
/// of its threads are asleep in `waitpid` or `poll`.
public final class BlockingPool: TaskExecutor, @unchecked Sendable {
    /// HELIOS_TEST_THREADS overrides the width (at least 1), e.g. to compare timings.
    public static let shared = BlockingPool(
        threads: ProcessInfo.processInfo.environment["HELIOS_TEST_THREADS"].flatMap(Int.init).map { max($0, 1) } ?? 8)

    // @unchecked: `jobs` is only touched with `condition` locked.
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var head = 0

    init(threads: Int) {
        for index in 0..<threads {
            let thread = Thread { [unowned self] in self.serve() }
            thread.name = "helios-test-\(index)"
            thread.stackSize = 8 << 20
            thread.start()
        }
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    private func serve() {
        while true {
            condition.lock()
            while head == jobs.count { condition.wait() }
            let job = jobs[head]
            head += 1
            if head == jobs.count {
                jobs.removeAll(keepingCapacity: true)
                head = 0
            }
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}

/// `@Suite(.blocking)`: every test in the suite runs on `BlockingPool.shared`.
public struct BlockingTrait: TestTrait, SuiteTrait, TestScoping {
    public var isRecursive: Bool { true }

    public func provideScope(for test: Test, testCase: Test.Case?,
                             performing function: @Sendable () async throws -> Void) async throws {
        try await withTaskExecutorPreference(BlockingPool.shared) { try await function() }
    }
}

extension Trait where Self == BlockingTrait {
    /// Runs the test (or every test of the suite) on threads that may block without stalling others.
    public static var blocking: Self { BlockingTrait() }
}

/// `@Suite(.cooperative)`: the suite's tests await (servers, `blocking { }` on threads of their
/// own) and never hold a thread, so they stay on Swift Testing's cooperative pool. On
/// `BlockingPool` their resumptions would queue behind tests that block for seconds, and a
/// server's 5 s start-up timeout could fire first. A test in such a suite that does block is
/// marked `.blocking` itself.
public struct CooperativeTrait: TestTrait, SuiteTrait {}

extension Trait where Self == CooperativeTrait {
    /// Says the test (or suite) never blocks a thread: it runs where Swift Testing puts it.
    public static var cooperative: Self { CooperativeTrait() }
}

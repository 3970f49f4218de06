import CKernels
import Synchronization
import Testing
@testable import HeliosCore

/// A worker started `elsewhere` begins on another CPU than its creator's, then may run anywhere.
@Suite(.blocking) struct WorkerTests {
    @Test func aWorkerStartedElsewhereBeginsOnAnotherCPU() {
        let allowed = Int(helios_cpu_count())
        for _ in 0..<20 {
            let seen = Mutex((cpu: -1, count: 0))
            let worker = Worker(elsewhere: true) { seen.withLock { $0 = (Int(helios_cpu()), Int(helios_cpu_count())) } }
            worker.join()
            let placement = worker.placement
            let (cpu, count) = seen.withLock { $0 }
            #expect(cpu >= 0)
            // Once started, every CPU the process may use is the worker's again.
            #expect(count == allowed, "the worker may use \(count) CPUs, its creator \(allowed)")
            if allowed < 2 {
                #expect(placement.avoided == nil, "one CPU: nowhere else to start")
            } else {
                guard let avoided = placement.avoided else {
                    Issue.record("\(allowed) CPUs, yet the worker was not started away from its creator's")
                    continue
                }
                #expect(placement.startedOn >= 0 && placement.startedOn != avoided, "started on \(placement.startedOn), its creator on \(avoided)")
            }
        }
        // A plain worker is left to the scheduler.
        let plain = Worker {}
        plain.join()
        #expect(plain.placement.avoided == nil && plain.placement.startedOn == -1)
    }
}

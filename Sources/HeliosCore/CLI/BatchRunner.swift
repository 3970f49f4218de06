import FoundationEssentials
import Glibc
import Synchronization

/// Runs jobs through the `RunLifecycle` on `concurrency` worker threads and renders what happens.
/// libcurl's easy interface is blocking, so a thread per in-flight run is the simplest correct
/// model: a run's upload and its waits overlap with the others', a wait costs a sleeping thread
/// and no CPU, and memory grows only by a stack and a small upload buffer per worker. 429s close
/// the shared `RateGate` for everyone.
final class BatchRunner: Sendable {
    let session: Session
    let concurrency: Int
    let progress: BatchProgress
    private let lifecycle: RunLifecycle
    private struct State {
        var next = 0
        var stopReason: RunFailure?
        var authReported = false
    }
    private let state = Mutex(State())
    /// Set by a failure that makes every other job pointless (a refused key, an unwritable journal).
    var stopReason: RunFailure? { state.withLock { $0.stopReason } }

    init(session: Session, client: @escaping @Sendable (String) -> APIClient, wait: WaitOptions, noWait: Bool,
         concurrency: Int, jobs: Int, alreadyDone: Set<Int> = []) {
        self.session = session
        self.concurrency = max(1, concurrency)
        let environment = session.context.environment
        let progress = BatchProgress(console: session.console, isTerminal: session.context.stderrIsTerminal, total: jobs,
                                     alreadyDone: alreadyDone, now: session.context.now,
                                     width: { BatchProgress.terminalWidth(environment: environment) })
        // In a batch, a line per run for routine steps would bury what needs attention: those
        // only under -v (warnings, failures and retries always print).
        let routine = jobs <= 1 || session.global.verbose
        self.progress = progress
        var env = RunEnvironment(journal: session.journal, uploads: session.uploads, client: client,
                                 cancellation: session.context.cancellation, now: session.context.now,
                                 sleep: session.context.sleep)
        env.pollInterval = wait.pollInterval
        env.timeout = wait.timeout
        env.noWait = noWait
        lifecycle = RunLifecycle(environment: env) { index, event in
            Self.render(event, index: index, progress: progress, session: session, routine: routine)
        }
    }

    func run(_ jobs: [RunJob]) -> [RunOutcome] {
        let results = Results(count: jobs.count)
        // CSV's tag columns: every tag name of the batch, in the order the rows first use them.
        var names: [String] = []
        for job in jobs { for tag in job.request?.tags ?? [] where !names.contains(tag.name) { names.append(tag.name) } }
        session.console.setTagColumns(names)
        session.console.emitHeader(.run)
        progress.start()
        let workers = (0..<min(concurrency, jobs.count)).map { _ in
            Worker(stackSize: 1 << 20) { [self] in
                while let index = take(jobs.count) {
                    progress.jobStarted(index)
                    let outcome = lifecycle.execute(jobs[index], index: index)
                    progress.ended(index, failed: Self.isFailure(outcome))
                    show(outcome, job: jobs[index])
                    results.set(index, outcome)
                }
            }
        }
        for worker in workers { worker.join() }
        progress.stop()
        let outcomes = results.all
        for (job, outcome) in zip(jobs, outcomes) {
            session.console.reports.record(CIReports.item(outcome, file: job.recording?.path ?? job.submission?.file, manifestLine: job.submission?.line))
        }
        return outcomes
    }

    private func take(_ count: Int) -> Int? {
        state.withLock { s in
            guard s.next < count, s.stopReason == nil, !session.context.cancellation.isRequested else { return nil }
            defer { s.next += 1 }
            return s.next
        }
    }

    // MARK: rendering

    /// Counted as failed in the progress line: a run that ended in error, or a helios failure.
    static func isFailure(_ outcome: RunOutcome) -> Bool {
        switch outcome {
        case .finished(let run): run.status != APIStatus.completeOK.rawValue
        case .failed, .unconfirmedCreate: true
        case .uploaded, .pending, .notStarted: false
        }
    }

    private static func render(_ event: RunEvent, index: Int, progress: BatchProgress, session: Session, routine: Bool) {
        switch event {
        case .created(let runId, let file, let label, let bytes, let replacing):
            // A replacement is news; a batch's ordinary creates are in its results and journal.
            guard routine || replacing != nil else { return }
            let replacing = replacing.map { " to replace \($0)" } ?? ""
            session.console.note("created run \(runId) for \(file)\(replacing) (user label \(label)); uploading \(BatchProgress.size(bytes))")
        case .recovered(let runId, let file):
            guard routine else { return }
            session.console.note("found run \(runId) for \(file), created before an interruption; resuming it")
        case .unconfirmedCreateSuperseded(let file, let since):
            session.console.warn("an earlier create for \(file) (at \(since)) was never confirmed, so a run may exist that helios cannot name; creating one now ('helios runs' lists the unconfirmed one)")
        case .uploadStarted(let file, let bytes):
            progress.uploadStarted(index, name: Text.lastPathComponent(file), bytes: bytes)
        case .uploadProgress(let p):
            progress.uploadProgress(index, p)
        case .uploadEnded:
            progress.uploadEnded(index)
        case .resending(let runId, let file):
            guard routine else { return }
            session.console.note("run \(runId) has not received \(file) yet; sending it to the run's own upload URL")
        case .abandoned(let runId, let file, let reason):
            session.console.warn("run \(runId) for \(file) never received its recording and \(reason); creating a fresh run")
        case .status(_, let status):
            progress.waiting(index, status: status.rawValue)
        case .pollFailed(let runId, let reason):
            session.console.note("polling run \(runId) failed (\(reason)); polling again")
        case .urlNotKept(let runId, let reason):
            session.console.warn("the upload URL of run \(runId) could not be kept (\(reason)); an interrupted upload will need a fresh run")
        }
    }

    private func show(_ outcome: RunOutcome, job: RunJob) {
        switch outcome {
        case .finished(let run):
            let r = job.recording
            session.console.emit(RunResult(file: r?.path, runId: run.id, status: run.status, userLabel: job.request?.user.userLabel,
                                           audio: r?.audio, localWarnings: r?.report.warnings ?? [], run: run,
                                           tags: job.request?.tags, manifestLine: job.submission?.line))
        case .uploaded(let runId):
            // In text, the id alone: `helios upload … | helios poll -`.
            session.console.emit(RunResult(file: job.recording?.path, runId: runId, status: "UPLOADED",
                                           userLabel: job.request?.user.userLabel, audio: job.recording?.audio,
                                           localWarnings: job.recording?.report.warnings ?? [],
                                           tags: job.request?.tags, manifestLine: job.submission?.line), idOnly: true)
        case .failed(let failure), .unconfirmedCreate(_, let failure?):
            let code = RunExit.code(for: failure)
            if code == .authFailed || failure.cause == .journal { stopAll(failure) }
            guard firstOfItsKind(code) else { return }
            session.console.fail(CLIFailure(code, failure.message, runId: failure.runId))
        case .pending, .unconfirmedCreate, .notStarted:
            break
        }
    }

    /// A refused key fails every in-flight job the same way: say it once.
    private func firstOfItsKind(_ code: ExitCode) -> Bool {
        guard code == .authFailed else { return true }
        return state.withLock { s in
            defer { s.authReported = true }
            return !s.authReported
        }
    }

    private func stopAll(_ failure: RunFailure) {
        state.withLock { if $0.stopReason == nil { $0.stopReason = failure } }
    }
}

/// Outcomes by job index, written by the workers.
private final class Results: Sendable {
    private let items: Mutex<[RunOutcome]>
    init(count: Int) { items = Mutex(Array(repeating: .notStarted, count: count)) }
    func set(_ i: Int, _ o: RunOutcome) { items.withLock { $0[i] = o } }
    var all: [RunOutcome] { items.withLock { $0 } }
}

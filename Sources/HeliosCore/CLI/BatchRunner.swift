import FoundationEssentials
import Glibc

/// One unit of work: a recording to send (fresh, or replacing a run that never got its upload),
/// a run to wait for, or a run the journal already saw finish.
struct Job: Sendable {
    enum Start: Sendable {
        case create
        case recreate(abandoning: JournalEntry)
        case poll(runId: String)
        case done(JournalEntry)
    }

    var recording: PreparedRecording?
    var request: CreateRunRequest?
    var start: Start
}

/// How one job ended.
enum JobOutcome: Sendable {
    case finished(ModelRun)
    case uploaded(String)
    case failed(CLIFailure)
    /// Still going at thymia: waiting stopped by --timeout (`interrupted` false) or Ctrl-C.
    case pending(runId: String, uploaded: Bool, interrupted: Bool)
    case notStarted
}

/// Runs jobs on `concurrency` worker threads. Each worker takes a job and carries it through:
/// create, upload, then poll until it finishes. libcurl's easy interface is blocking, so a
/// thread per in-flight run is the simplest correct model: a run's upload and its waits overlap
/// with the others', a wait costs a sleeping thread and no CPU, and memory grows only by a stack
/// and a small upload buffer per worker. Polling stays one GET per run per interval; 429s close
/// the shared `RateGate` for everyone.
final class BatchRunner: @unchecked Sendable {
    let session: Session
    let client: APIClient
    let baseURL: String
    let wait: WaitOptions
    let noWait: Bool
    let concurrency: Int
    let progress: BatchProgress
    private let lock = Lock()
    private var next = 0
    private var stopReason: CLIFailure?
    /// The journal's current entry of every run this command touches, read once: re-reading
    /// the whole file for each status change would make a batch quadratic.
    private var entries: [String: JournalEntry] = [:]

    init(session: Session, client: APIClient, baseURL: String, wait: WaitOptions, noWait: Bool, concurrency: Int, jobs: Int) {
        self.session = session
        self.client = client
        self.baseURL = baseURL
        self.wait = wait
        self.noWait = noWait
        self.concurrency = max(1, concurrency)
        progress = BatchProgress(output: session.output, isTerminal: session.context.stderrIsTerminal,
                                 quiet: session.global.quiet, total: jobs)
    }

    func run(_ jobs: [Job]) -> [JobOutcome] {
        let results = Results(count: jobs.count)
        let polled = Set(jobs.compactMap { job -> String? in if case .poll(let id) = job.start { id } else { nil } })
        if !polled.isEmpty, let known = try? session.journal.latest() {
            for entry in known where polled.contains(entry.runId) { entries[entry.runId] = entry }
        }
        progress.start()
        let workers = (0..<min(concurrency, jobs.count)).map { _ in
            Worker(stackSize: 1 << 20) { [self] in
                while let index = take(jobs.count) {
                    let outcome = process(index, jobs[index])
                    // Failures print as they happen, like results; the summary comes at the end.
                    if case .failed(let failure) = outcome, firstOfItsKind(failure) {
                        progress.err(failure.rendered(json: session.global.json))
                    }
                    results.set(index, outcome)
                }
            }
        }
        for worker in workers { worker.join() }
        progress.stop()
        return results.all
    }

    private func take(_ count: Int) -> Int? {
        lock.withLock {
            guard next < count, stopReason == nil, !Interrupt.requested else { return nil }
            defer { next += 1 }
            return next
        }
    }

    private var authReported = false

    /// A refused key fails every in-flight job the same way: say it once.
    private func firstOfItsKind(_ failure: CLIFailure) -> Bool {
        guard failure.exitCode == .authFailed else { return true }
        return lock.withLock {
            defer { authReported = true }
            return !authReported
        }
    }

    /// A failure that makes every other job pointless (a refused key) stops the batch.
    private func stopAll(_ failure: CLIFailure) {
        lock.withLock { if stopReason == nil { stopReason = failure } }
    }

    private func process(_ index: Int, _ job: Job) -> JobOutcome {
        switch job.start {
        case .done(let entry):
            guard let raw = entry.run, let run = try? ModelRun(json: raw) else {
                // Uploaded before and not yet seen finishing (`upload` does not wait): its id again.
                emitUploaded(job, runId: entry.runId)
                return .uploaded(entry.runId)
            }
            emit(run, job: job, index: index)
            return .finished(run)
        case .poll(let runId):
            return waitFor(runId, job: job, index: index, sleepFirst: false)
        case .recreate(let old):
            // Ctrl-C can land after the server took the whole upload but before we heard so:
            // ask before sending the recording again.
            if let run = try? client.getRun(old.runId), run.status != "CREATED" {
                try? journal(old.with(status: "UPLOADED"))
                return waitFor(old.runId, job: job, index: index, sleepFirst: false)
            }
            return createThenWait(index, job)
        case .create:
            return createThenWait(index, job)
        }
    }

    private func createThenWait(_ index: Int, _ job: Job) -> JobOutcome {
        do {
            let runId: String
            runId = try createAndUpload(index, job)
            if noWait {
                progress.ended(index)
                emitUploaded(job, runId: runId)
                return .uploaded(runId)
            }
            return waitFor(runId, job: job, index: index, sleepFirst: true)
        } catch let outcome as OutcomeError {
            return outcome.outcome
        } catch {
            return .failed(CLIFailure(.runFailed, "\(error)"))
        }
    }

    /// Wraps an outcome so `createAndUpload` can end a job from deep inside.
    private struct OutcomeError: Error { var outcome: JobOutcome }

    /// Creates the run, journals it before the upload starts, and uploads. An expired upload URL
    /// gets one fresh run, said on stderr, the old one journaled as abandoned.
    private func createAndUpload(_ index: Int, _ job: Job) throws -> String {
        guard let recording = job.recording, let request = job.request else {
            throw OutcomeError(outcome: .failed(CLIFailure(.usage, "nothing to send")))
        }
        var abandoned: String?
        if case .recreate(let old) = job.start {
            try journal(old.with(status: "ABANDONED"))
            abandoned = old.runId
            progress.note("run \(old.runId) for \(recording.path) never received its recording (its upload URL is not kept on disk); creating a fresh run")
        }
        for attempt in 1...2 {
            if Interrupt.requested { throw OutcomeError(outcome: .notStarted) }
            let created: CreateRunResponse
            do {
                created = try client.createRun(request)
            } catch {
                if error == .aborted { throw OutcomeError(outcome: .notStarted) }
                var hints: [String] = []
                switch error {
                case .network, .timedOut, .server, .malformed:
                    // The POST is never resent once it may have arrived (no idempotency key): say so.
                    hints.append("the request may have reached thymia, so a run may exist without its recording; nothing was uploaded")
                default: break
                }
                let failure = CLIFailure(error.exitCode, "creating a run for \(recording.path): \(error.message)", runId: abandoned, hints: hints)
                if error.exitCode == .authFailed { stopAll(failure) }
                throw OutcomeError(outcome: .failed(failure))
            }
            let runId = created.id
            var entry = JournalEntry(runId: runId, baseURL: baseURL, file: RunCommands.absolute(recording.path),
                                     bytes: recording.audio.bytes, sha256: recording.audio.sha256,
                                     userLabel: request.user.userLabel, status: "CREATED",
                                     requestDigest: RunCommands.digest(request))
            entry.uploadURLExpiresAt = Text.iso8601UTC(secondsFromNow: 3600)
            try journal(entry)
            let replacing = abandoned.map { " to replace \($0)" } ?? ""
            progress.note("created run \(runId) for \(recording.path)\(replacing) (user label \(request.user.userLabel)); uploading \(BatchProgress.size(recording.audio.bytes))")
            progress.uploadStarted(index, name: Text.lastPathComponent(recording.path), bytes: recording.audio.bytes)
            defer { progress.uploadEnded(index) }
            do {
                let progress = self.progress
                try client.upload(path: recording.path, size: recording.audio.bytes, to: created.recordingUploadUrl,
                                  contentType: recording.contentType, progress: { progress.uploadProgress(index, $0) })
            } catch .uploadExpired where attempt == 1 {
                try journal(entry.with(status: "ABANDONED"))
                progress.err(session.stderrPalette.yellow("warning:") + " the upload URL of run \(runId) has expired; creating a fresh run for \(recording.path)\n")
                abandoned = runId
                continue
            } catch {
                if error == .aborted { throw OutcomeError(outcome: .pending(runId: runId, uploaded: false, interrupted: true)) }
                throw OutcomeError(outcome: .failed(CLIFailure(
                    error.exitCode, "uploading \(recording.path) to run \(runId): \(error.message)", runId: runId,
                    hints: ["run \(runId) is journaled without its recording; run the command again to send it"])))
            }
            try journal(entry.with(status: "UPLOADED"))
            return runId
        }
        throw OutcomeError(outcome: .failed(CLIFailure(.apiRefused, "the fresh run's upload URL for \(recording.path) was refused too", runId: abandoned)))
    }

    /// Polls one run every interval until it finishes, its --timeout passes or Ctrl-C. The timeout
    /// is each run's own, counted from when its wait begins: a batch of 200 recordings at
    /// concurrency 1 takes far longer than any one run may.
    private func waitFor(_ runId: String, job: Job, index: Int, sleepFirst: Bool) -> JobOutcome {
        var sleep = sleepFirst
        var lastStatus = ""
        defer { progress.ended(index) }
        let deadline = wait.timeout > 0 ? Date().addingTimeInterval(wait.timeout) : nil
        while true {
            if sleep {
                if let deadline, Date().addingTimeInterval(wait.pollInterval) > deadline.addingTimeInterval(0.001) {
                    return .pending(runId: runId, uploaded: true, interrupted: false)
                }
                guard Interrupt.sleep(wait.pollInterval) else { return .pending(runId: runId, uploaded: true, interrupted: true) }
            }
            sleep = true
            let run: ModelRun
            do {
                run = try client.getRun(runId)
            } catch {
                if error == .aborted { return .pending(runId: runId, uploaded: true, interrupted: true) }
                let failure = CLIFailure(error.exitCode, "run \(runId): \(error.message)", runId: runId)
                if error.exitCode == .authFailed { stopAll(failure) }
                return .failed(failure)
            }
            if run.status != lastStatus {
                lastStatus = run.status
                progress.waiting(index, status: run.status)
                do {
                    try record(run, job: job)
                } catch let outcome as OutcomeError {
                    return outcome.outcome
                } catch {
                    return .failed(CLIFailure(.runFailed, "\(error)", runId: runId))
                }
            }
            if run.isFinished {
                emit(run, job: job, index: index)
                return .finished(run)
            }
        }
    }

    private func emit(_ run: ModelRun, job: Job, index: Int) {
        let r = job.recording
        let result = RunResult(file: r?.path, runId: run.id, status: run.status, userLabel: job.request?.user.userLabel,
                               audio: r?.audio, localWarnings: r?.report.warnings ?? [], run: run)
        progress.result(session.global.json ? JSONLine.encode(result) : result.text(palette: session.stdoutPalette))
    }

    private func emitUploaded(_ job: Job, runId: String) {
        guard let recording = job.recording else { return }
        if session.global.json {
            progress.result(JSONLine.encode(RunResult(file: recording.path, runId: runId, status: "UPLOADED",
                                                      userLabel: job.request?.user.userLabel, audio: recording.audio,
                                                      localWarnings: recording.report.warnings)))
        } else {
            progress.result(runId + "\n")
        }
    }

    /// Journals a status seen from the API (and the run object once it has finished), for runs
    /// this journal knows; a run created elsewhere and polled here gets an entry of its own.
    private func record(_ run: ModelRun, job: Job) throws {
        var entry = lock.withLock { entries[run.id] }
            ?? JournalEntry(runId: run.id, baseURL: baseURL, userLabel: run.userLabel, status: run.status)
        entry.time = JournalEntry.now()
        entry.status = run.status
        entry.errorCode = run.errorCode
        if run.isFinished { entry.run = run.raw }
        try journal(entry)
    }

    private func journal(_ entry: JournalEntry) throws {
        do {
            try session.journal.append(entry)
            lock.withLock { entries[entry.runId] = entry }
        } catch {
            // A run that cannot be journaled could be lost: stop, and show its id.
            let failure = CLIFailure(.runFailed, "cannot write the journal \(session.journal.path) (\(error)); run \(entry.runId) is \(entry.status)", runId: entry.runId)
            stopAll(failure)
            throw OutcomeError(outcome: .failed(failure))
        }
    }
}

/// Outcomes by job index, written by the workers.
private final class Results: @unchecked Sendable {
    private let lock = Lock()
    private var items: [JobOutcome]
    init(count: Int) { items = Array(repeating: .notStarted, count: count) }
    func set(_ i: Int, _ o: JobOutcome) { lock.withLock { items[i] = o } }
    var all: [JobOutcome] { lock.withLock { items } }
}

extension JournalEntry {
    func with(status: String) -> JournalEntry {
        var copy = self
        copy.time = JournalEntry.now()
        copy.status = status
        return copy
    }
}

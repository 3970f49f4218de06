import FoundationEssentials
import Glibc
import Synchronization

/// A recording that passed (or was allowed past) the local check, hashed, ready to send.
public struct PreparedRecording: Sendable {
    public var path: String
    public var report: ValidationReport
    public var audio: AudioInfo
    public var contentType: String
}

/// One unit of work: a recording to send, a journaled run to carry on, a run to wait for, or a
/// run the journal already saw finish.
public struct RunJob: Sendable {
    public enum Start: Sendable {
        case create
        /// The journal's latest entry for this recording: finish what it left unfinished.
        case resume(JournalEntry)
        /// Only wait (`poll`): the run's entry, or a fresh one for a run created elsewhere.
        case wait(JournalEntry)
        case done(JournalEntry)
    }

    public var submission: Submission?
    public var recording: PreparedRecording?
    public var request: CreateRunRequest?
    /// Where a fresh run is created; a journaled run keeps its own.
    public var baseURL: String
    public var start: Start

    public init(submission: Submission? = nil, recording: PreparedRecording? = nil, request: CreateRunRequest? = nil,
                baseURL: String, start: Start) {
        self.submission = submission
        self.baseURL = baseURL
        self.recording = recording
        self.request = request
        self.start = start
    }
}

/// Why a run could not be carried through. Plain words; the CLI picks the exit code.
public struct RunFailure: Error, Sendable, Equatable {
    public enum Cause: Sendable, Equatable {
        case api(APIError)
        case journal
        /// The run never got its recording, its URL is gone, and this command cannot make a new run.
        case needsRecording
    }

    public var cause: Cause
    public var message: String
    public var runId: String?

    public init(_ cause: Cause, _ message: String, runId: String? = nil) {
        self.cause = cause
        self.message = message
        self.runId = runId
    }
}

/// How one job ended.
public enum RunOutcome: Sendable {
    case finished(ModelRun)
    /// The recording is in (`upload`, `--no-wait`); not waited for.
    case uploaded(runId: String)
    /// The run goes on at thymia but this command stopped following it.
    case pending(runId: String, uploaded: Bool, why: PendingReason)
    /// A create POST whose answer never came: a run may exist that we cannot name. `failure` is
    /// nil when a second Ctrl-C cut the wait short.
    case unconfirmedCreate(file: String, failure: RunFailure?)
    case failed(RunFailure)
    case notStarted

    public enum PendingReason: Sendable, Equatable { case interrupted, timedOut }
}

/// What the lifecycle tells the CLI as it goes; the CLI decides what to print.
public enum RunEvent: Sendable {
    case created(runId: String, file: String, userLabel: String, bytes: Int64, replacing: String?)
    /// A crash came between the create's answer and its journal line; the kept URL named the run.
    case recovered(runId: String, file: String)
    /// An earlier create of this recording never got an answer; a run may exist for it.
    case unconfirmedCreateSuperseded(file: String, since: String)
    case uploadStarted(file: String, bytes: Int64)
    case uploadProgress(UploadProgress)
    case uploadEnded
    /// Resuming an unfinished upload to the run's own, still valid URL.
    case resending(runId: String, file: String)
    case abandoned(runId: String, file: String, reason: String)
    case status(runId: String, APIStatus)
    /// A poll failed; the next one comes at the next interval.
    case pollFailed(runId: String, reason: String)
    case urlNotKept(runId: String, reason: String)
}

/// What the lifecycle needs from outside: all of it injected, so tests drive it in process.
public struct RunEnvironment: Sendable {
    public var journal: Journal
    public var uploads: UploadURLStore
    public var client: @Sendable (_ baseURL: String) -> APIClient
    public var cancellation: Cancellation
    public var now: @Sendable () -> Date
    /// Waits between polls; false when the abort check turned true first.
    public var sleep: RetryingTransport.Sleep
    public var pollInterval: Double = 3
    /// Each run's own wait, from when waiting for it starts; 0 waits forever.
    public var timeout: Double = 15 * 60
    public var noWait = false
    /// Pre-signed URLs last one hour from the run's creation (helios-api.md §3).
    public var uploadURLLifetime: Double = 3600
    /// An upload is not started on a URL this close to its expiry.
    public var expiryMargin: Double = 60

    public init(journal: Journal, uploads: UploadURLStore, client: @escaping @Sendable (String) -> APIClient,
                cancellation: Cancellation, now: @escaping @Sendable () -> Date, sleep: @escaping RetryingTransport.Sleep) {
        self.journal = journal
        self.uploads = uploads
        self.client = client
        self.cancellation = cancellation
        self.now = now
        self.sleep = sleep
    }
}

/// The run lifecycle: create → upload → wait, and the resume of each state it can be left in.
///
/// The rules it keeps, each tested:
/// - the journal is written before and after every step that costs money or may already have
///   happened: an intent before the create POST, the run id the moment it is known (its upload
///   URL first, in `UploadURLStore`, which names the run too), `uploading` before the first
///   byte, and what is known after;
/// - a run id the server sent back is never lost: one Ctrl-C waits for the create's answer;
/// - a second run is made for a recording only when the first can no longer receive it (its URL
///   expired, or was never kept) and the API still says CREATED;
/// - all bytes sent without an answer is `upload-unconfirmed`, never "not uploaded".
public final class RunLifecycle: Sendable {
    let env: RunEnvironment
    let observe: @Sendable (_ job: Int, _ event: RunEvent) -> Void

    public init(environment: RunEnvironment, observe: @escaping @Sendable (Int, RunEvent) -> Void) {
        env = environment
        self.observe = observe
    }

    /// Ends a job from deep inside a step.
    private struct Stop: Error { var outcome: RunOutcome }

    public func execute(_ job: RunJob, index: Int) -> RunOutcome {
        do {
            switch job.start {
            case .create: return try create(job, index: index, replacing: nil)
            case .resume(let entry): return try resume(entry, job, index: index)
            case .wait(let entry): return try wait(entry, index: index, sleepFirst: false)
            case .done(let entry): return finishedFromJournal(entry)
            }
        } catch let stop as Stop {
            return stop.outcome
        } catch {
            return .failed(RunFailure(.journal, "\(error)"))
        }
    }

    // MARK: create

    private func create(_ job: RunJob, index: Int, replacing old: JournalEntry?) throws -> RunOutcome {
        guard let recording = job.recording, let request = job.request else {
            return .failed(RunFailure(.needsRecording, "nothing to send", runId: old?.runId))
        }
        if env.cancellation.isRequested { return .notStarted }
        let baseURL = old?.baseURL ?? job.baseURL
        let intent = UUID().uuidString.lowercased()
        var entry = JournalEntry(intent: intent, runId: nil, time: now(), baseURL: baseURL,
                                 file: Self.absolute(recording.path), bytes: recording.audio.bytes,
                                 sha256: recording.audio.sha256, userLabel: request.user.userLabel, state: .creating,
                                 requestDigest: Self.digest(request))
        entry.line = job.submission?.line
        entry.contentType = recording.contentType
        if var old {
            // Written before the new run costs anything: the old one is done with.
            old.time = now()
            if old.runId == nil { old.state = .createUnconfirmed }
            else {
                old.state = .abandoned
                env.uploads.delete(intent: old.intent)
            }
            old.replacedBy = intent
            try record(old)
        }
        // The intent: a trace of this attempt even if the process is killed mid-POST.
        try record(entry)
        if env.cancellation.isRequested {
            try record(entry.with(state: .abandoned, at: now()))
            return .notStarted
        }
        let cancellation = env.cancellation
        let created: CreateRunResponse
        do {
            created = try env.client(baseURL).createRun(request, abortTransfer: { cancellation.isUrgent },
                                                        abortWait: { cancellation.isRequested }, waitDeadline: waitDeadline())
        } catch {
            let nothingCreated = Self.certainlyNotCreated(error, urgent: cancellation.isUrgent)
            try record(entry.with(state: nothingCreated ? .abandoned : .createUnconfirmed, at: now()))
            if nothingCreated {
                if error == .aborted { return .notStarted }
                return .failed(RunFailure(.api(error), "creating a run for \(recording.path): \(error.message)", runId: old?.runId))
            }
            if error == .aborted { return .unconfirmedCreate(file: recording.path, failure: nil) }
            return .unconfirmedCreate(file: recording.path, failure: RunFailure(.api(error),
                "creating a run for \(recording.path): \(error.message); the request may have reached thymia, so a run may exist without its recording"))
        }
        guard RunID.isValid(created.id) else {
            try record(entry.with(state: .createUnconfirmed, at: now()))
            // Shown (printable ASCII only), never used: it is not an id helios can send on.
            let shown = Text.printableASCII(created.id.prefix(80))
            return .unconfirmedCreate(file: recording.path, failure: RunFailure(.api(.malformed("the run id is not a UUID")),
                "creating a run for \(recording.path): the API answered with a run id that is not a UUID ('\(shown)')"))
        }
        let runId = created.id.lowercased()
        guard let uploadURL = created.recordingUploadUrl, Self.usableUploadURL(uploadURL) else {
            // A paid run that cannot receive its recording: journaled by id (state created, no
            // URL kept), so `runs` shows it and a resume replaces it once the API still says CREATED.
            entry.runId = runId
            entry.state = .created
            entry.time = now()
            try record(entry)
            observe(index, .created(runId: runId, file: recording.path, userLabel: request.user.userLabel,
                                    bytes: recording.audio.bytes, replacing: old?.runId))
            let why = created.recordingUploadUrl == nil ? "no upload URL" : "an upload URL helios will not send to"
            return .failed(RunFailure(.api(.malformed("the create answer has \(why)")),
                "creating a run for \(recording.path): the API created run \(runId) but answered with \(why)", runId: runId))
        }
        let expires = min(env.now().timeIntervalSince1970 + env.uploadURLLifetime,
                          Self.expiryInURL(uploadURL) ?? .infinity)
        // The URL (which names the run) first, then the journal: a crash between the two still
        // leaves the run id on disk, and resume finds it.
        var urlProblem: String?
        do {
            try env.uploads.save(intent: intent, .init(runId: runId, url: uploadURL, expiresAt: expires))
        } catch {
            urlProblem = "\(error)"
        }
        entry.runId = runId
        entry.state = .created
        entry.time = now()
        entry.uploadURLExpiresAt = Text.iso8601UTC(Date(timeIntervalSince1970: expires))
        try record(entry)
        observe(index, .created(runId: runId, file: recording.path, userLabel: request.user.userLabel,
                                bytes: recording.audio.bytes, replacing: old?.runId))
        if let urlProblem { observe(index, .urlNotKept(runId: runId, reason: urlProblem)) }
        // A Ctrl-C during the POST: the run is journaled; stop before sending.
        if env.cancellation.isRequested { return .pending(runId: runId, uploaded: false, why: .interrupted) }
        return try upload(entry, to: uploadURL, job, index: index, mayRecreate: old == nil)
    }

    /// An upload URL helios sends a recording to: https (plain http only on loopback), no more
    /// than 8 KiB. Checked before the URL is kept, as anything else from the server is.
    static func usableUploadURL(_ url: String) -> Bool {
        url.utf8.count <= 8192 && (try? URLPolicy.check(url)) != nil
    }

    /// Refused, or never connected: no run exists. Anything else may have made one.
    static func certainlyNotCreated(_ error: APIError, urgent: Bool) -> Bool {
        switch error {
        case .missingKey, .auth, .refused, .notFound, .couldNotConnect, .tlsFailed: return true
        case .server(let status, _): return status == 429 || status == 503
        // One Ctrl-C ends only a wait between attempts, which follows an attempt that created nothing.
        case .aborted: return !urgent
        default: return false
        }
    }

    // MARK: upload

    private func upload(_ created: JournalEntry, to url: String, _ job: RunJob, index: Int, mayRecreate: Bool) throws -> RunOutcome {
        guard let recording = job.recording, let runId = created.runId else {
            return .failed(RunFailure(.needsRecording, "nothing to send", runId: created.runId))
        }
        try record(created.with(state: .uploading, at: now()))
        let sent = SentBytes()
        let observe = observe
        observe(index, .uploadStarted(file: recording.path, bytes: recording.audio.bytes))
        do {
            try env.client(created.baseURL).upload(
                path: recording.path, size: recording.audio.bytes, to: url, contentType: recording.contentType,
                sha256: created.sha256 ?? recording.audio.sha256, waitDeadline: waitDeadline(),
                progress: { progress in
                    sent.note(progress)
                    observe(index, .uploadProgress(progress))
                })
        } catch {
            observe(index, .uploadEnded)
            // A short body is discarded by storage; every byte sent may have been stored (a
            // refusal of the very attempt that sent them proves it was not, so it stays created).
            let refused: Bool = { if case .uploadExpired = error { true } else if case .storageRefused = error { true } else { false } }()
            let left: RunState = sent.deliveredBeforeLastAttempt || (sent.all && !refused) ? .uploadUnconfirmed : .created
            switch error {
            case .uploadConflict:
                break  // storage has it, or is taking it in: as good as a 2xx
            case .uploadExpired where mayRecreate && job.request != nil && !sent.deliveredBeforeLastAttempt:
                // Not when an earlier attempt delivered every byte: a retry refused as expired may
                // follow one that storage kept, and a fresh run would store the recording twice.
                observe(index, .abandoned(runId: runId, file: recording.path, reason: "its upload URL has expired"))
                return try create(job, index: index, replacing: created.with(state: .created, at: now()))
            case .aborted:
                try record(created.with(state: left, at: now()))
                return .pending(runId: runId, uploaded: false, why: .interrupted)
            default:
                try record(created.with(state: left, at: now()))
                return .failed(RunFailure(.api(error), "uploading \(recording.path) to run \(runId): \(error.message)", runId: runId))
            }
        }
        observe(index, .uploadEnded)
        let uploaded = created.with(state: .uploaded, at: now())
        try record(uploaded)
        env.uploads.delete(intent: created.intent)
        if env.noWait { return .uploaded(runId: runId) }
        return try wait(uploaded, index: index, sleepFirst: true)
    }

    // MARK: resume

    private func resume(_ entry: JournalEntry, _ job: RunJob, index: Int) throws -> RunOutcome {
        switch entry.state {
        case .finished:
            return finishedFromJournal(entry)
        case .planned, .abandoned:
            return try create(job, index: index, replacing: nil)
        case .creating, .createUnconfirmed:
            if let saved = env.uploads.load(intent: entry.intent) {
                var found = entry
                found.runId = saved.runId
                found.state = .created
                found.time = now()
                found.uploadURLExpiresAt = Text.iso8601UTC(Date(timeIntervalSince1970: saved.expiresAt))
                try record(found)
                observe(index, .recovered(runId: saved.runId, file: entry.file ?? "?"))
                return try resumeCreated(found, job, index: index)
            }
            guard job.recording != nil else {
                return .failed(RunFailure(.needsRecording, "an earlier create for \(entry.file ?? "a recording") was never confirmed"))
            }
            observe(index, .unconfirmedCreateSuperseded(file: job.recording?.path ?? entry.file ?? "?", since: entry.time))
            return try create(job, index: index, replacing: entry)
        case .created, .uploading, .uploadUnconfirmed:
            return try resumeCreated(entry, job, index: index)
        case .uploaded:
            if env.noWait, let runId = entry.runId { return .uploaded(runId: runId) }
            return try wait(entry, index: index, sleepFirst: false)
        }
    }

    /// The run exists and its recording may not have arrived: ask the API, then finish the
    /// upload to the same URL while it is valid, and only then consider a fresh run.
    private func resumeCreated(_ entry: JournalEntry, _ job: RunJob, index: Int) throws -> RunOutcome {
        guard let runId = entry.runId else { return .failed(RunFailure(.journal, "a journal entry without a run id")) }
        let run: ModelRun
        do {
            run = try env.client(entry.baseURL).getRun(runId)
        } catch {
            if error == .aborted { return .pending(runId: runId, uploaded: false, why: .interrupted) }
            return .failed(RunFailure(.api(error), "run \(runId): \(error.message)", runId: runId))
        }
        if run.status != APIStatus.created.rawValue {
            // The recording arrived: a Ctrl-C after storage had every byte, or a kill after the 2xx.
            var arrived = entry.with(state: run.isFinished ? .finished : .uploaded, at: now())
            arrived.apiStatus = run.status
            arrived.errorCode = run.errorCode
            if run.isFinished { arrived.run = LazyJSON(run.raw) }
            try record(arrived)
            env.uploads.delete(intent: entry.intent)
            observe(index, .status(runId: runId, APIStatus(run.status)))
            if run.isFinished { return .finished(run) }
            if env.noWait { return .uploaded(runId: runId) }
            return try wait(arrived, index: index, sleepFirst: true)
        }
        guard let recording = job.recording else {
            return .failed(RunFailure(.needsRecording, "run \(runId) never received its recording", runId: runId))
        }
        let saved = env.uploads.load(intent: entry.intent)
        if let saved, saved.runId == runId, saved.expiresAt - env.expiryMargin > env.now().timeIntervalSince1970 {
            observe(index, .resending(runId: runId, file: recording.path))
            return try upload(entry, to: saved.url, job, index: index, mayRecreate: true)
        }
        guard job.request != nil else {
            return .failed(RunFailure(.needsRecording, "run \(runId) never received its recording and its upload URL "
                + (saved == nil ? "was not kept" : "has expired"), runId: runId))
        }
        // Nothing can reach this run any more: its URL has expired (or was never kept).
        observe(index, .abandoned(runId: runId, file: recording.path,
                                  reason: saved == nil ? "its upload URL was not kept" : "its upload URL has expired"))
        return try create(job, index: index, replacing: entry)
    }

    // MARK: wait

    /// Polls one run every interval until it finishes, its timeout passes or a stop is requested.
    /// A failed poll that may pass (a malformed or foreign answer, a lost connection, a 503 whose
    /// Retry-After outlasts the deadline) is tried again at the next interval;
    /// `maxPollFailures` in a row end the wait. Nothing waits
    /// past the deadline: each poll's attempts and retry waits are cut to what is left of it.
    private func wait(_ start: JournalEntry, index: Int, sleepFirst: Bool) throws -> RunOutcome {
        guard let runId = start.runId else { return .failed(RunFailure(.journal, "a journal entry without a run id")) }
        var entry = start
        var sleep = sleepFirst
        let started = env.now()
        let deadline = env.timeout > 0 ? started.addingTimeInterval(env.timeout) : nil
        let cancellation = env.cancellation
        let client = env.client(entry.baseURL)
        var failures = 0
        while true {
            if sleep {
                var interval = env.pollInterval
                if let deadline {
                    // The last look comes at the deadline, even when it is sooner than one interval.
                    let left = deadline.timeIntervalSince(env.now())
                    if left <= 0.001 { return .pending(runId: runId, uploaded: true, why: .timedOut) }
                    interval = min(interval, left)
                }
                guard env.sleep(interval, { cancellation.isRequested }) else {
                    return .pending(runId: runId, uploaded: true, why: .interrupted)
                }
            }
            sleep = true
            let run: ModelRun
            do {
                // The look at the deadline gets a few seconds to answer; no retry wait or
                // trickling answer goes beyond them.
                run = try client.getRun(runId, deadline: deadline?.addingTimeInterval(Self.lastLookGrace))
            } catch {
                if error == .aborted { return .pending(runId: runId, uploaded: true, why: .interrupted) }
                if let deadline, env.now() >= deadline { return .pending(runId: runId, uploaded: true, why: .timedOut) }
                failures += 1
                guard Self.pollMayRecover(error), failures < Self.maxPollFailures else {
                    return .failed(RunFailure(.api(error), "run \(runId): \(error.message)", runId: runId))
                }
                observe(index, .pollFailed(runId: runId, reason: error.message))
                continue
            }
            failures = 0
            if run.status != entry.apiStatus || (run.isFinished && entry.state != .finished) {
                observe(index, .status(runId: runId, APIStatus(run.status)))
                entry.time = now()
                entry.apiStatus = run.status
                entry.errorCode = run.errorCode
                if run.isFinished {
                    entry.state = .finished
                    entry.run = LazyJSON(run.raw)
                } else if run.status != APIStatus.created.rawValue, entry.state != .uploaded {
                    entry.state = .uploaded
                    env.uploads.delete(intent: entry.intent)
                }
                try record(entry)
            }
            if run.isFinished { return .finished(run) }
        }
    }

    /// `--timeout` bounds every wait, not only the polls: no Retry-After or backoff before a
    /// create or an upload lasts longer (the transfers keep their own limits).
    private func waitDeadline() -> Date? {
        env.timeout > 0 ? env.now().addingTimeInterval(env.timeout) : nil
    }

    /// How long past the deadline the last poll may take to answer.
    static let lastLookGrace = 5.0

    /// Polls failing in a row before the wait gives up (exit 6; the run can be polled later).
    static let maxPollFailures = 5

    /// A bad answer, or a failure whose retries were cut short by the deadline, may pass by the
    /// next poll. A server that kept failing through every retry, a refused key or an unknown
    /// run will not: the wait ends at once (the run can be polled later).
    static func pollMayRecover(_ error: APIError) -> Bool {
        switch error {
        case .server(_, let attempts): return attempts <= 1
        case .network, .couldNotConnect, .timedOut, .malformed: return true
        default: return false
        }
    }

    private func finishedFromJournal(_ entry: JournalEntry) -> RunOutcome {
        if let raw = entry.run?.value, let run = try? ModelRun(json: raw) { return .finished(run) }
        // Uploaded before and not seen finishing (`upload` does not wait).
        return .uploaded(runId: entry.runId ?? "")
    }

    // MARK: the journal

    private func record(_ entry: JournalEntry) throws {
        do {
            try env.journal.append(entry)
        } catch {
            let what = entry.runId.map { "run \($0) is \(entry.status)" } ?? "the create for \(entry.file ?? "a recording") is \(entry.status)"
            throw Stop(outcome: .failed(RunFailure(.journal, "cannot write the journal \(env.journal.path) (\(error.reason)); \(what)",
                                                   runId: entry.runId)))
        }
    }

    private func now() -> String { Text.iso8601UTC(env.now()) }

    // MARK: helpers

    static func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    }

    /// Digest of the create request without its label, so a resumed batch recognises the same
    /// recording with the same user fields even when the label was a random default.
    public static func digest(_ request: CreateRunRequest) -> String {
        var copy = request
        copy.user.userLabel = ""
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return SHA256.hexDigest(of: (try? encoder.encode(copy)) ?? Data())
    }

    /// An `expires=EPOCH` in the URL (our emulator's form); otherwise the documented hour applies.
    static func expiryInURL(_ url: String) -> Double? {
        guard let query = url.split(separator: "?", maxSplits: 1).dropFirst().first else { return nil }
        var fields: [String: String] = [:]
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { fields[String(parts[0]).lowercased()] = String(parts[1]) }
        }
        if let epoch = fields["expires"].flatMap(Double.init), epoch.isFinite, epoch > 0 { return epoch }
        return nil
    }
}

/// What the transport reported of a body's progress, across the retries of one upload.
private final class SentBytes: Sendable {
    private struct Counts {
        var current: Int64 = 0
        var total: Int64 = -1
        var earlierAttemptDeliveredAll = false
    }
    private let counts = Mutex(Counts())

    func note(_ p: UploadProgress) {
        counts.withLock { c in
            // A retry starts again from the beginning: remember whether the attempt before it
            // had handed over every byte (storage may have kept them; only the answer was lost).
            if p.sent < c.current, c.total >= 0, c.current >= c.total { c.earlierAttemptDeliveredAll = true }
            c.current = p.sent
            c.total = p.total
        }
    }

    /// Every byte went out in some attempt: the recording may be stored.
    var all: Bool { counts.withLock { $0.earlierAttemptDeliveredAll || ($0.total >= 0 && $0.current >= $0.total) } }
    /// An attempt before the last delivered every byte, so the last one's refusal proves nothing.
    var deliveredBeforeLastAttempt: Bool { counts.withLock { $0.earlierAttemptDeliveredAll } }
}

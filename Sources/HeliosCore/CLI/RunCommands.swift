import FoundationEssentials
import Glibc
import Synchronization

/// `submit`, `upload`, `poll`, `status` and `runs`: the networked commands and the journal. The
/// lifecycle of each run lives in `RunLifecycle`; this layer checks, plans, renders and exits.
struct RunCommands {
    let session: Session

    private var global: GlobalOptions { session.global }

    /// How a sending command treats what the journal already knows of a recording.
    enum JournalMode {
        /// A plain submit: always a fresh run, but refuse a recording with an unfinished one.
        case fresh
        /// A manifest, or `--resume`: finished recordings are printed again, unfinished ones carried on.
        case resume
        /// `--force`: a fresh run for every recording, whatever the journal says.
        case force
    }

    // MARK: submit / upload

    func submit(_ o: SubmitOptions) throws -> ExitCode {
        try send(o.run, wait: o.wait, noWait: o.noWait, mode: Self.mode(o.run, resume: o.resume))
    }

    func upload(_ o: UploadOptions) throws -> ExitCode {
        if let url = o.url { return try uploadToURL(url, o.run) }
        return try send(o.run, wait: WaitOptions(), noWait: true, mode: Self.mode(o.run, resume: o.run.resume))
    }

    static func mode(_ o: RunOptions, resume: Bool) -> JournalMode {
        if o.force { return .force }
        return resume || o.manifest != nil ? .resume : .fresh
    }

    /// Everything that can refuse without reading a recording comes first (endpoint, key,
    /// journal, manifest, locks), then the local check of every recording, then the plan
    /// against the journal; only then is the first run created.
    private func send(_ o: RunOptions, wait: WaitOptions, noWait: Bool, mode: JournalMode) throws -> ExitCode {
        let baseURL = try session.baseURL()
        // A dry run sends nothing, so it needs no key (a CI job can check a study offline).
        let apiKey = o.dryRun ? "" : try session.apiKey()
        try session.checkJournalWritable()
        defer { session.locks.releaseAll() }
        RunLocks.raiseOpenFileLimit()
        if let manifest = o.manifest {
            try lock(key: "manifest:" + Self.realPath(manifest), what: "manifest \(manifest)")
        }
        var (submissions, skipped) = try submissions(o)
        try refuseDuplicates(submissions.map(\.file), what: { "'\($0)' is given twice" })
        var recordings: [PreparedRecording]
        do {
            let checked = try prepare(submissions.map(\.file), contentType: o.contentType, skipValidation: o.skipValidation,
                                      skipInvalid: o.skipInvalid, lines: submissions.map(\.line))
            recordings = checked.prepared
            if !checked.rejected.isEmpty {
                submissions = submissions.filter { !checked.rejected.contains($0.file) }
                skipped += checked.rejected.count
            }
            try session.checkCancelled("during the local check; nothing was sent")
        } catch var failure as CLIFailure where failure.exitCode == .interrupted {
            failure.resume = resumeCommand(manifest: o.manifest != nil)
            throw failure
        }
        guard !submissions.isEmpty else {
            throw CLIFailure(.recordingRejected, "no valid recording to send: all \(skipped) were skipped", hints: ["nothing was sent"])
        }

        // Every recording's lock first, then the journal: what it says is then ours alone.
        var identities = Set<String>()
        var locked = Set<String>()
        var requests: [(request: CreateRunRequest, digest: String)] = []
        for (submission, recording) in zip(submissions, recordings) {
            let request = CreateRunRequest(person: submission.person, userLabel: submission.person.userLabel ?? UUID().uuidString.lowercased(),
                                           deletion: o.deletion)
            let digest = RunLifecycle.digest(request)
            // The journal's identity of a recording: its bytes, the user fields and the endpoint.
            let identity = Self.identity(sha256: recording.audio.sha256, digest: digest, baseURL: baseURL)
            guard identities.insert(identity + " " + (submission.person.userLabel ?? "")).inserted else {
                throw CLIFailure(.usage, "\(submission.file) is the same recording for the same person as an earlier one; it would be paid for twice",
                                 hints: ["nothing was sent"])
            }
            if locked.insert(identity).inserted {
                try lock(key: "recording:" + identity, what: recording.path)
            }
            requests.append((request, digest))
        }

        let known = mode == .force ? [] : try session.journal.latest(warn: { session.warn($0) })
        var jobs: [RunJob] = []
        var unfinished: [String] = []
        var reused = 0, retried = 0
        for ((submission, recording), (original, digest)) in zip(zip(submissions, recordings), requests) {
            var request = original
            var job = RunJob(submission: submission, recording: recording, request: request, baseURL: baseURL, start: .create)
            let previous = known.last {
                $0.sha256 == recording.audio.sha256 && $0.requestDigest == digest && $0.baseURL == baseURL
                    && $0.replacedBy == nil && $0.state != .abandoned
                    && (submission.person.userLabel == nil || $0.userLabel == submission.person.userLabel)
            }
            if let previous {
                switch mode {
                case .force:
                    break
                case .fresh:
                    if previous.isPending {
                        unfinished.append("\(recording.path): " + (previous.runId.map { "run \($0) is \(previous.status)" } ?? "a create is \(previous.status)"))
                    }
                case .resume:
                    // The same person again: keep the label the first attempt was given.
                    if let label = previous.userLabel { request.user.userLabel = label }
                    job.request = request
                    if o.retryFailed, previous.state == .finished, let code = previous.errorCode, Self.retryableErrors.contains(code) {
                        // thymia's action for this code is "create a new run": a fresh, paid run.
                        retried += 1
                    } else {
                        job.start = previous.state == .finished ? .done(previous) : .resume(previous)
                        reused += 1
                    }
                }
            }
            jobs.append(job)
        }
        if !unfinished.isEmpty {
            throw CLIFailure(.usage, "\(unfinished.count == 1 ? "a recording has" : "\(unfinished.count) recordings have") an unfinished run in the journal: "
                             + unfinished.joined(separator: "; "),
                             hints: ["carry it on with --resume (no second run), or send afresh with --force (a second paid run)", "nothing was sent"])
        }
        if reused > 0 {
            session.note("\(reused) of \(jobs.count) recording\(jobs.count == 1 ? "" : "s") found in the journal: finished ones are printed again, unfinished ones carried on (--force sends afresh)")
        }
        if retried > 0 {
            session.note("\(retried) recording\(retried == 1 ? "" : "s") ended with a retryable error (\(Self.retryableErrors.sorted().joined(separator: ", "))): new runs (--retry-failed)")
        }
        if o.dryRun { return dryRun(jobs, skipped: skipped) }
        let client = clients(apiKey: apiKey)
        // Finished before this command: the progress counts them as done from the start.
        let alreadyDone = Set(jobs.indices.filter { if case .done = jobs[$0].start { true } else { false } })
        let runner = BatchRunner(session: session, client: client, wait: wait, noWait: noWait, concurrency: o.concurrency, jobs: jobs.count,
                                 alreadyDone: alreadyDone)
        let code = finish(runner.run(jobs), runner: runner, timeout: wait.timeout, resumeHint: resumeCommand(manifest: o.manifest != nil))
        if skipped > 0 {
            session.note("\(skipped) row\(skipped == 1 ? "" : "s") skipped as invalid (--skip-invalid); see above")
            if code == .success { return .runFailed }
        }
        return code
    }

    /// The error codes whose documented action is "create a new run" and that a new run of the
    /// same recording can cure (`--retry-failed`): not the recording's own faults.
    static let retryableErrors: Set<String> = ["ERR_INTERNAL"]

    /// `--dry-run`: what each recording would get, and what it would cost; nothing is sent and
    /// nothing is journaled. Exit 0, or 1 when rows were skipped (`--skip-invalid`).
    private func dryRun(_ jobs: [RunJob], skipped: Int) -> ExitCode {
        var creates = 0, resumes = 0, finished = 0
        if global.format == .csv { session.console.result(ResultRenderer.csvLine(["action", "file", "manifestLine", "userLabel", "runId"])) }
        for job in jobs {
            let action: String
            var runId: String?
            switch job.start {
            case .create: action = "create"; creates += 1
            case .resume(let e), .wait(let e): action = "resume"; runId = e.runId; resumes += 1
            case .done(let e): action = "done"; runId = e.runId; finished += 1
            }
            // A new run without a label of its own gets a fresh one only when it is really created.
            let label = action == "create" ? job.submission?.person.userLabel : job.request?.user.userLabel
            let plan = DryRunPlan(file: job.recording?.path ?? job.submission?.file ?? "", manifestLine: job.submission?.line,
                                  userLabel: label, action: action, runId: runId)
            switch global.format {
            case .json: session.console.result(JSONLine.encode(plan))
            case .csv:
                session.console.result(ResultRenderer.csvLine([action, plan.file, plan.manifestLine.map(String.init), plan.userLabel, runId]))
            case .text:
                let what = action == "create" ? "would create a run" : action == "resume" ? "would carry on run \(runId ?? "?")" : "finished: run \(runId ?? "?") (printed again)"
                session.console.result(Text.terminalSafe(plan.file) + ": " + what + (plan.userLabel.map { " (user label \(Text.terminalSafe($0)))" } ?? "") + "\n")
            }
        }
        session.note("dry run: \(creates) new run\(creates == 1 ? "" : "s") would be created (\(creates) paid), \(resumes) carried on, \(finished) already finished"
                     + (skipped > 0 ? "; \(skipped) skipped as invalid" : "") + "; nothing was sent")
        return skipped > 0 ? .runFailed : .success
    }

    /// One API client per base URL: a journaled run is always asked about at its own host.
    private func clients(apiKey: String) -> @Sendable (String) -> APIClient {
        let session = session
        let cache = ClientCache()
        return { baseURL in cache.client(baseURL) { session.client(baseURL: baseURL, apiKey: apiKey) } }
    }

    static func identity(sha256: String?, digest: String, baseURL: String) -> String {
        (sha256 ?? "") + " " + digest + " " + baseURL
    }

    private func lock(key: String, what: String) throws {
        do {
            try session.locks.acquire(key: key, what: what)
        } catch {
            switch error {
            case .held(let what, let pid):
                throw CLIFailure(.usage, "another helios\(pid.map { " (pid \($0))" } ?? "") is already working on \(what); wait for it to finish or stop it",
                                 hints: ["nothing was sent"])
            case .cannotLock(let path, let reason):
                throw CLIFailure(.usage, "cannot lock \(path): \(reason); set HELIOS_STATE_DIR to a writable directory", hints: ["nothing was sent"])
            }
        }
    }

    private func refuseDuplicates(_ files: [String], what: (String) -> String) throws {
        var seen = Set<String>()
        for file in files where !seen.insert(Self.realPath(file)).inserted {
            throw CLIFailure(.usage, what(file) + "; each recording is sent once", hints: ["nothing was sent"])
        }
    }

    static func realPath(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return RunLifecycle.absolute(path) }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The files and user fields to send: the manifest's rows, or the command line's files; and
    /// how many bad rows `--skip-invalid` left out (each reported).
    private func submissions(_ o: RunOptions) throws -> ([Submission], skipped: Int) {
        if let manifest = o.manifest {
            let rows: [ManifestRow]
            var skipped = 0
            do {
                if o.skipInvalid {
                    let all = try Manifest.loadAll(path: manifest, defaults: o, today: session.context.today)
                    rows = all.rows
                    for error in all.invalid {
                        session.console.skipped(error.report)
                    }
                    skipped = all.invalid.count
                } else {
                    rows = try Manifest.load(path: manifest, defaults: o, today: session.context.today)
                }
            } catch {
                throw CLIFailure(.usage, error.description, hints: ["nothing was sent"])
            }
            return (rows.map { Submission(file: $0.file, line: $0.line, person: $0.person) }, skipped)
        }
        guard let dob = o.dateOfBirth, let sex = o.birthSex else {
            throw CLIFailure(.usage, "'--dob' and '--sex' are needed")
        }
        let person = Person(userLabel: o.userLabel, dateOfBirth: dob, birthSex: sex, language: o.language, accent: o.accent,
                            sleepTime: o.sleepTime, wakeTime: o.wakeTime, recordingTime: o.recordingTime, tags: o.tags)
        return (o.files.map { Submission(file: $0, person: person) }, 0)
    }

    /// The run was created elsewhere, so the local check cannot save it; what it can still do is
    /// keep a rejected recording from being stored. The quick header pass must pass before a byte
    /// is sent; the speech pass then runs beside the upload, and the upload's last bytes wait for
    /// its verdict (`UploadHold`): a rejected recording is cut off short of its length, which
    /// storage discards, and a good one costs no more time than the upload itself.
    private func uploadToURL(_ url: String, _ run: RunOptions) throws -> ExitCode {
        do {
            _ = try URLPolicy.check(url)
        } catch {
            throw CLIFailure(.usage, "invalid value '\(Redaction.url(url))' for '--url': \(error.description)")
        }
        let file = run.files[0]
        let check = RecordingValidator.stage(path: file)
        // No run of ours to journal, so no digest: hashing would only slow the upload down.
        guard check.header.ok else {
            // Rejected already, or unreadable: the full report, then refuse, or go on under --skip-validation.
            let recording = try prepared([check.finish()], contentType: run.contentType, skipValidation: run.skipValidation, digest: false)[0]
            return try sendToURL(url, recording, speechPass: nil, skipValidation: run.skipValidation)
        }
        let recording = try prepared([check.header], contentType: run.contentType, skipValidation: false, digest: false)[0]
        return try sendToURL(url, recording, speechPass: check, skipValidation: run.skipValidation)
    }

    /// Uploads while `speechPass` (when given) finishes the check on a second thread.
    private func sendToURL(_ url: String, _ recording: PreparedRecording, speechPass check: RecordingValidator.Staged?,
                           skipValidation: Bool) throws -> ExitCode {
        let client = session.client(baseURL: "https://unused.invalid", apiKey: "")
        let progress = BatchProgress(console: session.console, isTerminal: session.context.stderrIsTerminal, total: 1)
        progress.uploadStarted(0, name: Text.lastPathComponent(recording.path), bytes: recording.audio.bytes)
        progress.start()
        defer { progress.stop() }

        let hold = check.map { _ in UploadHold() }
        let full = ReportSlot()
        let pass = check.map { check in
            Worker {
                let report = check.finish()
                full.report = report
                hold?.decide(send: report.ok || skipValidation)
            }
        }
        var uploadError: APIError?
        do {
            try client.upload(path: recording.path, size: recording.audio.bytes, to: url, contentType: recording.contentType,
                              hold: hold, progress: { progress.uploadProgress(0, $0) })
        } catch {
            uploadError = error
        }
        pass?.join()  // after this, `full.report` is the speech pass's (the join orders the memory)
        if uploadError == .aborted {
            throw CLIFailure(.interrupted, "interrupted: the upload of \(recording.path) was stopped before its end, so it was not stored")
        }

        var report = recording.report
        if let complete = full.report {
            // `finish()` extends the header's warnings, which were printed before the upload.
            for w in complete.warnings.dropFirst(report.warnings.count) {
                session.console.warn(w.message, file: recording.path, code: w.code)
            }
            if !complete.ok {
                let problems = ValidationFinding.summary(complete.problems)
                if !skipValidation {
                    throw CLIFailure(.recordingRejected, "\(recording.path): \(problems)",
                                     hints: [(uploadError == .withheld ? "the upload was stopped short of its last bytes, so the recording was not stored"
                                              : "the recording was not stored") + "; 'helios validate FILE' shows the full check"])
                }
                session.console.warn("\(recording.path): sent despite the local check (--skip-validation): \(problems)")
            }
            report = complete
        }
        if let uploadError {
            throw CLIFailure(uploadError.exitCode, "uploading \(recording.path): \(uploadError.message)")
        }
        progress.ended(0)
        session.console.note("uploaded \(recording.path) (\(BatchProgress.size(recording.audio.bytes)))")
        session.console.reports.record(.init(file: recording.path, outcome: .uploaded))
        if global.format != .text {
            var audio = recording.audio
            audio.speechSeconds = report.audio?.speechSeconds
            session.console.emit(RunResult(file: recording.path, runId: nil, status: "UPLOADED", userLabel: nil,
                                           audio: audio, localWarnings: report.warnings))
        }
        return .success
    }

    /// Every file is checked before anything is sent; any rejection stops the command (exit 3)
    /// unless --skip-validation, which still reports it. Ctrl-C stops between files.
    /// The local check of every file. Rejected recordings end the command (exit 3), or under
    /// `skipInvalid` are reported, left out and named in `rejected`.
    func prepare(_ files: [String], contentType: String?, skipValidation: Bool, skipInvalid: Bool = false, lines: [Int?] = [],
                 digest: Bool = true) throws -> (prepared: [PreparedRecording], rejected: Set<String>) {
        var reports: [ValidationReport] = []
        var rejected = Set<String>()
        for (index, file) in files.enumerated() {
            try session.checkCancelled("during the local check; nothing was sent")
            let staged = RecordingValidator.stage(path: file)
            // A length the header already rejects needs no speech pass (an hour-long file would
            // take seconds to decode, and Ctrl-C waits for it); `finish()` skips it then.
            var report = staged.finish()
            if skipInvalid, !report.ok, !skipValidation || Self.unreadable(report) {
                report.manifestLine = index < lines.count ? lines[index] : nil
                session.console.skipped(report)
                rejected.insert(file)
                continue
            }
            reports.append(report)
        }
        return (try prepared(reports, contentType: contentType, skipValidation: skipValidation, digest: digest), rejected)
    }

    static func unreadable(_ report: ValidationReport) -> Bool {
        report.problems.contains { ["NOT_FOUND", "NOT_A_FILE", "NOT_READABLE", "EMPTY"].contains($0.code) }
    }

    /// The recordings the reports let through, with their hashes and MIME types; the rejected
    /// ones are printed and end the command (exit 3).
    private func prepared(_ reports: [ValidationReport], contentType: String?, skipValidation: Bool,
                          digest: Bool) throws -> [PreparedRecording] {
        var prepared: [PreparedRecording] = []
        var rejected: [ValidationReport] = []
        for report in reports {
            let file = report.file
            for w in report.warnings { session.warn(w.message, file: file, code: w.code) }
            if !report.ok {
                if !skipValidation || Self.unreadable(report) {
                    rejected.append(report)
                    continue
                }
                session.warn("\(file): sending despite the local check (--skip-validation): " +
                             ValidationFinding.summary(report.problems))
            }
            var audio = report.audio ?? AudioInfo(format: nil, bytes: 0)
            do {
                try session.checkCancelled("during the local check; nothing was sent")
                if digest { audio.sha256 = try SHA256.hexDigest(ofFileAt: file) }
            } catch let failure as CLIFailure {
                throw failure
            } catch {
                rejected.append(ValidationReport(file: file, audio: nil, problems: [ValidationFinding(code: "NOT_READABLE", message: "cannot read the file")], warnings: []))
                continue
            }
            if let st = PosixFile.status(atPath: file) { audio.bytes = Int64(st.st_size) }
            let type = contentType ?? audio.format?.mimeType ?? "application/octet-stream"
            prepared.append(PreparedRecording(path: file, report: report, audio: audio, contentType: type))
        }
        guard rejected.isEmpty else {
            for report in rejected {
                session.console.reports.record(.init(file: report.file, outcome: .failed, errorCode: report.problems.first?.code,
                                                     message: ValidationFinding.summary(report.problems)))
            }
            for report in rejected.dropLast() { session.console.rejected(report) }
            let last = rejected[rejected.count - 1]
            let more = rejected.count > 1 ? " (and \(rejected.count - 1) more above)" : ""
            throw CLIFailure(.recordingRejected,
                             "\(last.file): " + ValidationFinding.summary(last.problems) + more,
                             hints: ["nothing was sent; 'helios validate FILE' shows the full check"])
        }
        return prepared
    }

    // MARK: poll / status

    /// Waits for each run at its own host. A journaled run whose recording has not arrived is
    /// sent to its own upload URL first (the journal knows the file and its digest), so
    /// `poll --pending` carries on everything `runs --pending` lists.
    func poll(_ o: PollOptions) throws -> ExitCode {
        let baseURL = try session.baseURL()
        let apiKey = try session.apiKey()
        try session.checkJournalWritable()
        defer { session.locks.releaseAll() }
        var known = try session.journal.latest(warn: { session.warn($0) })
        let ids = try runIds(o.ids, fromStdin: o.idsFromStdin)
        var targets: [JournalEntry] = []
        if o.pending {
            for entry in known where entry.isPending {
                // A create whose answer the journal never got, unless its kept URL names the run.
                guard entry.runId != nil || session.uploads.load(intent: entry.intent) != nil else {
                    session.warn("the create for \(entry.file ?? "a recording") at \(entry.time) was never confirmed: a run may exist that helios cannot name")
                    continue
                }
                targets.append(entry)
            }
        }
        for id in ids {
            targets.append(known.last { $0.runId == id } ?? JournalEntry(runId: id, baseURL: baseURL, state: .uploaded))
        }
        var seen = Set<String>()
        targets = targets.filter { seen.insert($0.key).inserted }
        if targets.isEmpty {
            session.note("no pending runs in the journal")
            return .success
        }
        // Sending a recording to its run's URL is the same work a `submit --resume` does: take
        // the recording's lock, then read the journal again, so two processes never both send.
        var sends = false
        for entry in targets where Self.mayNeedUpload(entry) {
            if let digest = entry.requestDigest {
                try lock(key: "recording:" + Self.identity(sha256: entry.sha256, digest: digest, baseURL: entry.baseURL),
                         what: entry.file ?? entry.runId ?? "a recording")
            }
            sends = true
        }
        if sends {
            known = try session.journal.latest(warn: { session.warn($0) })
            let current = Dictionary(known.map { ($0.key, $0) }, uniquingKeysWith: { _, last in last })
            targets = targets.map { current[$0.key] ?? $0 }
        }
        var jobs: [RunJob] = []
        for entry in targets {
            try checkJournaledHost(entry)
            if Self.mayNeedUpload(entry) {
                jobs.append(RunJob(recording: Self.journaledRecording(entry), baseURL: entry.baseURL, start: .resume(entry)))
            } else {
                jobs.append(RunJob(baseURL: entry.baseURL, start: .wait(entry)))
            }
        }
        let runner = BatchRunner(session: session, client: clients(apiKey: apiKey), wait: o.wait, noWait: false,
                                 concurrency: 16, jobs: jobs.count)
        return finish(runner.run(jobs), runner: runner, timeout: o.wait.timeout, resumeHint: nil)
    }

    /// A run whose recording may not have arrived (or a create whose kept URL names its run).
    static func mayNeedUpload(_ entry: JournalEntry) -> Bool {
        entry.state.mayStillReceiveUpload || entry.runId == nil
    }

    /// The journal is a file anyone could edit: its base URLs pass the same rule as the user's.
    private func checkJournaledHost(_ entry: JournalEntry) throws {
        do {
            _ = try URLPolicy.check(entry.baseURL)
        } catch {
            throw CLIFailure(.usage, "run \(entry.runId ?? "?") is journaled with an unusable base URL '\(Redaction.url(entry.baseURL))': \(error.description)")
        }
    }

    /// What the journal knows of a run's recording, for sending it to the run's own URL. The
    /// digest guards it: a file that changed since it was checked is never stored.
    static func journaledRecording(_ entry: JournalEntry) -> PreparedRecording? {
        guard let file = entry.file, let bytes = entry.bytes, let sha256 = entry.sha256 else { return nil }
        let audio = AudioInfo(format: nil, bytes: bytes, sha256: sha256)
        return PreparedRecording(path: file, report: ValidationReport(file: file, audio: audio, problems: [], warnings: []),
                                 audio: audio, contentType: entry.contentType ?? "application/octet-stream")
    }

    /// One look at each run, at its own host; what it says goes into the journal.
    func status(_ o: StatusOptions) throws -> ExitCode {
        let baseURL = try session.baseURL()
        let apiKey = try session.apiKey()
        let known = try session.journal.latest(warn: { session.warn($0) })
        var ids = try runIds(o.ids, fromStdin: o.idsFromStdin)
        if o.pending { ids += known.filter(\.isPending).compactMap(\.runId) }
        let client = clients(apiKey: apiKey)
        var worst = ExitCode.success
        var seen = Set<String>()
        session.console.emitHeader(.run)
        for id in ids where seen.insert(id).inserted {
            try session.checkCancelled("before every run's status was shown")
            let entry = known.last { $0.runId == id }
            if let entry { try checkJournaledHost(entry) }
            do {
                let run = try client(entry?.baseURL ?? baseURL).getRun(id)
                session.console.emit(RunResult(file: nil, runId: id, status: run.status, userLabel: nil, audio: nil, run: run,
                                               manifestLine: entry?.line))
                let finished = run.status == APIStatus.completeOK.rawValue || run.status == APIStatus.completeError.rawValue
                session.console.reports.record(finished ? CIReports.item(.finished(run), file: entry?.file, manifestLine: entry?.line)
                                               : .init(file: entry?.file, manifestLine: entry?.line, runId: id, outcome: .pending, message: run.status))
                if run.status == APIStatus.completeError.rawValue { worst = max(worst, .runFailed) }
                journalStatus(run, entry: entry, baseURL: baseURL)
            } catch {
                if error == .aborted { throw CLIFailure(.interrupted, "interrupted", runId: id) }
                session.console.fail(CLIFailure(error.exitCode, "run \(id): \(error.message)", runId: id))
                session.console.reports.record(.init(file: entry?.file, manifestLine: entry?.line, runId: id, outcome: .failed,
                                                     errorCode: error.exitCode.kind, message: error.message))
                worst = max(worst, error.exitCode)
            }
        }
        return worst
    }

    /// Records what `status` saw, so `runs` agrees with it.
    private func journalStatus(_ run: ModelRun, entry: JournalEntry?, baseURL: String) {
        var updated = entry ?? JournalEntry(runId: run.id, baseURL: baseURL, userLabel: run.userLabel, state: .uploaded)
        // CREATED tells nothing new about a run of ours (the API may lag behind storage), and
        // writing from this copy could only move a newer state backwards.
        if entry != nil, run.status == APIStatus.created.rawValue { return }
        guard entry == nil || updated.apiStatus != run.status || (run.isFinished && updated.state != .finished) else { return }
        session.uploads.delete(intent: entry?.intent)
        updated.time = JournalEntry.now()
        updated.apiStatus = run.status
        updated.errorCode = run.errorCode
        if run.isFinished {
            updated.state = .finished
            updated.run = LazyJSON(run.raw)
        } else if run.status != APIStatus.created.rawValue {
            updated.state = .uploaded
        }
        do {
            try session.journal.append(updated)
        } catch {
            session.warn("cannot write the journal \(session.journal.path): \(error.reason)")
        }
    }

    /// Ids from arguments, then stdin (one per line; a JSON result line gives its `runId`).
    private func runIds(_ given: [String], fromStdin: Bool) throws -> [String] {
        var ids = given
        if fromStdin {
            // Reading a terminal would wait, silently, for ids typed by hand (and Ctrl-D).
            guard !session.context.stdinIsTerminal else {
                throw CLIFailure(.usage, "'-' reads run ids from standard input, which is a terminal; pipe them in (helios upload ... | helios poll -) or give the ids as arguments")
            }
            let text = session.context.readStdin() ?? ""
            for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let line = Text.trimmed(raw)
                if line.isEmpty { continue }
                var candidate = line
                if line.hasPrefix("{"), let json = try? JSONDecoder().decode(JSONValue.self, from: Data(line.utf8)),
                   let id = json["runId"]?.stringValue {
                    candidate = id
                }
                guard RunID.isValid(candidate) else {
                    throw CLIFailure(.usage, "line \(n + 1) of standard input is not a run id: '\(candidate.prefix(60))'")
                }
                ids.append(candidate.lowercased())
            }
            if ids.isEmpty { throw CLIFailure(.usage, "no run ids on standard input") }
        }
        return ids
    }

    // MARK: runs

    func runs(_ o: RunsOptions) throws -> ExitCode {
        if o.compact {
            do {
                let (before, after, kept) = try session.journal.compact()
                session.note("compacted \(session.journal.path): \(BatchProgress.size(before)) -> \(BatchProgress.size(after)), \(kept) run\(kept == 1 ? "" : "s") kept (each run's latest state)")
            } catch {
                throw CLIFailure(.runFailed, "cannot compact the journal \(session.journal.path): \(error.reason); it is unchanged")
            }
        }
        let since: String?
        switch o.since {
        case .at(let time)?: since = time
        case .ago(let seconds)?: since = Text.iso8601UTC(session.context.now().addingTimeInterval(-seconds))
        case nil: since = nil
        }
        let pending = o.pending, user = o.user, status = o.status
        let matches: @Sendable (JournalEntry) -> Bool = { e in
            if pending, !e.isPending { return false }
            if let user, e.userLabel != user { return false }
            if let status, e.status.uppercased() != status { return false }
            if let since, e.time < since { return false }
            return true
        }
        // The journal is streamed (memory holds a key per run, not the file); JSON and CSV print
        // a batch of runs at a time, the text table keeps only its cells to size the columns.
        var rows: [TableRow] = []
        var matched = 0, unconfirmed = false
        let warn: (String) -> Void = { session.warn($0) }
        if global.format == .text {
            // The cells are made with the decoding, on two threads.
            try session.journal.forEachLatest(warn: warn, transform: { e in matches(e) ? TableRow(e) : nil }) { row in
                matched += 1
                unconfirmed = unconfirmed || row.unconfirmed
                rows.append(row)
            }
        } else {
            session.console.emitHeader(.journal)
            // Each line rendered with the decoding, on two threads (JSON encoding was most of
            // `runs --json`'s time), a batch of runs at a time.
            let renderer = session.console.renderer
            try session.journal.forEachLatest(warn: warn, transform: { e in
                matches(e) ? (line: renderer.journal(e), unconfirmed: e.isUnconfirmedCreate) : nil
            }) { row in
                matched += 1
                if row.unconfirmed { unconfirmed = true }
                session.console.emitJournalLine(row.line)
            }
        }
        guard matched > 0 else {
            let filtered = o.user != nil || o.status != nil || o.since != nil || o.pending
            session.note(filtered ? "no runs match" : "no runs yet in \(session.journal.path)")
            return .success
        }
        if global.format == .text { session.console.result(TableRow.table(rows)) }
        if unconfirmed {
            session.note("CREATE_UNCONFIRMED/CREATING: a create whose answer never came; a run may exist that helios cannot name (thymia cannot list runs)")
        }
        return .success
    }

    /// A run's row in the `runs` table: its cells, their widths in characters, and whether it
    /// is a create whose answer never came.
    struct TableRow: Sendable {
        static let header = ["RUN", "TIME", "FILE", "LABEL", "STATUS", "STRAIN", "DISTRESS", "STRESS", "EXHAUST", "SLEEP", "SELF-EST"]
        /// The scores shown: the six headline ones, first in `Scores.order` (all eleven in --format csv/json).
        static let scores = 0..<6

        let cells: [String]
        let widths: [Int]
        let unconfirmed: Bool

        init(cells: [String], unconfirmed: Bool = false) {
            self.cells = cells
            widths = cells.map(\.count)
            self.unconfirmed = unconfirmed
        }

        init(_ e: JournalEntry) {
            let scores = e.scores
            // The journal is a file anyone with access could have edited.
            self.init(cells: ([e.runId ?? "(no run id yet)", e.time, e.file.map(Text.lastPathComponent) ?? "-", e.userLabel ?? "-", e.status]
                + Self.scores.map { scores?[position: $0].map { Formatting.fixed($0, 2) } ?? "-" }).map(Text.terminalSafe),
                unconfirmed: e.isUnconfirmedCreate)
        }

        /// The header and the rows, columns padded to their widest cell, as one string: 100,000
        /// rows are one write, not 100,000 locked writes.
        static func table(_ rows: [TableRow]) -> String {
            let header = TableRow(cells: Self.header)
            var widths = header.widths
            for row in rows { for i in widths.indices { widths[i] = max(widths[i], row.widths[i]) } }
            var bytes: [UInt8] = []
            bytes.reserveCapacity((rows.count + 1) * (widths.reduce(0, +) + 2 * widths.count))
            func append(_ row: TableRow) {
                for (i, cell) in row.cells.enumerated() {
                    bytes.append(contentsOf: cell.utf8)
                    if i == row.cells.count - 1 { bytes.append(0x0A) } else { bytes.append(contentsOf: repeatElement(0x20, count: widths[i] - row.widths[i] + 2)) }
                }
            }
            append(header)
            rows.forEach(append)
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    // MARK: the end of a command

    /// The summary on stderr, what is left and how to carry it on, and the exit code
    /// (`RunExit.code`). After a stop, one command resumes without creating duplicates.
    private func finish(_ outcomes: [RunOutcome], runner: BatchRunner, timeout: Double, resumeHint: String?) -> ExitCode {
        let t = OutcomeTally(outcomes)
        let stopped = session.context.cancellation.reason
        if outcomes.count > 1 {
            var parts: [String] = []
            if t.ok > 0 { parts.append("\(t.ok) COMPLETE_OK") }
            if t.runErrors > 0 { parts.append("\(t.runErrors) COMPLETE_ERROR") }
            if t.uploaded > 0 { parts.append("\(t.uploaded) uploaded") }
            if !t.failures.isEmpty { parts.append("\(t.failures.count) failed") }
            if !t.pending.isEmpty { parts.append("\(t.pending.count) pending") }
            if !t.unconfirmedCreates.isEmpty { parts.append("\(t.unconfirmedCreates.count) unconfirmed") }
            if t.notStarted > 0 { parts.append("\(t.notStarted) not started") }
            session.note("\(outcomes.count) recordings: " + parts.joined(separator: ", "))
        }
        let code = RunExit.code(for: outcomes, stopped: stopped)
        if let stop = runner.stopReason, code != .interrupted {
            // Said as it happened; repeat only why the rest did not start.
            if t.notStarted > 0 { session.note("\(t.notStarted) not started after the failure above (\(RunExit.code(for: stop).meaning))") }
        }
        guard code == .interrupted || code == .timedOut || (!t.pending.isEmpty || !t.unconfirmedCreates.isEmpty || t.notStarted > 0) else {
            return code
        }
        var hints: [String] = []
        for file in t.unconfirmedCreates {
            hints.append("the create for \(file) got no answer: a run may exist that helios cannot name ('helios runs' lists it)")
        }
        let waiting = t.pending.filter(\.uploaded).map(\.runId)
        let unsent = t.pending.filter { !$0.uploaded }.map(\.runId)
        for id in unsent { hints.append("run \(id) is journaled with its upload URL; its recording is not confirmed yet") }
        let resumable = t.notStarted > 0 || !unsent.isEmpty || !t.unconfirmedCreates.isEmpty
            || t.failures.contains { $0.runId != nil && $0.cause != .journal }
        // One command that carries everything on without a second paid run: the same command
        // as a resume when recordings are left to send, else a poll of what is running.
        var resume: String?
        if let resumeHint, resumable {
            resume = resumeHint
        } else if !waiting.isEmpty || !unsent.isEmpty {
            let ids = waiting + unsent
            resume = (["helios", "poll"] + (ids.count <= 8 ? ids : [Opt.pending.flag]) + Self.pollOptions(session.context.arguments))
                .map(Self.hintWord).joined(separator: " ")
        }
        let ids = t.pending.map(\.runId)
        var what = ids.isEmpty ? "no run was left pending" : ids.count == 1 ? "run \(ids[0]) is journaled" : "\(ids.count) runs are journaled"
        if !t.unconfirmedCreates.isEmpty {
            // Said in the one line (JSON users see no hints): a paid run may exist.
            what += "; \(t.unconfirmedCreates.count == 1 ? "a create" : "\(t.unconfirmedCreates.count) creates") got no answer, so a run may exist that helios cannot name ("
                + t.unconfirmedCreates.joined(separator: ", ") + "; 'helios runs' lists it)"
        }
        let failure: CLIFailure
        switch code {
        case .interrupted:
            let why = stopped == .brokenPipe ? "stopped: standard output was closed" : "interrupted"
            failure = CLIFailure(.interrupted, "\(why); \(what)", runId: ids.last, hints: hints, resume: resume)
        case .timedOut:
            failure = CLIFailure(.timedOut, "gave up waiting after \(ValidationText.seconds(timeout)); \(what) and still running", runId: ids.last,
                                 hints: ["the runs go on"] + hints, resume: resume)
        default:
            for hint in hints { session.note(hint) }
            if let resume { session.console.resume(resume) }
            return code
        }
        session.console.fail(failure)
        return code
    }

    /// This very command line, made a resume: `--resume` for named files (a manifest resumes
    /// by itself), and never `--force`, which would pay for every recording again.
    func resumeCommand(manifest: Bool) -> String? {
        Self.resumeCommand(session.context.arguments, manifest: manifest)
    }

    static func resumeCommand(_ arguments: [String], manifest: Bool) -> String? {
        guard !arguments.isEmpty else { return nil }
        // Global options that take a value: their value is not the command word.
        let valued = Set(CommandTable.globalOptions.filter(\.takesValue).map { "--" + $0.long })
        var args: [String] = []
        var command: Int?
        var optionsEnded = false
        var skipValue = false
        for arg in arguments {
            if optionsEnded { args.append(arg); continue }
            if skipValue { skipValue = false; args.append(arg); continue }
            if arg == "--" { optionsEnded = true; args.append(arg); continue }
            if arg == Opt.force.flag { continue }
            if valued.contains(arg) { skipValue = true }
            if command == nil, !arg.hasPrefix("-") { command = args.count }
            args.append(arg)
        }
        if !manifest, let command, ["submit", "upload"].contains(args[command]), !args.prefix(while: { $0 != "--" }).contains(Opt.resume.flag) {
            args.insert(Opt.resume.flag, at: command + 1)
        }
        return (["helios"] + args.map(Self.hintWord)).joined(separator: " ")
    }

    /// A word of a printed command: quoted for the shell, and a URL's password or query (which
    /// the user typed, but which must not land in a CI log) redacted.
    static func hintWord(_ word: String) -> String {
        shellQuoted(word.contains("://") ? Redaction.url(word) : word)
    }

    /// The options of this command line that `helios poll` shares: global ones (key, endpoint,
    /// output) and the wait options, so the poll hint prints what the command would have.
    static func pollOptions(_ arguments: [String]) -> [String] {
        let specs = CommandTable.globalOptions.filter { $0 != Opt.helpFlag } + [Opt.pollInterval, Opt.timeout]
        var kept: [String] = []
        var index = 0
        while index < arguments.count, arguments[index] != "--" {
            let arg = arguments[index]
            index += 1
            let name = arg.split(separator: "=", maxSplits: 1).first.map(String.init) ?? arg
            guard let spec = specs.first(where: { "--" + $0.long == name || ($0.short.map { "-\($0)" } == name) }) else { continue }
            kept.append(arg)
            if spec.takesValue, !arg.contains("="), index < arguments.count {
                kept.append(arguments[index])
                index += 1
            }
        }
        return kept
    }

    static func shellQuoted(_ word: String) -> String {
        let plain = word.allSatisfy { $0.isLetter || $0.isNumber || "-_./=:,@+%".contains($0) }
        return plain && !word.isEmpty ? word : "'" + word.replacing("'", with: "'\\''") + "'"
    }
}

extension ExitCode: Comparable {
    /// The more specific failure wins when several runs end differently.
    public static func < (a: ExitCode, b: ExitCode) -> Bool { a.rawValue < b.rawValue }
}

/// One client per base URL, made on first use.
private final class ClientCache: Sendable {
    private let clients = Mutex<[String: APIClient]>([:])
    func client(_ baseURL: String, make: () -> APIClient) -> APIClient {
        clients.withLock { clients in
            if let c = clients[baseURL] { return c }
            let c = make()
            clients[baseURL] = c
            return c
        }
    }
}

/// The speech pass's report, written on its thread before `join()` and read after it.
private final class ReportSlot: Sendable {
    private let slot = Mutex<ValidationReport?>(nil)
    var report: ValidationReport? {
        get { slot.withLock { $0 } }
        set { slot.withLock { $0 = newValue } }
    }
}

/// One line of `--dry-run`'s plan under --json.
struct DryRunPlan: Encodable {
    var dryRun = true
    var file: String
    var manifestLine: Int?
    var userLabel: String?
    /// `create` (a new, paid run), `resume` (the journal's unfinished run), `done` (finished).
    var action: String
    var runId: String?

    init(file: String, manifestLine: Int?, userLabel: String?, action: String, runId: String?) {
        self.file = file
        self.manifestLine = manifestLine
        self.userLabel = userLabel
        self.action = action
        self.runId = runId
    }
}

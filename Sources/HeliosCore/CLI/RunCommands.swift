import FoundationEssentials
import Glibc

/// A recording that passed (or was allowed past) the local check, ready to send.
struct PreparedRecording: Sendable {
    var path: String
    var report: ValidationReport
    var audio: AudioInfo
    var contentType: String
}

/// One recording with its own user fields: from the command line, or a manifest row.
struct RecordingSpec: Sendable {
    var file: String
    var line: Int?
    var userLabel: String?
    var dateOfBirth: String
    var birthSex: ValueRules.BirthSex
    var language: String
    var accent: String?
    var sleepTime: String?
    var wakeTime: String?
    var recordingTime: String?
    var tags: [ValueRules.Tag]
}

/// `submit`, `upload`, `poll`, `status` and `runs`: the networked commands and the journal.
struct RunCommands {
    let session: Session

    private var output: Output { session.output }
    private var global: GlobalOptions { session.global }

    // MARK: submit / upload

    func submit(_ o: SubmitOptions) throws -> ExitCode {
        try send(o.run, wait: o.wait, noWait: o.noWait, resume: o.resume || (o.run.manifest != nil && !o.run.force))
    }

    func upload(_ o: UploadOptions) throws -> ExitCode {
        if let url = o.url { return try uploadToURL(url, o.run) }
        return try send(o.run, wait: WaitOptions(), noWait: true, resume: o.run.manifest != nil && !o.run.force)
    }

    /// Checks everything first (rows, recordings, endpoint, key), then plans each recording
    /// against the journal and runs the jobs. A plain submit always makes fresh runs; a manifest
    /// (or --resume) reuses what the journal knows, unless --force.
    private func send(_ o: RunOptions, wait: WaitOptions, noWait: Bool, resume: Bool) throws -> ExitCode {
        let specs = try recordingSpecs(o)
        let recordings = try prepare(specs.map(\.file), contentType: o.contentType, skipValidation: o.skipValidation)
        let baseURL = try session.baseURL()
        let client = session.client(baseURL: baseURL, apiKey: try session.apiKey())
        let known = resume ? try session.journal.latest(warn: { session.warn($0) }) : []
        var jobs: [Job] = []
        var reused = 0
        for (spec, recording) in zip(specs, recordings) {
            var request = Self.request(spec, label: spec.userLabel ?? UUID().uuidString.lowercased(), options: o)
            let digest = Self.digest(request)
            let previous = known.last {
                $0.sha256 == recording.audio.sha256 && $0.requestDigest == digest && $0.baseURL == baseURL
                    && $0.status != "ABANDONED" && (spec.userLabel == nil || $0.userLabel == spec.userLabel)
            }
            guard let previous else {
                jobs.append(Job(recording: recording, request: request, start: .create))
                continue
            }
            // The same person again: keep the label the first attempt was given.
            if let label = previous.userLabel { request.user.userLabel = label }
            reused += 1
            switch previous.status {
            case "COMPLETE_OK", "COMPLETE_ERROR":
                jobs.append(Job(recording: recording, request: request, start: .done(previous)))
            case "CREATED":
                jobs.append(Job(recording: recording, request: request, start: .recreate(abandoning: previous)))
            default:
                jobs.append(Job(recording: recording, request: request, start: noWait ? .done(previous) : .poll(runId: previous.runId)))
            }
        }
        if reused > 0 {
            session.note("\(reused) of \(jobs.count) recording\(jobs.count == 1 ? "" : "s") found in the journal: finished ones are printed again, pending ones resumed (--force sends afresh)")
        }
        let runner = BatchRunner(session: session, client: client, baseURL: baseURL, wait: wait, noWait: noWait,
                                 concurrency: o.concurrency, jobs: jobs.count)
        return finish(runner.run(jobs), timeout: wait.timeout, resumeHint: resumeCommand())
    }

    /// The files and user fields to send: the manifest's rows, or the command line's files.
    private func recordingSpecs(_ o: RunOptions) throws -> [RecordingSpec] {
        if let manifest = o.manifest {
            let rows: [ManifestRow]
            do {
                rows = try Manifest.load(path: manifest, defaults: o, today: session.context.today)
            } catch {
                throw CLIFailure(.usage, error.description, hints: ["nothing was sent"])
            }
            return rows.map {
                RecordingSpec(file: $0.file, line: $0.line, userLabel: $0.userLabel, dateOfBirth: $0.dateOfBirth,
                              birthSex: $0.birthSex, language: $0.language, accent: $0.accent, sleepTime: $0.sleepTime,
                              wakeTime: $0.wakeTime, recordingTime: $0.recordingTime, tags: $0.tags)
            }
        }
        guard let dob = o.dateOfBirth, let sex = o.birthSex else {
            throw CLIFailure(.usage, "'--dob' and '--sex' are needed")
        }
        return o.files.map {
            RecordingSpec(file: $0, line: nil, userLabel: o.userLabel, dateOfBirth: dob, birthSex: sex, language: o.language,
                          accent: o.accent, sleepTime: o.sleepTime, wakeTime: o.wakeTime, recordingTime: o.recordingTime, tags: o.tags)
        }
    }

    static func request(_ spec: RecordingSpec, label: String, options o: RunOptions) -> CreateRunRequest {
        CreateRunRequest(userLabel: label, dateOfBirth: spec.dateOfBirth, birthSex: spec.birthSex, language: spec.language,
                         accent: spec.accent, sleepTime: spec.sleepTime, wakeTime: spec.wakeTime,
                         recordingTime: spec.recordingTime, tags: spec.tags, deleteData: o.deleteData,
                         deleteRecordingsOnly: o.deleteRecordings)
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
        let progress = BatchProgress(output: output, isTerminal: session.context.stderrIsTerminal, quiet: global.quiet, total: 1)
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
                progress.err(session.warningLine("\(recording.path): \(w.code): \(w.message)"))
            }
            if !complete.ok {
                let problems = complete.problems.map { "\($0.code): \($0.message)" }.joined(separator: "; ")
                if !skipValidation {
                    throw CLIFailure(.recordingRejected, "\(recording.path): \(problems)",
                                     hints: [(uploadError == .withheld ? "the upload was stopped short of its last bytes, so the recording was not stored"
                                              : "the recording was not stored") + "; 'helios validate FILE' shows the full check"])
                }
                progress.err(session.warningLine("\(recording.path): sent despite the local check (--skip-validation): \(problems)"))
            }
            report = complete
        }
        if let uploadError {
            throw CLIFailure(uploadError.exitCode, "uploading \(recording.path): \(uploadError.message)")
        }
        progress.ended(0)
        progress.note("uploaded \(recording.path) (\(BatchProgress.size(recording.audio.bytes)))")
        if global.json {
            var audio = recording.audio
            audio.speechSeconds = report.audio?.speechSeconds
            progress.result(JSONLine.encode(RunResult(file: recording.path, runId: nil, status: "UPLOADED", userLabel: nil,
                                                      audio: audio, localWarnings: report.warnings)))
        }
        return .success
    }

    /// Every file is checked before anything is sent; any rejection stops the command (exit 3)
    /// unless --skip-validation, which still reports it.
    func prepare(_ files: [String], contentType: String?, skipValidation: Bool, digest: Bool = true) throws -> [PreparedRecording] {
        try prepared(files.map { RecordingValidator.validate(path: $0) }, contentType: contentType,
                     skipValidation: skipValidation, digest: digest)
    }

    /// The recordings the reports let through, with their hashes and MIME types; the rejected
    /// ones are printed and end the command (exit 3).
    private func prepared(_ reports: [ValidationReport], contentType: String?, skipValidation: Bool,
                          digest: Bool) throws -> [PreparedRecording] {
        var prepared: [PreparedRecording] = []
        var rejected: [ValidationReport] = []
        for report in reports {
            let file = report.file
            for w in report.warnings { session.warn("\(file): \(w.code): \(w.message)") }
            if !report.ok {
                let unreadable = report.problems.contains { ["NOT_FOUND", "NOT_A_FILE", "NOT_READABLE", "EMPTY"].contains($0.code) }
                if !skipValidation || unreadable {
                    rejected.append(report)
                    continue
                }
                session.warn("\(file): sending despite the local check (--skip-validation): " +
                             report.problems.map { "\($0.code): \($0.message)" }.joined(separator: "; "))
            }
            var audio = report.audio ?? AudioInfo(format: nil, bytes: 0)
            do {
                if digest { audio.sha256 = try SHA256.hexDigest(ofFileAt: file) }
            } catch {
                rejected.append(ValidationReport(file: file, audio: nil, problems: [ValidationFinding(code: "NOT_READABLE", message: "cannot read the file")], warnings: []))
                continue
            }
            if let st = PosixFile.status(atPath: file) { audio.bytes = Int64(st.st_size) }
            let type = contentType ?? audio.format?.mimeType ?? "application/octet-stream"
            prepared.append(PreparedRecording(path: file, report: report, audio: audio, contentType: type))
        }
        guard rejected.isEmpty else {
            for report in rejected.dropLast() {
                output.err("error: \(report.file): " + report.problems.map { "\($0.code): \($0.message)" }.joined(separator: "; ") + "\n")
            }
            let last = rejected[rejected.count - 1]
            let more = rejected.count > 1 ? " (and \(rejected.count - 1) more above)" : ""
            throw CLIFailure(.recordingRejected,
                             "\(last.file): " + last.problems.map { "\($0.code): \($0.message)" }.joined(separator: "; ") + more,
                             hints: ["nothing was sent; 'helios validate FILE' shows the full check"])
        }
        return prepared
    }

    // MARK: poll / status

    func poll(_ o: PollOptions) throws -> ExitCode {
        let ids = try runIds(o.ids, fromStdin: o.idsFromStdin, pending: o.pending)
        if ids.isEmpty {
            session.note("no pending runs in the journal")
            return .success
        }
        let baseURL = try session.baseURL()
        let client = session.client(baseURL: baseURL, apiKey: try session.apiKey())
        let runner = BatchRunner(session: session, client: client, baseURL: baseURL, wait: o.wait, noWait: false,
                                 concurrency: 16, jobs: ids.count)
        return finish(runner.run(ids.map { Job(recording: nil, request: nil, start: .poll(runId: $0)) }),
                      timeout: o.wait.timeout, resumeHint: nil)
    }

    func status(_ o: StatusOptions) throws -> ExitCode {
        let ids = try runIds(o.ids, fromStdin: o.idsFromStdin, pending: o.pending)
        let baseURL = try session.baseURL()
        let client = session.client(baseURL: baseURL, apiKey: try session.apiKey())
        var worst = ExitCode.success
        for id in ids {
            do {
                let run = try client.getRun(id)
                let result = RunResult(file: nil, runId: id, status: run.status, userLabel: nil, audio: nil, run: run)
                output.out(global.json ? JSONLine.encode(result) : result.text(palette: session.stdoutPalette))
                if run.status == "COMPLETE_ERROR" { worst = max(worst, .runFailed) }
            } catch {
                if error == .aborted { throw CLIFailure(.interrupted, "interrupted", runId: id) }
                CLIFailure(error.exitCode, "run \(id): \(error.message)", runId: id).report(to: output, json: global.json)
                worst = max(worst, error.exitCode)
            }
        }
        return worst
    }

    /// Ids from arguments, then stdin (one per line; a JSON result line gives its `runId`), or the
    /// journal's unfinished runs.
    private func runIds(_ given: [String], fromStdin: Bool, pending: Bool) throws -> [String] {
        var ids = given
        if fromStdin {
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
        if pending {
            let entries = try session.journal.latest(warn: { session.warn($0) }).filter(\.isPending)
            for entry in entries where entry.status == "CREATED" {
                session.note("skipping run \(entry.runId): its recording was never uploaded (send \(entry.file ?? "the file") again)")
            }
            ids += entries.filter { $0.status != "CREATED" }.map(\.runId)
        }
        var seen = Set<String>()
        return ids.filter { seen.insert($0).inserted }
    }

    // MARK: runs

    func runs(pendingOnly: Bool) throws -> ExitCode {
        var entries = try session.journal.latest(warn: { session.warn($0) })
        if pendingOnly { entries = entries.filter(\.isPending) }
        if global.json {
            for e in entries { output.out(JSONLine.encode(e)) }
            return .success
        }
        guard !entries.isEmpty else {
            session.note(pendingOnly ? "no pending runs" : "no runs yet in \(session.journal.path)")
            return .success
        }
        let rows = entries.map { e in [e.runId, e.time, e.file.map(Text.lastPathComponent) ?? "-", e.userLabel ?? "-", e.status] }
        let header = ["RUN", "TIME", "FILE", "LABEL", "STATUS"]
        var widths = header.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in i == cells.count - 1 ? c : Text.padded(c, to: widths[i]) }
                .joined(separator: "  ") + "\n"
        }
        output.out(line(header))
        for row in rows { output.out(line(row)) }
        return .success
    }

    // MARK: the end of a command

    /// The summary on stderr and the exit code: 0 only when every run ended COMPLETE_OK; 130 on
    /// Ctrl-C and 7 on --timeout (naming what is pending and how to resume); the shared code when
    /// every failure was the same kind (4 for a refused key); else 1.
    private func finish(_ outcomes: [JobOutcome], timeout: Double, resumeHint: String?) -> ExitCode {
        var ok = 0, runErrors = 0, uploaded = 0, notStarted = 0
        var failures: [CLIFailure] = []
        var pending: [(id: String, uploaded: Bool)] = []
        var interrupted = Interrupt.requested
        for outcome in outcomes {
            switch outcome {
            case .finished(let run): if run.status == "COMPLETE_OK" { ok += 1 } else { runErrors += 1 }
            case .uploaded: uploaded += 1
            case .failed(let f): failures.append(f)
            case .pending(let id, let up, let intr):
                pending.append((id, up))
                interrupted = interrupted || intr
            case .notStarted: notStarted += 1
            }
        }
        if outcomes.count > 1 {
            var parts: [String] = []
            if ok > 0 { parts.append("\(ok) COMPLETE_OK") }
            if runErrors > 0 { parts.append("\(runErrors) COMPLETE_ERROR") }
            if uploaded > 0 { parts.append("\(uploaded) uploaded") }
            if !failures.isEmpty { parts.append("\(failures.count) failed") }
            if !pending.isEmpty { parts.append("\(pending.count) pending") }
            if notStarted > 0 { parts.append("\(notStarted) not started") }
            session.note("\(outcomes.count) recordings: " + parts.joined(separator: ", "))
        }
        if interrupted || !pending.isEmpty {
            let waiting = pending.filter(\.uploaded).map(\.id)
            var hints: [String] = []
            if !waiting.isEmpty { hints.append("resume with: helios poll \(waiting.joined(separator: " "))") }
            for run in pending where !run.uploaded { hints.append("run \(run.id) was created but its recording was not uploaded") }
            if let resumeHint, notStarted > 0 || pending.contains(where: { !$0.uploaded }) { hints.append("or run the same command again: \(resumeHint)") }
            let ids = pending.map(\.id)
            let what = ids.isEmpty ? "no run was left pending" : ids.count == 1 ? "run \(ids[0]) is journaled" : "\(ids.count) runs are journaled"
            let failure = interrupted
                ? CLIFailure(.interrupted, "interrupted; \(what)", runId: ids.last, hints: hints)
                : CLIFailure(.timedOut, "gave up waiting after \(ValidationText.seconds(timeout)); \(what) and still running", runId: ids.last,
                             hints: hints.isEmpty ? [] : ["the runs go on"] + hints)
            failure.report(to: output, json: global.json)
            return failure.exitCode
        }
        if failures.isEmpty { return runErrors > 0 ? .runFailed : .success }
        let codes = Set(failures.map(\.exitCode))
        if ok == 0, runErrors == 0, uploaded == 0, codes.count == 1 { return codes.first! }
        return .runFailed
    }

    /// This very command line, for the resume hint (the journal makes a rerun a resume).
    private func resumeCommand() -> String? {
        guard !session.context.arguments.isEmpty else { return nil }
        return (["helios"] + session.context.arguments.map(Self.shellQuoted)).joined(separator: " ")
    }

    static func shellQuoted(_ word: String) -> String {
        let plain = word.allSatisfy { $0.isLetter || $0.isNumber || "-_./=:,@+%".contains($0) }
        return plain && !word.isEmpty ? word : "'" + word.replacing("'", with: "'\\''") + "'"
    }

    static func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    }

    /// Digest of the create request without its label, so a resumed batch recognises the same
    /// recording with the same user fields even when the label was a random default.
    static func digest(_ request: CreateRunRequest) -> String {
        var copy = request
        copy.user.userLabel = ""
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return SHA256.hexDigest(of: (try? encoder.encode(copy)) ?? Data())
    }
}

extension ExitCode: Comparable {
    /// The more specific failure wins when several runs end differently.
    public static func < (a: ExitCode, b: ExitCode) -> Bool { a.rawValue < b.rawValue }
}

/// The speech pass's report, written on its thread before `join()` and read after it.
private final class ReportSlot: @unchecked Sendable {
    var report: ValidationReport?
}

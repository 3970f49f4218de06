import Foundation

/// A recording that passed (or was allowed past) the local check, ready to send.
struct PreparedRecording {
    var path: String
    var report: ValidationReport
    var audio: AudioInfo
    var contentType: String
}

/// `submit`, `upload`, `poll`, `status` and `runs`: the networked commands and the journal.
struct RunCommands {
    let session: Session

    private var output: Output { session.output }
    private var global: GlobalOptions { session.global }

    // MARK: submit / upload

    func submit(_ o: SubmitOptions) throws -> ExitCode {
        if o.run.manifest != nil || o.resume || o.run.force {
            throw CLIFailure(.usage, "'--manifest', '--resume' and '--force' are not yet available in this build")
        }
        let recordings = try prepare(o.run)
        let baseURL = try session.baseURL()
        let client = session.client(baseURL: baseURL, apiKey: try session.apiKey())
        var tracker = RunTracker()
        var worst = ExitCode.success
        for recording in recordings {
            let (runId, label) = try createAndUpload(recording, o.run, client: client, baseURL: baseURL, tracker: &tracker)
            if o.noWait {
                printUploaded(recording, runId: runId, label: label)
                continue
            }
            let run = try wait(for: [runId], client: client, wait: o.wait, tracker: &tracker, files: [runId: recording])
            worst = max(worst, run)
        }
        return worst
    }

    func upload(_ o: UploadOptions) throws -> ExitCode {
        if o.run.manifest != nil || o.run.force {
            throw CLIFailure(.usage, "'--manifest' and '--force' are not yet available in this build")
        }
        if let url = o.url { return try uploadToURL(url, o.run) }
        let recordings = try prepare(o.run)
        let baseURL = try session.baseURL()
        let client = session.client(baseURL: baseURL, apiKey: try session.apiKey())
        var tracker = RunTracker()
        for recording in recordings {
            let (runId, label) = try createAndUpload(recording, o.run, client: client, baseURL: baseURL, tracker: &tracker)
            printUploaded(recording, runId: runId, label: label)
        }
        return .success
    }

    private func uploadToURL(_ url: String, _ run: RunOptions) throws -> ExitCode {
        do {
            _ = try URLPolicy.check(url)
        } catch {
            throw CLIFailure(.usage, "invalid value '\(Redaction.url(url))' for '--url': \(error.description)")
        }
        // No run of ours to journal, so no digest: hashing would only slow the upload down.
        let recording = try prepare(run, digest: false)[0]
        let client = session.client(baseURL: "https://unused.invalid", apiKey: "")
        let view = progressView(recording.path)
        do {
            try client.upload(path: recording.path, size: recording.audio.bytes, to: url,
                              contentType: recording.contentType, progress: { view.update($0) })
        } catch {
            throw CLIFailure(error.exitCode, "uploading \(recording.path): \(error.message)")
        }
        session.note("uploaded \(recording.path) (\(UploadProgressView.size(recording.audio.bytes)))")
        if global.json {
            output.out(JSONLine.encode(RunResult(file: recording.path, runId: nil, status: "UPLOADED", userLabel: nil,
                                                 audio: recording.audio, localWarnings: recording.report.warnings)))
        }
        return .success
    }

    /// Every file is checked before anything is sent; any rejection stops the command (exit 3)
    /// unless --skip-validation, which still reports it.
    func prepare(_ run: RunOptions, digest: Bool = true) throws -> [PreparedRecording] {
        var prepared: [PreparedRecording] = []
        var rejected: [ValidationReport] = []
        for file in run.files {
            let report = RecordingValidator.validate(path: file)
            for w in report.warnings { session.warn("\(file): \(w.code): \(w.message)") }
            if !report.ok {
                let missing = report.problems.contains { ["NOT_FOUND", "NOT_A_FILE", "NOT_READABLE", "EMPTY"].contains($0.code) }
                if !run.skipValidation || missing {
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
            if let size = (try? FileManager.default.attributesOfItem(atPath: file))?[.size] as? Int64 { audio.bytes = size }
            let type = run.contentType ?? audio.format?.mimeType ?? "application/octet-stream"
            prepared.append(PreparedRecording(path: file, report: report, audio: audio, contentType: type))
        }
        guard rejected.isEmpty else {
            for report in rejected.dropLast() {
                output.err("error: \(report.file): " + report.problems.map { "\($0.code): \($0.message)" }.joined(separator: "; ") + "\n")
            }
            let last = rejected[rejected.count - 1]
            throw CLIFailure(.recordingRejected,
                             "\(last.file): " + last.problems.map { "\($0.code): \($0.message)" }.joined(separator: "; "),
                             hints: ["nothing was sent; 'helios validate FILE' shows the full check"])
        }
        return prepared
    }

    /// Creates the run, journals it before the upload starts, and uploads. An expired upload URL
    /// gets one fresh run, said on stderr, the old one journaled as abandoned.
    private func createAndUpload(_ recording: PreparedRecording, _ o: RunOptions, client: APIClient, baseURL: String,
                                 tracker: inout RunTracker) throws -> (String, String) {
        let label = o.userLabel ?? UUID().uuidString.lowercased()
        guard let dob = o.dateOfBirth, let sex = o.birthSex else {
            throw CLIFailure(.usage, "'--dob' and '--sex' are needed for \(recording.path)")
        }
        let request = CreateRunRequest(
            userLabel: label, dateOfBirth: dob, birthSex: sex, language: o.language, accent: o.accent,
            sleepTime: o.sleepTime, wakeTime: o.wakeTime, recordingTime: o.recordingTime, tags: o.tags,
            deleteData: o.deleteData, deleteRecordingsOnly: o.deleteRecordings)
        var abandoned: String?
        for attempt in 1...2 {
            if Interrupt.requested { throw tracker.interrupted() }
            let created: CreateRunResponse
            do {
                created = try client.createRun(request)
            } catch {
                if error == .aborted { throw tracker.interrupted() }
                var hints = tracker.hints()
                switch error {
                case .network, .timedOut, .server, .malformed:
                    // The POST is never resent once it may have arrived (no idempotency key): say so.
                    hints.append("the request may have reached thymia, so a run may exist without its recording; nothing was uploaded")
                default: break
                }
                throw CLIFailure(error.exitCode, "creating a run for \(recording.path): \(error.message)",
                                 runId: abandoned, hints: hints)
            }
            let runId = created.id
            tracker.created(runId, uploaded: false)
            var entry = JournalEntry(runId: runId, baseURL: baseURL, file: absolute(recording.path),
                                     bytes: recording.audio.bytes, sha256: recording.audio.sha256, userLabel: label,
                                     status: "CREATED", requestDigest: Self.digest(request))
            entry.uploadURLExpiresAt = ISO8601DateFormatter().string(from: Date().addingTimeInterval(3600))
            try journal(entry)
            if let abandoned {
                session.note("created run \(runId) for \(recording.path) to replace \(abandoned)")
            } else {
                session.note("created run \(runId) for \(recording.path) (user label \(label))")
            }
            let view = progressView(recording.path)
            do {
                try client.upload(path: recording.path, size: recording.audio.bytes, to: created.recordingUploadUrl,
                                  contentType: recording.contentType, progress: { view.update($0) })
            } catch .uploadExpired where attempt == 1 {
                var old = entry
                old.time = JournalEntry.now()
                old.status = "ABANDONED"
                try journal(old)
                tracker.abandoned(runId)
                session.warn("the upload URL of run \(runId) has expired; creating a fresh run for \(recording.path)")
                abandoned = runId
                continue
            } catch {
                if error == .aborted { throw tracker.interrupted() }
                throw CLIFailure(error.exitCode, "uploading \(recording.path) to run \(runId): \(error.message)",
                                 runId: runId, hints: ["run \(runId) is journaled; its recording was not uploaded: submit the file again"])
            }
            tracker.created(runId, uploaded: true)
            entry.time = JournalEntry.now()
            entry.status = "UPLOADED"
            try journal(entry)
            return (runId, label)
        }
        throw CLIFailure(.apiRefused, "the fresh run's upload URL for \(recording.path) was refused too", runId: abandoned)
    }

    private func printUploaded(_ recording: PreparedRecording, runId: String, label: String) {
        if global.json {
            output.out(JSONLine.encode(RunResult(file: recording.path, runId: runId, status: "UPLOADED", userLabel: label,
                                                 audio: recording.audio, localWarnings: recording.report.warnings)))
        } else {
            output.out(runId + "\n")
        }
    }

    // MARK: poll / status

    func poll(_ o: PollOptions) throws -> ExitCode {
        let ids = try runIds(o.ids, fromStdin: o.idsFromStdin, pending: o.pending)
        if ids.isEmpty {
            session.note("no pending runs in the journal")
            return .success
        }
        let (baseURL, client) = try connect(ids: ids)
        _ = baseURL
        var tracker = RunTracker()
        for id in ids { tracker.created(id, uploaded: true) }
        return try wait(for: ids, client: client, wait: o.wait, tracker: &tracker, files: [:])
    }

    func status(_ o: StatusOptions) throws -> ExitCode {
        let ids = try runIds(o.ids, fromStdin: o.idsFromStdin, pending: o.pending)
        let (_, client) = try connect(ids: ids)
        var worst = ExitCode.success
        for id in ids {
            do {
                let run = try client.getRun(id)
                try record(run)
                emit(RunResult(file: nil, runId: id, status: run.status, userLabel: nil, audio: nil, run: run))
                if run.status == "COMPLETE_ERROR" { worst = max(worst, .runFailed) }
            } catch let error as APIError {
                if error == .aborted { throw CLIFailure(.interrupted, "interrupted", runId: id) }
                CLIFailure(error.exitCode, "run \(id): \(error.message)", runId: id).report(to: output, json: global.json)
                worst = max(worst, error.exitCode)
            }
        }
        return worst
    }

    /// Polls every run each interval until all finish, printing each result as it finishes.
    /// Exit: 0 all COMPLETE_OK, 1 any COMPLETE_ERROR, 7 on --timeout, 130 on Ctrl-C.
    private func wait(for ids: [String], client: APIClient, wait: WaitOptions, tracker: inout RunTracker,
                      files: [String: PreparedRecording]) throws -> ExitCode {
        let started = Date()
        var pending = ids
        var worst = ExitCode.success
        var lastStatus: [String: String] = [:]
        var lastLine = Date.distantPast
        let live = session.context.stderrIsTerminal && !global.quiet
        while !pending.isEmpty {
            for id in pending {
                let run: ModelRun
                do {
                    run = try client.getRun(id)
                } catch {
                    if error == .aborted { throw tracker.interrupted() }
                    if live { output.err("\r\u{1B}[2K") }
                    CLIFailure(error.exitCode, "run \(id): \(error.message)", runId: id).report(to: output, json: global.json)
                    worst = max(worst, error.exitCode)
                    pending.removeAll { $0 == id }
                    tracker.finished(id)
                    continue
                }
                if lastStatus[id] != run.status {
                    lastStatus[id] = run.status
                    try record(run)
                }
                guard run.isFinished else { continue }
                pending.removeAll { $0 == id }
                tracker.finished(id)
                if live { output.err("\r\u{1B}[2K") }
                let recording = files[id]
                emit(RunResult(file: recording?.path, runId: id, status: run.status, userLabel: nil,
                               audio: recording?.audio, localWarnings: recording?.report.warnings ?? [], run: run))
                if run.status != "COMPLETE_OK" { worst = max(worst, .runFailed) }
            }
            guard !pending.isEmpty else { break }
            let elapsed = Date().timeIntervalSince(started)
            if wait.timeout > 0, elapsed + wait.pollInterval > wait.timeout + 0.001 {
                if live { output.err("\r\u{1B}[2K") }
                throw CLIFailure(.timedOut,
                                 "gave up waiting after \(ValidationText.seconds(wait.timeout)); \(pending.count == 1 ? "run \(pending[0]) is" : "\(pending.count) runs are") still \(lastStatus[pending[0]] ?? "pending")",
                                 runId: pending.first, hints: ["the run goes on; resume with: helios poll \(pending.joined(separator: " "))"])
            }
            let states = Set(pending.compactMap { lastStatus[$0] }).sorted().joined(separator: ", ")
            if live {
                output.err("\r\u{1B}[2Kwaiting for \(pending.count) run\(pending.count == 1 ? "" : "s") (\(states)) \(Int(elapsed))s")
            } else if !global.quiet, Date().timeIntervalSince(lastLine) >= 30 {
                output.err("waiting for \(pending.count) run\(pending.count == 1 ? "" : "s") (\(states)), \(Int(elapsed))s so far\n")
                lastLine = Date()
            }
            guard Interrupt.sleep(wait.pollInterval) else {
                if live { output.err("\r\u{1B}[2K") }
                throw tracker.interrupted()
            }
        }
        return worst
    }

    private func connect(ids: [String]) throws -> (String, APIClient) {
        let baseURL = try session.baseURL()
        return (baseURL, session.client(baseURL: baseURL, apiKey: try session.apiKey()))
    }

    /// Ids from arguments, then stdin (one per line; a JSON result line gives its `runId`), or the
    /// journal's unfinished runs.
    private func runIds(_ given: [String], fromStdin: Bool, pending: Bool) throws -> [String] {
        var ids = given
        if fromStdin {
            let text = session.context.readStdin() ?? ""
            for (n, raw) in text.split(whereSeparator: \.isNewline).enumerated() {
                let line = raw.trimmingCharacters(in: .whitespaces)
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
                session.note("skipping run \(entry.runId): its recording was never uploaded (submit \(entry.file ?? "the file") again)")
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
        let rows = entries.map { e in [e.runId, e.time, e.file.map { ($0 as NSString).lastPathComponent } ?? "-", e.userLabel ?? "-", e.status] }
        let header = ["RUN", "TIME", "FILE", "LABEL", "STATUS"]
        var widths = header.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in i == cells.count - 1 ? c : c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "  ") + "\n"
        }
        output.out(line(header))
        for row in rows { output.out(line(row)) }
        return .success
    }

    // MARK: helpers

    private func emit(_ result: RunResult) {
        output.out(global.json ? JSONLine.encode(result) : result.text(palette: session.stdoutPalette))
    }

    /// Journals a status seen from the API (the run object too once it has finished).
    private func record(_ run: ModelRun) throws {
        let known = try session.journal.latest().last { $0.runId == run.id }
        guard var entry = known else { return }
        entry.time = JournalEntry.now()
        entry.status = run.status
        entry.errorCode = run.errorCode
        if run.isFinished { entry.run = run.raw }
        try journal(entry)
    }

    private func journal(_ entry: JournalEntry) throws {
        do {
            try session.journal.append(entry)
        } catch {
            // A run that cannot be journaled could be lost: stop, and show its id.
            throw CLIFailure(.runFailed, "cannot write the journal \(session.journal.path) (\(error)); run \(entry.runId) is \(entry.status)",
                             runId: entry.runId)
        }
    }

    private func progressView(_ path: String) -> UploadProgressView {
        UploadProgressView(output: output, isTerminal: session.context.stderrIsTerminal, quiet: global.quiet,
                           label: (path as NSString).lastPathComponent)
    }

    private func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    }

    static func digest(_ request: CreateRunRequest) -> String {
        var copy = request
        copy.user.userLabel = "" // a default label is random; resume compares the other fields
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return SHA256.hexDigest(of: (try? encoder.encode(copy)) ?? Data())
    }
}

/// The runs this invocation created, so an interruption can name every one of them.
struct RunTracker {
    private(set) var runs: [(id: String, uploaded: Bool, finished: Bool)] = []

    mutating func created(_ id: String, uploaded: Bool) {
        if let i = runs.firstIndex(where: { $0.id == id }) { runs[i].uploaded = uploaded } else { runs.append((id, uploaded, false)) }
    }

    mutating func finished(_ id: String) {
        if let i = runs.firstIndex(where: { $0.id == id }) { runs[i].finished = true }
    }

    mutating func abandoned(_ id: String) { runs.removeAll { $0.id == id } }

    func hints() -> [String] {
        let open = runs.filter { !$0.finished }
        var lines: [String] = []
        let uploaded = open.filter(\.uploaded).map(\.id)
        if !uploaded.isEmpty { lines.append("resume with: helios poll \(uploaded.joined(separator: " "))") }
        for run in open where !run.uploaded { lines.append("run \(run.id) was created but its recording was not uploaded") }
        return lines
    }

    func interrupted() -> CLIFailure {
        let open = runs.filter { !$0.finished }
        let message = open.isEmpty ? "interrupted; no run was created"
            : "interrupted; \(open.count == 1 ? "run \(open[0].id) is" : "runs \(open.map(\.id).joined(separator: ", ")) are") journaled"
        return CLIFailure(.interrupted, message, runId: open.last?.id, hints: hints())
    }
}

extension ExitCode: Comparable {
    /// The more specific failure wins when several runs end differently.
    public static func < (a: ExitCode, b: ExitCode) -> Bool { a.rawValue < b.rawValue }
}

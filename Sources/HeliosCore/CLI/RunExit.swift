/// The outcomes of a command, counted, and the one pure function from them to CLI.md's exit code.
struct OutcomeTally: Sendable {
    var ok = 0
    var runErrors = 0
    var uploaded = 0
    var notStarted = 0
    var failures: [RunFailure] = []
    /// Creates whose answer never came: a run may exist that helios cannot name.
    var unconfirmedCreates: [String] = []
    var pending: [(runId: String, uploaded: Bool)] = []
    var interrupted = false
    var timedOut = false

    init(_ outcomes: [RunOutcome]) {
        for outcome in outcomes {
            switch outcome {
            case .finished(let run): if run.status == APIStatus.completeOK.rawValue { ok += 1 } else { runErrors += 1 }
            case .uploaded: uploaded += 1
            case .pending(let id, let up, let why):
                pending.append((id, up))
                if why == .interrupted { interrupted = true } else { timedOut = true }
            case .unconfirmedCreate(let file, let failure):
                unconfirmedCreates.append(file)
                if let failure { failures.append(failure) } else { interrupted = true }
            case .failed(let failure): failures.append(failure)
            case .notStarted: notStarted += 1
            }
        }
    }
}

enum RunExit {
    /// 130 when a stop (Ctrl-C, SIGTERM) left work undone, or stdout was closed (results went
    /// unread); 7 when a run's wait timed out; a failure's own code when every item failed the
    /// same way and nothing succeeded; 1 for any other failure or COMPLETE_ERROR; else 0. A
    /// Ctrl-C that came after every run had finished changes nothing.
    static func code(for outcomes: [RunOutcome], stopped: StopReason?) -> ExitCode {
        let t = OutcomeTally(outcomes)
        if t.interrupted || stopped == .brokenPipe { return .interrupted }
        // After Ctrl-C anything left undone or failed is the interruption's doing (a create
        // waited out to a timeout, say), so the exit says so.
        if stopped == .signal, t.notStarted > 0 || !t.pending.isEmpty || !t.failures.isEmpty { return .interrupted }
        if t.timedOut { return .timedOut }
        if !t.failures.isEmpty {
            let codes = Set(t.failures.map(code(for:)))
            if t.ok == 0, t.runErrors == 0, t.uploaded == 0, codes.count == 1, let only = codes.first { return only }
            return .runFailed
        }
        if t.notStarted > 0 { return .runFailed }
        return t.runErrors > 0 ? .runFailed : .success
    }

    static func code(for failure: RunFailure) -> ExitCode {
        switch failure.cause {
        case .api(let error): error.exitCode
        case .journal, .needsRecording: .runFailed
        }
    }
}

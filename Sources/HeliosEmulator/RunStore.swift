import Foundation

/// One model run as the emulator keeps it.
struct ModelRun: Sendable {
    enum UploadState: String, Sendable { case waiting, inProgress, done }

    let id: String
    let createdAt: Date
    let request: CreateRunRequest
    let uploadExpires: Int
    let uploadURLWasExpired: Bool
    var status = "CREATED"
    var runAt: Date?
    var completedAt: Date?
    var errorCode: String?
    var errorReason: String?
    var warnings: [String]?
    var results: JSON?
    var uploadState = UploadState.waiting
    var uploadCount = 0
    var uploadBytes: Int64?
    var uploadSha256: String?
    var uploadPath: String?
    var deleted = false

    /// The §2.3 envelope, in the reference's field order, nulls explicit.
    var envelope: JSON {
        .object([
            ("id", .string(id)),
            ("createdAt", .string(Timestamp.format(createdAt))),
            ("status", .string(status)),
            ("userLabel", .string(request.userLabel)),
            ("deleteData", .bool(request.deleteData)),
            ("runAt", .optional(runAt.map(Timestamp.format))),
            ("completedAt", .optional(completedAt.map(Timestamp.format))),
            ("errorReason", .optional(errorReason)),
            ("warnings", warnings.map { .array($0.map(JSON.string)) } ?? .null),
            ("results", results ?? .null),
            ("errorCode", .optional(errorCode)),
        ])
    }

    /// Everything stored, for `GET /_emulator/runs`.
    var introspection: JSON {
        let r = request
        return .object([
            ("id", .string(id)),
            ("status", .string(status)),
            ("createdAt", .string(Timestamp.format(createdAt))),
            ("userLabel", .string(r.userLabel)),
            ("dateOfBirth", .string(r.dateOfBirth)),
            ("birthSex", .string(r.birthSex)),
            ("language", .string(r.language)),
            ("accent", .optional(r.accent)),
            ("sleepTime", .optional(r.sleepTime)),
            ("wakeTime", .optional(r.wakeTime)),
            ("recordingTime", .optional(r.recordingTime)),
            ("tags", .array(r.tags.map { .object([("name", .string($0.name)), ("value", .string($0.value))]) })),
            ("deleteData", .bool(r.deleteData)),
            ("dataToDelete", r.dataToDelete.map { .array($0.map(JSON.string)) } ?? .null),
            ("uploadExpires", .number(Double(uploadExpires))),
            ("uploadUrlExpiredAtCreation", .bool(uploadURLWasExpired)),
            ("uploadCount", .number(Double(uploadCount))),
            ("uploadBytes", uploadBytes.map { .number(Double($0)) } ?? .null),
            ("uploadSha256", .optional(uploadSha256)),
            ("errorCode", .optional(errorCode)),
            ("deleted", .bool(deleted)),
        ])
    }
}

/// All runs of this process. An actor: handlers and processing tasks touch runs concurrently.
actor RunStore {
    enum UploadStart: Sendable { case notFound, alreadyUploaded, started }

    private var runs: [String: ModelRun] = [:]
    private var order: [String] = []
    private let deletionDelay: TimeInterval

    init(deletionDelay: TimeInterval) {
        self.deletionDelay = deletionDelay
    }

    func create(_ request: CreateRunRequest, uploadExpires: Int, expired: Bool) -> ModelRun {
        let run = ModelRun(id: UUID().uuidString.lowercased(), createdAt: Date(), request: request,
                           uploadExpires: uploadExpires, uploadURLWasExpired: expired)
        runs[run.id] = run
        order.append(run.id)
        return run
    }

    /// The run, unless unknown or past its deletion window (§7.3).
    func run(_ id: String) -> ModelRun? {
        guard var run = runs[id], !run.deleted else { return nil }
        if run.request.deleteData, run.request.dataToDelete == nil, let done = run.completedAt,
           Date() >= done.addingTimeInterval(deletionDelay) {
            run.deleted = true
            run.results = nil
            if let path = run.uploadPath { try? FileManager.default.removeItem(atPath: path) }
            run.uploadPath = nil
            runs[id] = run
            return nil
        }
        return run
    }

    /// Claims the run's single upload slot; a failed transfer gives it back with `abortUpload`.
    func startUpload(_ id: String) -> UploadStart {
        guard var run = run(id) else { return .notFound }
        guard run.uploadState == .waiting else { return .alreadyUploaded }
        run.uploadState = .inProgress
        runs[id] = run
        return .started
    }

    func abortUpload(_ id: String) {
        guard var run = runs[id], run.uploadState == .inProgress else { return }
        run.uploadState = .waiting
        runs[id] = run
    }

    func finishUpload(_ id: String, path: String, bytes: Int64, sha256: String) {
        guard var run = runs[id] else { return }
        run.uploadState = .done
        run.uploadCount += 1
        run.uploadBytes = bytes
        run.uploadSha256 = sha256
        run.uploadPath = path
        run.status = "RUNNING"
        run.runAt = Date()
        runs[id] = run
    }

    func complete(_ id: String, outcome: RunOutcome) {
        guard var run = runs[id], !run.deleted else { return }
        switch outcome {
        case let .ok(results, warnings):
            run.status = "COMPLETE_OK"
            run.results = results
            run.warnings = warnings
        case let .error(code, reason):
            run.status = "COMPLETE_ERROR"
            run.errorCode = code
            run.errorReason = reason
        }
        run.completedAt = Date()
        runs[id] = run
    }

    func introspection() -> JSON {
        .array(order.compactMap { id in
            _ = run(id) // applies the deletion window before reporting
            return runs[id]?.introspection
        })
    }
}

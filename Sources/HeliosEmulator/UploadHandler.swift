import FlyingFox
import Foundation

/// `PUT /_upload/{id}?expires=…&signature=…`: the pre-signed storage URL of §3.
extension Emulator {
    func handleUpload(_ request: HTTPRequest, runID: String, record: inout RequestRecord) async -> HTTPResponse {
        // Checked first so a test can reach it by editing the id of a valid URL.
        guard await store.run(runID) != nil else {
            return await refuse(request, Responses.storageError(404, "NoSuchUpload", "The specified upload does not exist."), &record)
        }
        let query = Dictionary(request.query.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
        guard let expiresText = query["expires"], let expires = Int(expiresText), let signature = query["signature"],
              signer.isValid(signature: signature, runID: runID, expires: expires) else {
            return await refuse(request, Responses.storageError(403, "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided."), &record)
        }
        let now = Int(Date().timeIntervalSince1970)
        guard now <= expires else {
            return await refuse(request, Responses.storageError(403, "AccessDenied", "Request has expired",
                extra: [("Expires", Timestamp.format(Date(timeIntervalSince1970: Double(expires)))),
                        ("ServerTime", Timestamp.format(Date()))]), &record)
        }
        // A sized PUT only, as object stores demand; FlyingFox decodes chunked bodies, we refuse them.
        guard request.headers[.transferEncoding] == nil, let lengthText = request.headers[.contentLength],
              let length = Int64(lengthText), length >= 0 else {
            return await refuse(request, Responses.storageError(411, "MissingContentLength", "You must provide the Content-Length HTTP header."), &record)
        }
        switch await store.startUpload(runID) {
        case .notFound:
            return await refuse(request, Responses.storageError(404, "NoSuchUpload", "The specified upload does not exist."), &record)
        case .alreadyUploaded:
            return await refuse(request, Responses.storageError(409, "RecordingAlreadyUploaded",
                "A recording has already been uploaded for this model run; create a new model run."), &record)
        case .started:
            break
        }

        let path = uploadDirectory + "/\(runID).upload"
        let stored: BodyReader.Drained
        do {
            stored = try await BodyReader.store(request.bodySequence, to: path)
        } catch {
            record.bodyBytes = (error as? BodyReader.Incomplete)?.bytes ?? 0
            await store.abortUpload(runID)
            try? FileManager.default.removeItem(atPath: path)
            return Responses.storageError(400, "IncompleteBody", "The request body terminated unexpectedly.")
        }
        record.bodyBytes = stored.bytes
        record.bodySha256 = stored.sha256
        guard stored.bytes == length else {
            await store.abortUpload(runID)
            try? FileManager.default.removeItem(atPath: path)
            return Responses.storageError(400, "IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header.")
        }
        await store.finishUpload(runID, path: path, bytes: stored.bytes, sha256: stored.sha256)
        scheduleProcessing(runID: runID, path: path, sha256: stored.sha256)

        var headers = HTTPHeaders()
        headers[.eTag] = "\"\(stored.sha256.prefix(32))\""
        return HTTPResponse(statusCode: .ok, headers: headers, body: Data())
    }

    /// Answers a refused upload only after reading its body, keeping the connection usable.
    private func refuse(_ request: HTTPRequest, _ response: HTTPResponse, _ record: inout RequestRecord) async -> HTTPResponse {
        let drained = await BodyReader.drain(request.bodySequence)
        record.bodyBytes = drained.bytes
        record.bodySha256 = drained.sha256
        return response
    }

    private func scheduleProcessing(runID: String, path: String, sha256: String) {
        let delay = options.processingSeconds
        let store = self.store
        Task.detached {
            // Judge first, then wait out the rest: the run finishes --processing-time after its
            // upload, however long the judging took (a client polling at that interval sees it).
            let started = ContinuousClock.now
            let outcome = RunOutcome.judge(path: path, sha256: sha256)
            let remaining = Duration.seconds(delay) - (ContinuousClock.now - started)
            if remaining > .zero { try? await Task.sleep(for: remaining) }
            await store.complete(runID, outcome: outcome)
        }
    }
}

import FlyingFox
import Foundation

/// `POST /v1/models/mental-wellness` and `GET /v1/models/mental-wellness/{id}`.
extension Emulator {
    /// Create bodies are a few hundred bytes; anything past this is refused unread.
    static let maxCreateBodyBytes = 1 << 20
    static let uploadValidity = 3600

    func handleCreate(_ request: HTTPRequest, record: inout RequestRecord) async -> HTTPResponse {
        let (body, bytes) = await BodyReader.collect(request.bodySequence, limit: Self.maxCreateBodyBytes)
        record.bodyBytes = bytes
        guard let body else { return Responses.detail(413, "Request body too large") }
        let validator = CreateRunValidator(languages: options.languages)
        switch validator.validate(body) {
        case .failure(let failure):
            return Responses.validation(failure.errors)
        case .success(let createRequest):
            let expired = await faults.nextUploadIsExpired()
            let now = Int(Date().timeIntervalSince1970)
            let expires = expired ? now - 1 : now + Self.uploadValidity
            let run = await store.create(createRequest, uploadExpires: expires, expired: expired)
            record.runId = run.id
            let signature = signer.signature(runID: run.id, expires: expires)
            let url = "\(baseURL)/_upload/\(run.id)?expires=\(expires)&signature=\(signature)"
            return Responses.json(200, .object([("id", .string(run.id)), ("recordingUploadUrl", .string(url))]))
        }
    }

    func handleGet(id: String) async -> HTTPResponse {
        guard let uuid = UUID(uuidString: id) else {
            return Responses.validation([FieldError(loc: [.key("path"), .key("model_run_id")],
                                                    msg: "value is not a valid uuid", type: "type_error.uuid")])
        }
        guard let run = await store.run(uuid.uuidString.lowercased()) else {
            return Responses.detail(404, "Model run not found")
        }
        return Responses.json(200, run.envelope)
    }
}

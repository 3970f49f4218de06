import FlyingFox
import Foundation

/// The emulator's state and its request dispatch: faults first (they stand in for a gateway in
/// front of the API), then authentication, then the real handlers.
struct Emulator: Sendable {
    let options: EmulatorOptions
    let baseURL: String
    let store: RunStore
    let faults: FaultPlan
    let log = RequestLog()
    let signer = UploadSigner()
    let uploadDirectory: String

    init(options: EmulatorOptions, baseURL: String, uploadDirectory: String) {
        self.options = options
        self.baseURL = baseURL
        self.uploadDirectory = uploadDirectory
        store = RunStore(deletionDelay: options.deletionDelaySeconds)
        faults = FaultPlan(specs: options.faults)
    }

    func handle(_ request: HTTPRequest) async -> HTTPResponse {
        let route = Route.classify(method: request.method.rawValue, path: request.path)
        switch route {
        case .emulatorLog:
            _ = await BodyReader.drain(request.bodySequence)
            return Responses.json(200, await log.json())
        case .emulatorRuns:
            _ = await BodyReader.drain(request.bodySequence)
            return Responses.json(200, await store.introspection())
        default:
            break
        }

        var record = RequestRecord(
            seq: await log.takeSeq(), method: request.method.rawValue, path: request.path,
            route: route.name?.rawValue, hasApiKey: !(request.headers[HTTPHeader("x-api-key")] ?? "").isEmpty,
            contentLength: request.headers[.contentLength], transferEncoding: request.headers[.transferEncoding],
            contentType: request.headers[.contentType])
        let response = await dispatch(request, route: route, record: &record)
        if case .webSocket = response.payload {
            record.status = nil
        } else {
            record.status = response.statusCode.code
        }
        await log.append(record)
        return response
    }

    private func dispatch(_ request: HTTPRequest, route: Route, record: inout RequestRecord) async -> HTTPResponse {
        if case .methodNotAllowed(let allow, _) = route {
            record.bodyBytes = await BodyReader.drain(request.bodySequence).bytes
            return Responses.methodNotAllowed(allow: allow)
        }
        guard let name = route.name else {
            record.bodyBytes = await BodyReader.drain(request.bodySequence).bytes
            return Responses.detail(404, "Not Found")
        }
        if case .upload(let id) = route { record.runId = id }
        if case .get(let id) = route { record.runId = UUID(uuidString: id)?.uuidString.lowercased() }

        let delay = await faults.delay(for: name)
        if delay > 0 {
            record.fault = "slow"
            try? await Task.sleep(nanoseconds: UInt64(delay * 1_000_000_000))
        }
        if let action = await faults.action(for: name) {
            let drained = await BodyReader.drain(request.bodySequence)
            record.bodyBytes = drained.bytes
            if name == .upload { record.bodySha256 = drained.sha256 }
            switch action {
            case .drop:
                record.fault = "drop"
                return FaultResponses.drop()
            case .malformed:
                record.fault = "malformed"
                return FaultResponses.malformed(name)
            case .status(let code):
                record.fault = "status:\(code)"
                return FaultResponses.status(code, retryAfter: faults.retryAfterSeconds, authCode: faults.authFailureCode)
            }
        }

        switch route {
        case .upload(let id):
            return await handleUpload(request, runID: id, record: &record)
        default:
            guard isAuthorised(request) else {
                record.bodyBytes = await BodyReader.drain(request.bodySequence).bytes
                return faults.authFailureCode == 403
                    ? Responses.json(403, .object([("message", .string("Forbidden"))]))
                    : Responses.detail(401, "Invalid API key")
            }
            switch route {
            case .create: return await handleCreate(request, record: &record)
            case .get(let id):
                record.bodyBytes = await BodyReader.drain(request.bodySequence).bytes
                return await handleGet(id: id)
            default:
                record.bodyBytes = await BodyReader.drain(request.bodySequence).bytes
                return Responses.json(200, .object([("id", .string("emulator-account")), ("features", .array([]))]))
            }
        }
    }

    private func isAuthorised(_ request: HTTPRequest) -> Bool {
        guard let key = request.headers[HTTPHeader("x-api-key")], !key.isEmpty else { return false }
        guard let expected = options.apiKey else { return true }
        return key == expected
    }
}

import CCurl
import FoundationEssentials
import Dispatch
import Glibc

/// The libcurl transport: one easy handle per exchange, so a value of this type can be shared by
/// many threads (each `send` runs on its caller's thread and owns its handle alone).
public struct CurlTransport: HTTPTransport {
    /// Responses of the API are small JSON documents; anything bigger is a misbehaving server.
    public static let defaultMaxResponseBytes = 8 << 20
    /// curl's upload buffer: big blocks keep disk reads and send calls few (curl allows 16 KiB–2 MiB).
    static let uploadBufferBytes = 512 << 10

    public let userAgent: String
    public let maxResponseBytes: Int
    private let log: (@Sendable (String) -> Void)?

    /// `version` goes into `User-Agent: helios/<version>`; `log` receives `-v` lines, already redacted.
    public init(
        version: String = "dev", maxResponseBytes: Int = CurlTransport.defaultMaxResponseBytes,
        log: (@Sendable (String) -> Void)? = nil
    ) {
        self.userAgent = "helios/\(version)"
        self.maxResponseBytes = maxResponseBytes
        self.log = log
    }

    public func send(
        _ request: HTTPRequest, options: TransportOptions,
        progress: (@Sendable (UploadProgress) -> Void)?,
        shouldAbort: (@Sendable () -> Bool)?
    ) throws(TransportError) -> HTTPResponse {
        let secrets = request.headers.filter { Redaction.isSecretHeader($0.name) }.map(\.value)
        let target: URLPolicy.Checked
        do {
            target = try URLPolicy.check(request.url)
        } catch {
            throw .other(code: Int(CURLE_UNSUPPORTED_PROTOCOL.rawValue), message: error.description)
        }
        logRequest(request)
        let started = DispatchTime.now()
        let result: Result<HTTPResponse, TransportError>
        do {
            let exchange = try CurlExchange(maxResponseBytes: maxResponseBytes)
            try exchange.configure(request, options: options, userAgent: userAgent, target: target)
            exchange.progress = progress
            exchange.shouldAbort = shouldAbort
            result = exchange.perform()
        } catch {
            result = .failure(error)
        }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
        switch result {
        case .success(let response):
            log?("< \(response.status) (\(Formatting.fixed(elapsed, 3))s, \(response.body.count) bytes)")
            return response
        case .failure(let error):
            // curl's messages can echo the URL; never let the signature or the key through.
            let safe = Self.redact(error, secrets: secrets)
            log?("! \(safe) (\(Formatting.fixed(elapsed, 3))s)")
            throw safe
        }
    }

    private func logRequest(_ request: HTTPRequest) {
        guard let log else { return }
        log("> \(request.method) \(Redaction.url(request.url))")
        for header in request.headers {
            log("> \(Redaction.headerLine(name: header.name, value: header.value))")
        }
        switch request.body {
        case .none: break
        case .data(let data): log("> (body: \(data.count) bytes)")
        case .file(_, let size, _, _): log("> (body: file, \(size) bytes)")
        }
    }

    static func redact(_ error: TransportError, secrets: [String]) -> TransportError {
        switch error {
        case .couldNotConnect(let m): return .couldNotConnect(Redaction.text(m, secrets: secrets))
        case .connectionLost(let m): return .connectionLost(Redaction.text(m, secrets: secrets))
        case .timedOut(let m): return .timedOut(Redaction.text(m, secrets: secrets))
        case .tlsFailed(let m): return .tlsFailed(Redaction.text(m, secrets: secrets))
        case .other(let code, let m): return .other(code: code, message: Redaction.text(m, secrets: secrets))
        case .unavailable(let m): return .unavailable(Redaction.text(m, secrets: secrets))
        case .aborted, .withheld, .fileUnreadable, .fileChanged: return error
        }
    }
}

/// Owns one `CURL*` for one exchange and is the context of its callbacks. Not Sendable: it lives on
/// the thread that performs the exchange and is freed there.
final class CurlExchange {
    private let handle: UnsafeMutableRawPointer
    private var headerList: UnsafeMutablePointer<curl_slist>?
    private var resolveList: UnsafeMutablePointer<curl_slist>?
    private let errorBuffer: UnsafeMutablePointer<CChar>
    private let maxResponseBytes: Int

    private var upload: FileUploadSource?
    private var uploadHold: UploadHold?
    private var uploadTotal: Int64 = 0
    var progress: (@Sendable (UploadProgress) -> Void)?
    var shouldAbort: (@Sendable () -> Bool)?

    private var responseHeaders: [String: String] = [:]
    private var responseBody = Data()
    private var lastReportedSent: Int64 = -1
    private var abortedByUser = false
    /// An error raised inside a callback, rethrown after `curl_easy_perform` returns.
    private var callbackError: TransportError?

    init(maxResponseBytes: Int) throws(TransportError) {
        // libcurl is loaded (and its process-wide setup run) by the first exchange: see helios_curl.h.
        guard let curl = helios_curl() else {
            throw .unavailable("libcurl could not be loaded: \(String(cString: helios_curl_load_error()))")
        }
        guard let handle = curl.pointee.easy_init() else {
            throw .unavailable("curl_easy_init failed")
        }
        self.handle = handle
        self.maxResponseBytes = maxResponseBytes
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
    }

    deinit {
        helios_curl_easy_cleanup(handle)
        helios_curl_slist_free_all(headerList)
        helios_curl_slist_free_all(resolveList)
        errorBuffer.deallocate()
    }

    // MARK: Options

    func configure(_ request: HTTPRequest, options: TransportOptions, userAgent: String, target: URLPolicy.Checked) throws(TransportError) {
        try set(CURLOPT_ERRORBUFFER, pointer: UnsafeMutableRawPointer(errorBuffer))
        try set(CURLOPT_URL, request.url)
        if target.isLoopback {
            // This machine is reached directly: `http_proxy`/`all_proxy` must not carry a key
            // (over plain http) to a proxy. An empty proxy string turns every proxy variable off.
            try set(CURLOPT_PROXY, "")
            if target.host.hasPrefix("localhost") {
                // "localhost" (and "localhost.") means loopback, never a DNS answer.
                let port = target.port ?? (target.scheme == "https" ? 443 : 80)
                guard let list = helios_curl_slist_append(nil, "\(target.host):\(port):127.0.0.1,[::1]") else {
                    throw .other(code: Int(CURLE_OUT_OF_MEMORY.rawValue), message: "curl_slist_append failed")
                }
                resolveList = list
                try check(helios_curl_setopt_slist(handle, CURLOPT_RESOLVE, list), "CURLOPT_RESOLVE")
            }
        }
        try set(CURLOPT_NOSIGNAL, 1)  // no SIGALRM for DNS timeouts: unsafe in a threaded process
        try set(CURLOPT_PROTOCOLS_STR, "http,https")
        try set(CURLOPT_REDIR_PROTOCOLS_STR, "http,https")
        // Never follow redirects: the API does not use them, and the key must not go to another host.
        try set(CURLOPT_FOLLOWLOCATION, 0)
        try set(CURLOPT_UNRESTRICTED_AUTH, 0)
        // TLS verification is always on; there is deliberately no way to turn it off.
        try set(CURLOPT_SSL_VERIFYPEER, 1)
        try set(CURLOPT_SSL_VERIFYHOST, 2)
        try set(CURLOPT_USERAGENT, userAgent)
        try set(CURLOPT_CONNECTTIMEOUT_MS, Self.milliseconds(options.connectTimeout))
        try set(CURLOPT_TIMEOUT_MS, Self.milliseconds(options.totalTimeout))
        if options.lowSpeedTime > 0 {
            try set(CURLOPT_LOW_SPEED_LIMIT, 1)
            try set(CURLOPT_LOW_SPEED_TIME, max(1, Int(options.lowSpeedTime.rounded(.up))))
        }

        var names = Set<String>()
        for header in request.headers {
            names.insert(header.name.lowercased())
            // "Name;" is curl's spelling of a header with an empty value; "Name:" would delete it.
            try appendHeader(header.value.isEmpty ? "\(header.name);" : "\(header.name): \(header.value)")
        }
        // An empty Expect: stops curl waiting up to 1 s for a "100 Continue" before sending a body.
        try appendHeader("Expect:")

        let method = request.method.uppercased()
        switch request.body {
        case .none:
            if method == "HEAD" {
                try set(CURLOPT_NOBODY, 1)
            } else if method != "GET" {
                try set(CURLOPT_CUSTOMREQUEST, method)
            }
        case .data(let data):
            // Without this curl would label the body application/x-www-form-urlencoded.
            if !names.contains("content-type") { try appendHeader("Content-Type:") }
            try set(CURLOPT_POSTFIELDSIZE_LARGE, offset: curl_off_t(data.count))
            let code = data.withUnsafeBytes { raw -> CURLcode in
                // COPYPOSTFIELDS copies the bytes now, so the Data need not outlive this call.
                let empty: StaticString = ""
                let pointer = raw.baseAddress.map { UnsafeMutableRawPointer(mutating: $0) }
                    ?? UnsafeMutableRawPointer(mutating: empty.utf8Start)
                return helios_curl_setopt_pointer(handle, CURLOPT_COPYPOSTFIELDS, pointer)
            }
            try check(code, "CURLOPT_COPYPOSTFIELDS")
            uploadTotal = Int64(data.count)
            if method != "POST" { try set(CURLOPT_CUSTOMREQUEST, method) }
        case .file(let path, let size, let hold, let sha256):
            let source = try FileUploadSource(path: path, size: size, expectedSHA256: sha256)
            upload = source
            uploadHold = hold
            uploadTotal = size
            try set(CURLOPT_UPLOAD, 1)  // a PUT with a body from the read callback
            try set(CURLOPT_INFILESIZE_LARGE, offset: curl_off_t(size))  // sized: Content-Length, not chunked
            try set(CURLOPT_UPLOAD_BUFFERSIZE, CurlTransport.uploadBufferBytes)
            try check(helios_curl_setopt_read_cb(handle, curlRead), "CURLOPT_READFUNCTION")
            try set(CURLOPT_READDATA, pointer: context)
            try check(helios_curl_setopt_seek_cb(handle, curlSeek), "CURLOPT_SEEKFUNCTION")
            try set(CURLOPT_SEEKDATA, pointer: context)
            if method != "PUT" { try set(CURLOPT_CUSTOMREQUEST, method) }
        }
        if let headerList { try check(helios_curl_setopt_slist(handle, CURLOPT_HTTPHEADER, headerList), "CURLOPT_HTTPHEADER") }

        try check(helios_curl_setopt_write_cb(handle, curlWrite), "CURLOPT_WRITEFUNCTION")
        try set(CURLOPT_WRITEDATA, pointer: context)
        try check(helios_curl_setopt_header_cb(handle, curlHeader), "CURLOPT_HEADERFUNCTION")
        try set(CURLOPT_HEADERDATA, pointer: context)
        try check(helios_curl_setopt_xferinfo_cb(handle, curlXferInfo), "CURLOPT_XFERINFOFUNCTION")
        try set(CURLOPT_XFERINFODATA, pointer: context)
        try set(CURLOPT_NOPROGRESS, 0)
    }

    /// The callbacks' context; unretained because `self` outlives `curl_easy_perform`.
    private var context: UnsafeMutableRawPointer { Unmanaged.passUnretained(self).toOpaque() }

    private func appendHeader(_ line: String) throws(TransportError) {
        guard let list = helios_curl_slist_append(headerList, line) else {
            throw .other(code: Int(CURLE_OUT_OF_MEMORY.rawValue), message: "curl_slist_append failed")
        }
        headerList = list
    }

    private func set(_ option: CURLoption, _ value: Int) throws(TransportError) {
        try check(helios_curl_setopt_long(handle, option, value), "curl_easy_setopt(option \(option.rawValue))")
    }

    private func set(_ option: CURLoption, offset value: curl_off_t) throws(TransportError) {
        try check(helios_curl_setopt_off(handle, option, value), "curl_easy_setopt(option \(option.rawValue))")
    }

    private func set(_ option: CURLoption, _ value: String) throws(TransportError) {
        try check(helios_curl_setopt_string(handle, option, value), "curl_easy_setopt(option \(option.rawValue))")  // curl copies strings
    }

    private func set(_ option: CURLoption, pointer: UnsafeMutableRawPointer) throws(TransportError) {
        try check(helios_curl_setopt_pointer(handle, option, pointer), "curl_easy_setopt(option \(option.rawValue))")
    }

    private static func milliseconds(_ seconds: Double) -> Int {
        seconds > 0 ? max(1, Int((seconds * 1000).rounded())) : 0
    }

    // MARK: Perform

    func perform() -> Result<HTTPResponse, TransportError> {
        var stopped: Int32 = 0
        let code = helios_curl_perform_polling(handle, 100, curlShouldStop, context, &stopped)
        if stopped != 0 { abortedByUser = true }
        if let callbackError { return .failure(callbackError) }
        if abortedByUser { return .failure(.aborted) }
        guard code == CURLE_OK else { return .failure(classify(code)) }
        var status = 0
        _ = helios_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        // curl may skip the last progress call; a finished upload is reported as complete.
        if uploadTotal > 0, lastReportedSent != uploadTotal, let progress {
            progress(UploadProgress(sent: uploadTotal, total: uploadTotal))
        }
        return .success(HTTPResponse(status: status, headers: responseHeaders, body: responseBody))
    }

    /// Sorts a failure by whether the request can have reached the server: the retry policy may
    /// resend a non-idempotent POST only when it certainly did not.
    private func classify(_ code: CURLcode) -> TransportError {
        let message = Self.message(code, detail: String(cString: errorBuffer))
        switch code {
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY, CURLE_COULDNT_CONNECT, CURLE_SSL_CONNECT_ERROR:
            return .couldNotConnect(message)
        case CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CRL_BADFILE,
             CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH, CURLE_SSL_INVALIDCERTSTATUS:
            return .tlsFailed(message)
        case CURLE_OPERATION_TIMEDOUT:
            return connectionEstablished() ? .timedOut(message) : .couldNotConnect(message)
        case CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE,
             CURLE_HTTP2, CURLE_HTTP2_STREAM, CURLE_HTTP3:
            return connectionEstablished() ? .connectionLost(message) : .couldNotConnect(message)
        default:
            return .other(code: Int(code.rawValue), message: message)
        }
    }

    /// True once the TCP (and for https, the TLS) connection was up, i.e. request bytes may have
    /// left. A fresh handle never reuses a connection, so these timers describe this exchange only.
    private func connectionEstablished() -> Bool {
        var connect: curl_off_t = 0
        var appConnect: curl_off_t = 0
        var scheme: UnsafeMutablePointer<CChar>?
        _ = helios_curl_getinfo_off(handle, CURLINFO_CONNECT_TIME_T, &connect)
        _ = helios_curl_getinfo_off(handle, CURLINFO_APPCONNECT_TIME_T, &appConnect)
        _ = helios_curl_getinfo_string(handle, CURLINFO_SCHEME, &scheme)
        let isHTTPS = scheme.map { String(cString: $0).lowercased() == "https" } ?? true
        return isHTTPS ? appConnect > 0 : connect > 0
    }

    /// Every CURLcode becomes text here: curl's name for it plus the error buffer's detail.
    private func check(_ code: CURLcode, _ context: String) throws(TransportError) {
        guard code != CURLE_OK else { return }
        throw Self.error(code, context, detail: String(cString: errorBuffer))
    }

    private static func error(_ code: CURLcode, _ context: String, detail: String) -> TransportError {
        .other(code: Int(code.rawValue), message: "\(context): \(message(code, detail: detail))")
    }

    private static func message(_ code: CURLcode, detail: String) -> String {
        let text = String(cString: helios_curl_easy_strerror(code))
        return detail.isEmpty || detail == text ? text : "\(text): \(detail)"
    }

    // MARK: Callback targets

    fileprivate func receiveBody(_ bytes: UnsafeMutablePointer<CChar>, count: Int) -> Int {
        guard responseBody.count + count <= maxResponseBytes else {
            callbackError = .other(
                code: Int(CURLE_WRITE_ERROR.rawValue),
                message: "response body larger than \(maxResponseBytes) bytes")
            return 0  // any short count makes curl stop with CURLE_WRITE_ERROR
        }
        responseBody.append(UnsafeRawPointer(bytes).assumingMemoryBound(to: UInt8.self), count: count)
        return count
    }

    fileprivate func receiveHeader(_ bytes: UnsafeMutablePointer<CChar>, count: Int) -> Int {
        let raw = UnsafeRawBufferPointer(start: bytes, count: count)
        let line = Text.trimmed(String(decoding: raw, as: UTF8.self))
        if line.hasPrefix("HTTP/") {
            // A new status line (after 100 Continue, or a proxy's CONNECT answer): keep only the last.
            responseHeaders = [:]
        } else if let colon = line.firstIndex(of: ":") {
            let name = Text.trimmed(line[..<colon]).lowercased()
            let value = Text.trimmed(line[line.index(after: colon)...])
            responseHeaders[name] = value
        }
        return count
    }

    fileprivate func readBody(into bytes: UnsafeMutablePointer<CChar>, capacity: Int) -> Int {
        guard let upload else { return 0 }
        // The read that would hand curl the file's last byte waits for the hold's decision.
        if let uploadHold, upload.size - upload.offset <= Int64(capacity) {
            switch uploadHold.wait(shouldAbort: shouldAbort) {
            case true?: break
            case false?:
                callbackError = .withheld
                return HELIOS_CURL_READFUNC_ABORT
            case nil:
                abortedByUser = true
                return HELIOS_CURL_READFUNC_ABORT
            }
        }
        do {
            return try upload.read(into: UnsafeMutableRawBufferPointer(start: bytes, count: capacity))
        } catch {
            callbackError = error
            return HELIOS_CURL_READFUNC_ABORT
        }
    }

    fileprivate func seekBody(to offset: curl_off_t, origin: Int32) -> Int32 {
        // curl only ever rewinds with SEEK_SET.
        guard origin == SEEK_SET, let upload, upload.seek(to: Int64(offset)) else { return HELIOS_CURL_SEEKFUNC_FAIL }
        return HELIOS_CURL_SEEKFUNC_OK
    }

    fileprivate func transferProgress(uploaded: curl_off_t) -> Int32 {
        if let shouldAbort, shouldAbort() {
            abortedByUser = true
            return 1  // non-zero: curl stops with CURLE_ABORTED_BY_CALLBACK
        }
        if let progress, uploadTotal > 0, Int64(uploaded) != lastReportedSent {
            lastReportedSent = Int64(uploaded)
            progress(UploadProgress(sent: Int64(uploaded), total: uploadTotal))
        }
        return 0
    }
}

// Capture-free C callbacks: each recovers its exchange from the user pointer and forwards to it.

private func exchange(_ userdata: UnsafeMutableRawPointer?) -> CurlExchange? {
    userdata.map { Unmanaged<CurlExchange>.fromOpaque($0).takeUnretainedValue() }
}

private let curlWrite: helios_curl_data_cb = { ptr, size, nmemb, userdata in
    guard let ptr, let target = exchange(userdata) else { return 0 }
    return target.receiveBody(ptr, count: size * nmemb)
}

private let curlHeader: helios_curl_data_cb = { ptr, size, nmemb, userdata in
    guard let ptr, let target = exchange(userdata) else { return 0 }
    return target.receiveHeader(ptr, count: size * nmemb)
}

private let curlRead: helios_curl_data_cb = { ptr, size, nmemb, userdata in
    guard let ptr, let target = exchange(userdata) else { return HELIOS_CURL_READFUNC_ABORT }
    return target.readBody(into: ptr, capacity: size * nmemb)
}

private let curlSeek: helios_curl_seek_cb = { userdata, offset, origin in
    guard let target = exchange(userdata) else { return HELIOS_CURL_SEEKFUNC_FAIL }
    return target.seekBody(to: offset, origin: origin)
}

private let curlShouldStop: helios_curl_stop_cb = { userdata in
    guard let target = exchange(userdata) else { return 1 }
    return target.shouldAbort?() == true ? 1 : 0
}

private let curlXferInfo: helios_curl_xferinfo_cb = { userdata, _, _, _, ulnow in
    guard let target = exchange(userdata) else { return 1 }
    return target.transferProgress(uploaded: ulnow)
}

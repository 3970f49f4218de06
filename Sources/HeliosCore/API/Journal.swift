import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// One line of `runs.jsonl`: the state of one run (or one attempt to create a run) at `time`. The
/// journal is append-only; the last line for a key (`intent`, else `runId`) is the current state.
/// Never holds the API key or the upload URL (its signature is a credential; see
/// `UploadURLStore`); it does hold the finished run object, so results can be printed again.
public struct JournalEntry: Codable, Sendable, Equatable {
    /// Drawn by helios before it asks for a run, so the attempt has an identity before the
    /// server gives it one. Nil for runs created elsewhere and only polled here.
    public var intent: String?
    /// Nil while the create's answer is not in (`creating`, `create-unconfirmed`).
    public var runId: String?
    public var time: String
    public var baseURL: String
    public var file: String?
    public var bytes: Int64?
    public var sha256: String?
    public var userLabel: String?
    /// The manifest line the run was made for, when it came from a manifest.
    public var line: Int?
    public var state: RunState
    /// What the API last said (`RUNNING`, `COMPLETE_OK`, …), verbatim.
    public var apiStatus: String?
    /// Digest of the create request, so a resumed batch recognises the same recording *and* fields.
    public var requestDigest: String?
    public var uploadURLExpiresAt: String?
    /// The MIME type the upload was (or will be) sent with.
    public var contentType: String?
    public var errorCode: String?
    /// The run made in place of this one (an expired upload URL, an unconfirmed create).
    public var replacedBy: String?
    /// The API's run object once finished; read from the journal, it stays bytes until asked for.
    public var run: LazyJSON?

    public init(intent: String? = nil, runId: String?, time: String = JournalEntry.now(), baseURL: String,
                file: String? = nil, bytes: Int64? = nil, sha256: String? = nil, userLabel: String? = nil,
                state: RunState, apiStatus: String? = nil, requestDigest: String? = nil) {
        self.intent = intent
        self.runId = runId
        self.time = time
        self.baseURL = baseURL
        self.file = file
        self.bytes = bytes
        self.sha256 = sha256
        self.userLabel = userLabel
        self.state = state
        self.apiStatus = apiStatus
        self.requestDigest = requestDigest
    }

    /// The journal's key for this run: one attempt to create, or one run polled from elsewhere.
    public var key: String { intent ?? runId ?? "" }

    /// Unfinished, and not superseded by a run made in its place.
    public var isPending: Bool { state.isPending && replacedBy == nil }

    /// A create whose answer never came (CREATING, CREATE_UNCONFIRMED): a run may exist that
    /// helios cannot name, which `runs` says once under its table.
    var isUnconfirmedCreate: Bool { state == .createUnconfirmed || state == .creating }

    public var typedAPIStatus: APIStatus? { apiStatus.map(APIStatus.init) }

    /// The finished run's scores (`ModelRun.scores`), read without building the run object.
    public var scores: Scores? { run?.read(ModelRun.scores(of:), ModelRun.scores(of:)) }

    /// What `runs` shows: the API's final word once finished, else helios' own state.
    public var status: String {
        switch state {
        case .finished: apiStatus ?? "FINISHED"
        case .uploaded: apiStatus.flatMap { $0 == "CREATED" ? nil : $0 } ?? state.label
        default: state.label
        }
    }

    /// helios 0.1.0's single `status` string as a state and the API's status.
    public static func state(legacyStatus old: String) -> (RunState, String?) {
        switch old {
        case "CREATED": (.created, nil)
        case "ABANDONED": (.abandoned, nil)
        case "UPLOADED": (.uploaded, nil)
        case "COMPLETE_OK", "COMPLETE_ERROR": (.finished, old)
        default: (.uploaded, old)
        }
    }

    /// This entry in another state, as of `time` (the lifecycle passes its injected clock's).
    public func with(state: RunState, at time: String = JournalEntry.now()) -> JournalEntry {
        var copy = self
        copy.time = time
        copy.state = state
        return copy
    }

    public static func now() -> String {
        Text.iso8601UTC()
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case intent, runId, time, baseURL, file, bytes, sha256, userLabel, line, state, apiStatus, requestDigest,
             uploadURLExpiresAt, contentType, errorCode, replacedBy, run, status
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(intent, forKey: .intent)
        try c.encodeIfPresent(runId, forKey: .runId)
        try c.encode(time, forKey: .time)
        try c.encode(baseURL, forKey: .baseURL)
        try c.encodeIfPresent(file, forKey: .file)
        try c.encodeIfPresent(bytes, forKey: .bytes)
        try c.encodeIfPresent(sha256, forKey: .sha256)
        try c.encodeIfPresent(userLabel, forKey: .userLabel)
        try c.encodeIfPresent(line, forKey: .line)
        try c.encode(state, forKey: .state)
        try c.encodeIfPresent(apiStatus, forKey: .apiStatus)
        try c.encodeIfPresent(requestDigest, forKey: .requestDigest)
        try c.encodeIfPresent(uploadURLExpiresAt, forKey: .uploadURLExpiresAt)
        try c.encodeIfPresent(contentType, forKey: .contentType)
        try c.encodeIfPresent(errorCode, forKey: .errorCode)
        try c.encodeIfPresent(replacedBy, forKey: .replacedBy)
        try c.encodeIfPresent(run?.value, forKey: .run)
    }

    /// The line `runs --json` prints for this entry, the bytes `JSONLine.encode` gives, written
    /// directly (`JSONText`); nil when the run object holds a number JSON cannot (the encoder's
    /// refusal, which `JSONLine.encode` reports).
    func jsonLine() -> String? {
        var out: [UInt8] = []
        out.reserveCapacity(1024)
        var first = true
        func name(_ key: CodingKeys) {
            out.append(UInt8(ascii: first ? "{" : ","))
            first = false
            JSONText.string(key.stringValue, into: &out)
            out.append(UInt8(ascii: ":"))
        }
        func text(_ key: CodingKeys, _ value: String?) {
            guard let value else { return }
            name(key)
            JSONText.string(value, into: &out)
        }
        for (key, _) in Self.sortedFields {
            switch key {
            case .intent: text(key, intent)
            case .runId: text(key, runId)
            case .time: text(key, time)
            case .baseURL: text(key, baseURL)
            case .file: text(key, file)
            case .bytes: if let bytes { name(key); JSONText.integer(bytes, into: &out) }
            case .sha256: text(key, sha256)
            case .userLabel: text(key, userLabel)
            case .line: if let line { name(key); JSONText.integer(Int64(line), into: &out) }
            case .state: text(key, state.rawValue)
            case .apiStatus: text(key, apiStatus)
            case .requestDigest: text(key, requestDigest)
            case .uploadURLExpiresAt: text(key, uploadURLExpiresAt)
            case .contentType: text(key, contentType)
            case .errorCode: text(key, errorCode)
            case .replacedBy: text(key, replacedBy)
            case .run:
                if let run {
                    name(key)
                    guard JSONText.value(run.value, into: &out) else { return nil }
                }
            case .status: break  // read from old lines, never written
            }
        }
        out.append(contentsOf: first ? [UInt8(ascii: "{"), UInt8(ascii: "}"), 0x0A] : [UInt8(ascii: "}"), 0x0A])
        return String(decoding: out, as: UTF8.self)
    }

    /// `fields` in the encoder's order: by their names' UTF-8 bytes.
    private static let sortedFields = fields.sorted { $0.name.lexicographicallyPrecedes($1.name) }

    /// Each field with its name's bytes, which a line's members are matched against.
    private static let fields = CodingKeys.allCases.map { (key: $0, name: Array($0.stringValue.utf8)) }

    /// One journal line read straight from its bytes (`JSONScanner`, no `JSONValue` built), by
    /// the rules of `init(from:)`: the fast path of `Journal`'s readers. The run object is
    /// checked and kept as bytes. nil for a line that is not an entry.
    init?(line: UnsafeRawBufferPointer) {
        // Where each field's value is (the last of a repeated name, as a decoder keeps it).
        var found = [Range<Int>?](repeating: nil, count: Self.fields.count)
        var containers = JSONScanner.Containers()
        guard JSONScanner.forEachMember(line, recording: &containers, { name, value in
            if let k = Self.fields.firstIndex(where: { JSONScanner.isName(name, $0.name) }) { found[k] = value }
        }) else { return nil }
        func range(_ key: CodingKeys) -> Range<Int>? {
            guard let k = Self.fields.firstIndex(where: { $0.key == key }), let range = found[k] else { return nil }
            return line[range.lowerBound] == UInt8(ascii: "n") ? nil : range  // null, as if absent
        }
        func bytes(_ key: CodingKeys) -> UnsafeRawBufferPointer? { range(key).map { UnsafeRawBufferPointer(rebasing: line[$0]) } }
        func string(_ key: CodingKeys) -> String?? {
            guard let value = bytes(key) else { return .some(nil) }
            return JSONScanner.string(value).map { .some($0) } ?? nil  // present, but not a string: not an entry helios wrote
        }
        func integer(_ key: CodingKeys) -> Int64?? {
            guard let value = bytes(key) else { return .some(nil) }
            guard let n = JSONScanner.parse(value)?.doubleValue, n.rounded() == n, abs(n) < 9e15 else { return nil }
            return .some(Int64(n))
        }
        guard let intent = string(.intent), let runId = string(.runId), let time = string(.time) ?? nil,
              let baseURL = string(.baseURL) ?? nil, let file = string(.file), let bytesCount = integer(.bytes),
              let sha256 = string(.sha256), let userLabel = string(.userLabel), let manifestLine = integer(.line),
              var apiStatus = string(.apiStatus), let requestDigest = string(.requestDigest),
              let expires = string(.uploadURLExpiresAt), let contentType = string(.contentType),
              let errorCode = string(.errorCode), let replacedBy = string(.replacedBy), runId != nil || intent != nil else { return nil }
        let state: RunState
        if let named = string(.state) ?? nil {
            guard let s = RunState(rawValue: named) else { return nil }
            state = s
        } else {
            guard let legacy = string(.status) ?? nil else { return nil }
            (state, apiStatus) = Self.state(legacyStatus: legacy)
        }
        self.init(intent: intent, runId: runId, time: time, baseURL: baseURL, file: file, bytes: bytesCount, sha256: sha256,
                  userLabel: userLabel, state: state, apiStatus: apiStatus, requestDigest: requestDigest)
        self.line = manifestLine.map { Int($0) }
        uploadURLExpiresAt = expires
        self.contentType = contentType
        self.errorCode = errorCode
        self.replacedBy = replacedBy
        run = range(.run).map { LazyJSON(checked: UnsafeRawBufferPointer(rebasing: line[$0]), containers: containers.within($0)) }
    }

    /// Also reads the journals of helios 0.1.0, which kept one `status` string for everything.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        intent = try c.decodeIfPresent(String.self, forKey: .intent)
        runId = try c.decodeIfPresent(String.self, forKey: .runId)
        time = try c.decode(String.self, forKey: .time)
        baseURL = try c.decode(String.self, forKey: .baseURL)
        file = try c.decodeIfPresent(String.self, forKey: .file)
        bytes = try c.decodeIfPresent(Int64.self, forKey: .bytes)
        sha256 = try c.decodeIfPresent(String.self, forKey: .sha256)
        userLabel = try c.decodeIfPresent(String.self, forKey: .userLabel)
        line = try c.decodeIfPresent(Int.self, forKey: .line)
        apiStatus = try c.decodeIfPresent(String.self, forKey: .apiStatus)
        if let state = try c.decodeIfPresent(RunState.self, forKey: .state) {
            self.state = state
        } else {
            (state, apiStatus) = Self.state(legacyStatus: try c.decode(String.self, forKey: .status))
        }
        requestDigest = try c.decodeIfPresent(String.self, forKey: .requestDigest)
        uploadURLExpiresAt = try c.decodeIfPresent(String.self, forKey: .uploadURLExpiresAt)
        contentType = try c.decodeIfPresent(String.self, forKey: .contentType)
        errorCode = try c.decodeIfPresent(String.self, forKey: .errorCode)
        replacedBy = try c.decodeIfPresent(String.self, forKey: .replacedBy)
        run = try c.decodeIfPresent(JSONValue.self, forKey: .run).map(LazyJSON.init)
        guard runId != nil || intent != nil else {
            throw DecodingError.dataCorruptedError(forKey: .runId, in: c, debugDescription: "neither a run id nor an intent")
        }
    }
}

public enum JournalError: Error, Sendable, Equatable {
    case cannotOpen(path: String, reason: String)
    case cannotWrite(path: String, reason: String)

    public var reason: String {
        switch self {
        case .cannotOpen(_, let reason), .cannotWrite(_, let reason): reason
        }
    }
}

/// `runs.jsonl` in the state directory, mode 0600. Each append is one `write(2)` of a whole line
/// under an exclusive `flock`, so concurrent helios processes never interleave or tear lines.
public struct Journal: Sendable {
    public let path: String
    /// Consulted before each append (tests simulate a crash by refusing every write from then on).
    let beforeEffect: (@Sendable (String) throws -> Void)?

    public init(path: String, beforeEffect: (@Sendable (String) throws -> Void)? = nil) {
        self.path = path
        self.beforeEffect = beforeEffect
    }

    /// Opens the journal for appending and closes it again: a command that will create runs
    /// checks this before it does any work, so nothing is paid for that could not be recorded.
    public func checkWritable() throws(JournalError) {
        let fd = try open(forAppend: true)
        close(fd)
    }

    /// `$HELIOS_STATE_DIR`, else `$XDG_STATE_HOME/helios`, else `~/.local/state/helios`.
    public static func defaultPath(environment: [String: String]) -> String {
        let dir: String
        if let d = environment["HELIOS_STATE_DIR"], !d.isEmpty {
            dir = d
        } else if let x = environment["XDG_STATE_HOME"], !x.isEmpty {
            dir = x + "/helios"
        } else {
            dir = (environment["HOME"] ?? Text.homeDirectory()) + "/.local/state/helios"
        }
        return dir + "/runs.jsonl"
    }

    public func append(_ entry: JournalEntry) throws(JournalError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        if let beforeEffect {
            do { try beforeEffect("journal") } catch { throw .cannotWrite(path: path, reason: "\(error)") }
        }
        guard var line = try? encoder.encode(entry) else { throw .cannotWrite(path: path, reason: "could not encode the entry") }
        line.append(0x0A)
        let fd = try openCurrent()
        defer { close(fd) }
        defer { flock(fd, LOCK_UN) }
        // After a crash mid-write the file ends without a newline: start on a fresh line, or this
        // entry (perhaps the only record of a new run) would be glued to the fragment and lost.
        var st = stat()
        if fstat(fd, &st) == 0, st.st_size > 0 {
            var last: UInt8 = 0
            if pread(fd, &last, 1, st.st_size - 1) == 1, last != 0x0A { line.insert(0x0A, at: 0) }
        }
        let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == line.count else { throw .cannotWrite(path: path, reason: String(cString: strerror(errno))) }
    }

    /// Every readable entry in order. A torn or corrupt line (a power cut mid-write) is skipped and
    /// reported through `warn`, never fatal. A missing journal is empty.
    public func entries(warn: (String) -> Void = { _ in }) throws(JournalError) -> [JournalEntry] {
        var result: [JournalEntry] = []
        try withReadLock { fd in
            Self.forEachLine(fd) { number, _, bytes in
                if let entry = JournalEntry(line: bytes) {
                    result.append(entry)
                } else {
                    warn("skipping unreadable line \(number) of \(path)")
                }
            }
        }
        return result
    }

    /// The current state of each run (its last entry), in the order runs were first journaled.
    /// Entries group by intent, so a create's trace and the run it became are one item.
    public func latest(warn: (String) -> Void = { _ in }) throws(JournalError) -> [JournalEntry] {
        var result: [JournalEntry] = []
        try forEachLatest(warn: warn) { result.append($0) }
        return result
    }

    /// `latest`, streamed: memory holds a key and an offset per run, never the file or the
    /// entries. Two passes under one shared lock: the first finds each run's last line from
    /// its `intent`/`runId` alone (no entry is built), the second reads and decodes just those
    /// lines, in the order the runs were first journaled.
    public func forEachLatest(warn: (String) -> Void = { _ in }, _ body: (JournalEntry) -> Void) throws(JournalError) {
        try withReadLock { fd in
            var buffer: [UInt8] = []
            for line in Self.lastLines(fd, warn: { warn("skipping unreadable line \($0) of \(path)") }) {
                if let entry = Self.entry(fd, line, &buffer) { body(entry) } else { warn("skipping unreadable line \(line.number) of \(path)") }
            }
        }
    }

    /// `forEachLatest` for work done per run (`transform`, run with the decoding): the runs'
    /// last lines are shared between `threads` threads, `batch` runs at a time, and `body` gets
    /// the results in the same order, with the same warnings, as `forEachLatest` would give. A run
    /// `transform` drops (nil) reaches `body` not at all. Memory holds one result per run of a
    /// batch (`runs --json` renders each run's line here: 100,000 of them would be 100 MB).
    public func forEachLatest<T: Sendable>(
        warn: (String) -> Void = { _ in }, threads: Int = Journal.readerThreads, batch: Int = 16_384,
        transform: @escaping @Sendable (JournalEntry) -> T?, _ body: (T) -> Void
    ) throws(JournalError) {
        try withReadLock { fd in
            let lines = Self.lastLines(fd, warn: { warn("skipping unreadable line \($0) of \(path)") })
            // Small journals are not worth a thread.
            let parts = lines.count < 4096 ? 1 : max(1, threads)
            var from = 0
            while from < lines.count {
                let start = from, end = min(lines.count, from + max(1, batch))
                let results = Results<T>(count: end - start)
                defer { results.free() }
                let size = (end - start + parts - 1) / parts
                let decode: @Sendable (Range<Int>) -> Void = { range in
                    var buffer: [UInt8] = []
                    for i in range {
                        results.slots[i - start] = Self.entry(fd, lines[i], &buffer).map { .value(transform($0)) } ?? .unreadable
                    }
                }
                let workers = (1..<parts).map { p in Worker(elsewhere: true) { decode(min(start + p * size, end)..<min(start + (p + 1) * size, end)) } }
                decode(start..<min(start + size, end))
                workers.forEach { $0.join() }
                for (k, slot) in results.slots.enumerated() {
                    switch slot {
                    case .unreadable: warn("skipping unreadable line \(lines[start + k].number) of \(path)")
                    case .value(let value?): body(value)
                    case .value(nil), .empty: break
                    }
                }
                from = end
            }
        }
    }

    /// Two: the decoding that parallel `forEachLatest` shares out scales to 2 cores (the
    /// machines helios is measured on); more threads mostly contend for memory bandwidth.
    public static let readerThreads = 2

    /// One result slot per run, each written by exactly one thread (no locks, no copies).
    private final class Results<T>: @unchecked Sendable {
        enum Slot { case empty, unreadable, value(T?) }
        let slots: UnsafeMutableBufferPointer<Slot>
        init(count: Int) {
            slots = .allocate(capacity: count)
            slots.initialize(repeating: .empty)
        }
        func free() {
            slots.deinitialize()
            slots.deallocate()
        }
    }

    /// The entry on one line found by `lastLines`, read into `buffer`; nil when it does not decode.
    private static func entry(_ fd: Int32, _ line: (offset: Int64, length: Int, number: Int), _ buffer: inout [UInt8]) -> JournalEntry? {
        if buffer.count < line.length { buffer = [UInt8](repeating: 0, count: line.length) }
        let got = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, line.length, off_t(line.offset)) }
        guard got == line.length else { return nil }
        return buffer.withUnsafeBytes { JournalEntry(line: UnsafeRawBufferPointer(rebasing: $0[0..<line.length])) }
    }

    /// A line of the journal: where it is and its 1-based number.
    typealias Line = (offset: Int64, length: Int, number: Int)

    /// Each run's last line, in the order runs were first journaled, found from the
    /// `intent`/`runId` fields alone: no entry is built. A line without either is unreadable
    /// (`warn` gets its number) and groups with nothing. A large journal is read in two halves
    /// on two threads (split at a line start), merged as if read in one go.
    static func lastLines(_ fd: Int32, threads: Int = readerThreads, splitAbove: Int64 = 8 << 20, warn: (Int) -> Void) -> [Line] {
        var st = stat()
        let size = fstat(fd, &st) == 0 ? Int64(st.st_size) : 0
        guard threads > 1, size >= splitAbove, let split = lineStart(fd, after: size / 2) else {
            var whole = LastLines()
            whole.scan(fd, from: 0, to: .max)
            whole.unreadable.forEach(warn)
            return whole.lines
        }
        let second = LastLinesBox()
        let worker = Worker(elsewhere: true) { second.value.scan(fd, from: split, to: .max) }
        var first = LastLines()
        first.scan(fd, from: 0, to: split)
        worker.join()
        // The second half's lines come after the first's: renumbered, a run seen in both ends
        // where the second half last saw it, a run new there is appended in its order.
        var lines = first.lines
        for (j, line) in second.value.lines.enumerated() {
            let renumbered = (line.offset, line.length, line.number + first.count)
            if let k = first.index[second.value.keys[j]] { lines[k] = renumbered } else { lines.append(renumbered) }
        }
        first.unreadable.forEach(warn)
        second.value.unreadable.forEach { warn($0 + first.count) }
        return lines
    }

    /// The last lines of the runs in one stretch of the journal.
    struct LastLines {
        var lines: [Line] = []
        /// Each run's key (intent, else run id), by its place in `lines`; and the reverse.
        var keys: [String] = []
        var index: [String: Int] = [:]
        var unreadable: [Int] = []
        /// Lines read (numbers within the stretch run 1...count).
        var count = 0

        mutating func scan(_ fd: Int32, from start: Int64, to end: Int64) {
            count = Journal.forEachLine(fd, from: start, to: end) { number, offset, bytes in
                guard let key = Journal.key(of: bytes) else {
                    unreadable.append(number)
                    return
                }
                if let k = index[key] {
                    lines[k] = (offset, bytes.count, number)
                } else {
                    index[key] = lines.count
                    keys.append(key)
                    lines.append((offset, bytes.count, number))
                }
            }
        }
    }

    /// The second half's result, filled by its thread and read after `join`.
    private final class LastLinesBox: @unchecked Sendable {
        var value = LastLines()
    }

    /// The offset just past the first newline at or after `offset`; nil when none follows.
    static func lineStart(_ fd: Int32, after offset: Int64) -> Int64? {
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        var at = offset
        while true {
            let got = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(at)) }
            guard got > 0 else { return nil }
            if let i = buffer[0..<got].firstIndex(of: 0x0A) { return at + Int64(i) + 1 }
            at += Int64(got)
        }
    }

    /// The key a line groups under, as `JournalEntry.key` has it (the intent when it is a
    /// string, else the run id), read from those two members alone; nil for a line that is not
    /// a JSON object or has neither.
    static func key(of line: UnsafeRawBufferPointer) -> String? {
        var intent: Range<Int>?, runId: Range<Int>?
        let isObject = JSONScanner.forEachMember(line) { name, value in
            if JSONScanner.isName(name, keyFields.intent) { intent = value } else if JSONScanner.isName(name, keyFields.runId) { runId = value }
        }
        func string(_ range: Range<Int>?) -> String? { range.flatMap { JSONScanner.string(UnsafeRawBufferPointer(rebasing: line[$0])) } }
        guard isObject else { return nil }
        return string(intent) ?? string(runId)
    }

    /// What groups a run's lines: its intent, else its run id (`JournalEntry.key`).
    static let keyFields = (intent: Array("intent".utf8), runId: Array("runId".utf8))

    /// The journal open for reading under a shared lock (nothing when it does not exist yet).
    private func withReadLock(_ body: (Int32) throws(JournalError) -> Void) throws(JournalError) {
        guard FileManager.default.fileExists(atPath: path) else { return }
        let fd = try open(forAppend: false)
        defer { close(fd) }
        try lock(fd, LOCK_SH)
        defer { flock(fd, LOCK_UN) }
        try body(fd)
    }

    /// Each non-empty line of the file: its 1-based number, byte offset and bytes (without the
    /// newline), read 1 MiB at a time. A line longer than `maximumLine` is skipped as unreadable.
    static let maximumLine = 16 << 20
    /// From `start` (a line start) to `end` (a line start, or past the end); returns the number
    /// of lines read, which numbers them 1...count.
    @discardableResult
    static func forEachLine(_ fd: Int32, from start: Int64 = 0, to end: Int64 = .max, _ body: (Int, Int64, UnsafeRawBufferPointer) -> Void) -> Int {
        let chunk = 1 << 20
        var pending: [UInt8] = []   // the start of a line not yet ended
        var pendingOffset: Int64 = 0
        var skipping = false        // inside an over-long line
        var number = 0
        var offset = start
        var buffer = [UInt8](repeating: 0, count: chunk)
        while offset < end {
            let want = Int(min(Int64(chunk), end - offset))
            let got = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, want, off_t(offset)) }
            guard got > 0 else { break }
            buffer.withUnsafeBytes { raw in
                guard let base = raw.baseAddress else { return }
                var start = 0
                while start < got, let newline = memchr(base + start, 0x0A, got - start) {
                    let i = base.distance(to: newline)
                    number += 1
                    if skipping {
                        skipping = false
                    } else if pending.isEmpty {
                        if i > start { body(number, offset + Int64(start), UnsafeRawBufferPointer(rebasing: raw[start..<i])) }
                    } else {
                        pending.append(contentsOf: raw[start..<i])
                        pending.withUnsafeBytes { body(number, pendingOffset, $0) }
                        pending.removeAll(keepingCapacity: true)
                    }
                    start = i + 1
                }
                if start < got, !skipping {
                    if pending.isEmpty { pendingOffset = offset + Int64(start) }
                    pending.append(contentsOf: raw[start..<got])
                    if pending.count > maximumLine { pending = []; skipping = true }
                }
            }
            offset += Int64(got)
        }
        if !pending.isEmpty {
            number += 1
            pending.withUnsafeBytes { body(number, pendingOffset, $0) }
        }
        return number
    }

    /// The journal open for appending and locked exclusively, and still the file at `path`: a
    /// `runs --compact` may have renamed a new journal over it while this process waited for the
    /// lock, and an entry appended to the old one would be lost.
    private func openCurrent() throws(JournalError) -> Int32 {
        while true {
            let fd = try open(forAppend: true)
            do { try lock(fd, LOCK_EX) } catch { close(fd); throw error }
            var held = stat(), named = stat()
            if fstat(fd, &held) == 0, stat(path, &named) == 0, held.st_ino == named.st_ino, held.st_dev == named.st_dev { return fd }
            flock(fd, LOCK_UN)
            close(fd)
        }
    }

    /// Rewrites the journal with only the latest entry of each run (what `runs`, resumes and
    /// `poll --pending` read), atomically: a new file beside it, fsynced, renamed over it, under
    /// the exclusive lock, so concurrent helios processes neither lose an entry nor see half a
    /// journal. Returns the sizes before and after, and the number of runs kept.
    public func compact() throws(JournalError) -> (before: Int64, after: Int64, runs: Int) {
        guard FileManager.default.fileExists(atPath: path) else { return (0, 0, 0) }
        if let beforeEffect {
            do { try beforeEffect("journal") } catch { throw .cannotWrite(path: path, reason: "\(error)") }
        }
        let fd = try openCurrent()
        defer { close(fd) }
        defer { flock(fd, LOCK_UN) }
        var st = stat()
        let before = fstat(fd, &st) == 0 ? Int64(st.st_size) : 0
        // Each run's last line, copied verbatim (no re-encoding: nothing changes but the length).
        let lines = Self.lastLines(fd, warn: { _ in })
        let temp = path + ".compact"
        let out = Glibc.open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard out >= 0 else { throw .cannotWrite(path: temp, reason: String(cString: strerror(errno))) }
        var after: Int64 = 0
        var failed: Int32 = 0
        var buffer: [UInt8] = []
        for (offset, length, _) in lines {
            if buffer.count < length + 1 { buffer = [UInt8](repeating: 0, count: length + 1) }
            let got = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, length, off_t(offset)) }
            guard got == length else { failed = errno; break }
            buffer[length] = 0x0A
            guard PosixFile(borrowing: out).write(buffer[0...length]) else { failed = errno; break }
            after += Int64(length + 1)
        }
        let synced = fsync(out) == 0
        close(out)
        guard failed == 0, synced, rename(temp, path) == 0 else {
            let reason = String(cString: strerror(failed != 0 ? failed : errno))
            unlink(temp)
            throw .cannotWrite(path: path, reason: reason)
        }
        return (before, after, lines.count)
    }

    /// Waits for the lock, retrying when a signal interrupts the wait; never writes unlocked.
    private func lock(_ fd: Int32, _ operation: Int32) throws(JournalError) {
        while flock(fd, operation) != 0 {
            guard errno == EINTR else { throw .cannotWrite(path: path, reason: "cannot lock: " + String(cString: strerror(errno))) }
        }
    }

    private func open(forAppend: Bool) throws(JournalError) -> Int32 {
        // The state directory and its parents, 0700, made the way the upload URLs' and locks' are.
        try PrivateFiles.makeDirectory(Text.deletingLastPathComponent(path))
        // O_NOFOLLOW: a symlink planted at the journal's path is refused, never followed and chmod-ed.
        let flags = forAppend ? (O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW) : (O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        let fd = Glibc.open(path, flags, 0o600)
        guard fd >= 0 else { throw .cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        // A journal created by an older umask or by hand is tightened: it holds health-data metadata.
        if forAppend { fchmod(fd, 0o600) }
        return fd
    }
}

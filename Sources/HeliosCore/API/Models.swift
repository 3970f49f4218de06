import FoundationEssentials
import Glibc

/// `POST /v1/models/mental-wellness` body (helios-api.md §2.1). Absent optionals are omitted.
public struct CreateRunRequest: Encodable, Sendable, Equatable {
    public struct User: Encodable, Sendable, Equatable {
        public var userLabel: String
        public var dateOfBirth: String
        public var birthSex: String
    }

    public var user: User
    public var language: String
    public var accent: String?
    public var sleepTime: String?
    public var wakeTime: String?
    public var recordingTime: String?
    public var tags: [ValueRules.Tag]?
    public var deleteData: Bool?
    public var dataToDelete: [String]?

    public init(userLabel: String, dateOfBirth: String, birthSex: ValueRules.BirthSex, language: String,
                accent: String? = nil, sleepTime: String? = nil, wakeTime: String? = nil, recordingTime: String? = nil,
                tags: [ValueRules.Tag] = [], deleteData: Bool = false, deleteRecordingsOnly: Bool = false) {
        user = User(userLabel: userLabel, dateOfBirth: dateOfBirth, birthSex: birthSex.rawValue)
        self.language = language
        self.accent = accent
        self.sleepTime = sleepTime
        self.wakeTime = wakeTime
        self.recordingTime = recordingTime
        self.tags = tags.isEmpty ? nil : tags
        if deleteRecordingsOnly {
            self.deleteData = true
            dataToDelete = ["RECORDINGS"]
        } else if deleteData {
            self.deleteData = true
        }
    }
}

/// `200` of the create call: the run id and where to PUT the recording.
public struct CreateRunResponse: Sendable, Equatable {
    public var id: String
    /// Nil when the answer had none (or not a string): the run exists but cannot get its recording.
    public var recordingUploadUrl: String?

    public init(id: String, recordingUploadUrl: String?) {
        self.id = id
        self.recordingUploadUrl = recordingUploadUrl
    }

    /// Nil without a string `id`; a missing or non-string URL leaves only the URL out.
    public init?(json: JSONValue) {
        guard case .object = json, let id = json["id"]?.stringValue else { return nil }
        self.id = id
        recordingUploadUrl = json["recordingUploadUrl"]?.stringValue
    }
}

/// `GET /v1/models/mental-wellness/{id}` (§2.3). Nulls may be present or absent; unknown statuses
/// are kept as strings rather than failing, and the whole object is kept in `raw`.
public struct ModelRun: Sendable, Equatable {
    public var id: String
    public var status: String
    public var userLabel: String?
    public var createdAt: String?
    public var completedAt: String?
    public var errorCode: String?
    public var errorReason: String?
    public var warnings: [String]
    public var raw: JSONValue

    public static let terminalStatuses: Set<String> = ["COMPLETE_OK", "COMPLETE_ERROR"]
    public var isFinished: Bool { Self.terminalStatuses.contains(status) }

    public init(json: JSONValue) throws(APIDecodingError) {
        guard case .object = json else { throw .init("the model run is not a JSON object") }
        guard let id = json["id"]?.stringValue else { throw .init("the model run has no 'id'") }
        guard let status = json["status"]?.stringValue else { throw .init("the model run has no 'status'") }
        self.id = id
        self.status = status
        userLabel = json["userLabel"]?.stringValue
        createdAt = json["createdAt"]?.stringValue
        completedAt = json["completedAt"]?.stringValue
        errorCode = json["errorCode"]?.stringValue
        errorReason = json["errorReason"]?.stringValue
        warnings = json["warnings"]?.arrayValue?.compactMap(\.stringValue) ?? []
        raw = json
    }

    /// The first section's scores (CLI.md: "scores come from the first section"); missing keys tolerated.
    public var scores: Scores? {
        status == "COMPLETE_OK" ? Self.scores(of: raw) : nil
    }

    /// `scores` of a run object as the journal keeps it, built or not: nil unless it is a model
    /// run (`init(json:)`) that is COMPLETE_OK with a first section. A repeated name counts
    /// once, its last value, as in a parsed object.
    static func scores<Run: JSONReadable>(of run: Run) -> Scores? {
        var hasId = false, status: String?, results: Run?
        guard run.forEachMember({ name, value in
            if JSONScanner.isName(name, Name.id) { hasId = value.stringValue != nil }
            if JSONScanner.isName(name, Name.status) { status = value.stringValue }
            if JSONScanner.isName(name, Name.results) { results = value }
        }), hasId, status == "COMPLETE_OK" else { return nil }
        var sections: Run?
        guard results?.forEachMember({ name, value in if JSONScanner.isName(name, Name.sections) { sections = value } }) == true,
              let first = sections?.firstElement else { return nil }
        var s = Scores()
        _ = first.forEachMember { name, score in
            guard let k = Name.scores.firstIndex(where: { JSONScanner.isName(name, $0) }) else { return }
            var value: Double?
            _ = score.forEachMember { name, v in if JSONScanner.isName(name, Name.value) { value = v.doubleValue } }
            s[position: k] = value
        }
        return s
    }

    /// The member names `scores(of:)` reads, as bytes.
    private enum Name {
        static let id = Array("id".utf8), status = Array("status".utf8), results = Array("results".utf8)
        static let sections = Array("sections".utf8), value = Array("value".utf8)
        static let scores = Scores.order.map { Array($0.utf8) }
    }

    public var transcript: String? {
        guard status == "COMPLETE_OK" else { return nil }
        return raw["results"]?["sections"]?.arrayValue?.first?["transcript"]?.stringValue
    }
}

public struct APIDecodingError: Error, Sendable, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
}

/// The eleven Helios scores by API name.
public struct Scores: Codable, Sendable, Equatable {
    public static let order = [
        "mentalStrain", "distress", "stress", "exhaustion", "sleepPropensity", "lowSelfEsteem",
        "uniformDistress", "uniformStress", "uniformExhaustion", "uniformSleepPropensity", "uniformLowSelfEsteem",
    ]
    /// The bucketed scores take one of four values; the others are continuous in [0, 1].
    public static let bucketed: Set<String> = ["distress", "stress", "exhaustion", "sleepPropensity", "lowSelfEsteem"]

    /// The scores in `order`: fixed slots, not a dictionary (`runs` reads 100,000 of them).
    private var slots = [Double?](repeating: nil, count: Scores.order.count)
    public init() {}

    /// A score by API name; nil when the run did not give it (or the name is not a score).
    public subscript(key: String) -> Double? {
        get { Self.index[key].flatMap { slots[$0] } }
        set { if let i = Self.index[key] { slots[i] = newValue } }
    }

    /// A score by its place in `order`.
    subscript(position position: Int) -> Double? {
        get { slots[position] }
        set { slots[position] = newValue }
    }

    /// The scores given, by API name.
    public var values: [String: Double] {
        var values: [String: Double] = [:]
        for (key, value) in zip(Self.order, slots) { values[key] = value }
        return values
    }

    private static let index = Dictionary(uniqueKeysWithValues: order.enumerated().map { ($1, $0) })

    public init(from decoder: any Decoder) throws {
        for (key, value) in try decoder.singleValueContainer().decode([String: Double].self) { self[key] = value }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(values)
    }

    /// helios' own rough guide to a score for text output, on one scale for every score:
    /// quarters of 0…1. thymia publishes no bands or thresholds; these are not clinical and not
    /// thymia's (`helios help output`). The bucketed values 0, 0.33, 0.66 and 1 fall in the
    /// first, second, third and fourth quarter, so a word means the same range on both kinds.
    public static let bands = ["low", "mild", "elevated", "high"]

    public static func band(_ value: Double) -> String {
        switch value {
        case ..<0.25: return bands[0]
        case ..<0.5: return bands[1]
        case ..<0.75: return bands[2]
        default: return bands[3]
        }
    }
}

/// `HTTPValidationError` (422): FastAPI's `{"detail":[{loc,msg,type}]}`, or a plain `detail` string.
public struct ValidationErrorBody: Sendable {
    public var messages: [String]

    public init?(data: Data) {
        guard let json = try? JSONDecoder().decode(JSONValue.self, from: data) else { return nil }
        if let text = json["detail"]?.stringValue {
            messages = [text]
        } else if let items = json["detail"]?.arrayValue {
            messages = items.map { item in
                let loc = item["loc"]?.arrayValue?.compactMap { v -> String? in
                    if let s = v.stringValue { return s }
                    // A server's number may be anything (1e300, NaN): never trap converting it.
                    if let n = v.doubleValue { return Int(exactly: n).map(String.init) ?? "\(n)" }
                    return nil
                }.filter { $0 != "body" }.joined(separator: ".") ?? ""
                let msg = item["msg"]?.stringValue ?? "invalid"
                return loc.isEmpty ? msg : "\(loc): \(msg)"
            }
        } else if let text = json["message"]?.stringValue {
            messages = [text]
        } else {
            return nil
        }
    }
}

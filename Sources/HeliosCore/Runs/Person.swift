/// The person a recording belongs to and the context it was made in: the user fields of a run,
/// declared once. Command-line options, manifest rows and the create request all carry this.
public struct Person: Sendable, Equatable {
    /// `nil`: none given; a fresh UUID is drawn when the run is created (and kept on resume).
    public var userLabel: String?
    public var dateOfBirth: String
    public var birthSex: ValueRules.BirthSex
    public var language: String
    public var accent: String?
    public var sleepTime: String?
    public var wakeTime: String?
    public var recordingTime: String?
    public var tags: [ValueRules.Tag]

    public init(userLabel: String? = nil, dateOfBirth: String, birthSex: ValueRules.BirthSex, language: String = "en-GB",
                accent: String? = nil, sleepTime: String? = nil, wakeTime: String? = nil, recordingTime: String? = nil,
                tags: [ValueRules.Tag] = []) {
        self.userLabel = userLabel
        self.dateOfBirth = dateOfBirth
        self.birthSex = birthSex
        self.language = language
        self.accent = accent
        self.sleepTime = sleepTime
        self.wakeTime = wakeTime
        self.recordingTime = recordingTime
        self.tags = tags
    }
}

/// What thymia should do with the data afterwards (`--delete-data`, `--delete-recordings`).
public enum DataDeletion: Sendable, Equatable {
    case keep, all, recordingsOnly
}

/// One recording to send and whose it is: a command-line file or a manifest row.
public struct Submission: Sendable, Equatable {
    public var file: String
    /// The manifest's physical line, or nil for a file named on the command line.
    public var line: Int?
    public var person: Person

    public init(file: String, line: Int? = nil, person: Person) {
        self.file = file
        self.line = line
        self.person = person
    }
}

extension CreateRunRequest {
    public init(person: Person, userLabel: String, deletion: DataDeletion) {
        self.init(userLabel: userLabel, dateOfBirth: person.dateOfBirth, birthSex: person.birthSex, language: person.language,
                  accent: person.accent, sleepTime: person.sleepTime, wakeTime: person.wakeTime,
                  recordingTime: person.recordingTime, tags: person.tags, deleteData: deletion == .all,
                  deleteRecordingsOnly: deletion == .recordingsOnly)
    }
}

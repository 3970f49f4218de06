import Foundation

/// A validated `POST /v1/models/mental-wellness` body (helios-api.md §2.1).
struct CreateRunRequest: Sendable {
    var userLabel: String
    var dateOfBirth: String
    var birthSex: String
    var language: String
    var accent: String?
    var sleepTime: String?
    var wakeTime: String?
    var recordingTime: String?
    var tags: [(name: String, value: String)]
    var deleteData: Bool
    var dataToDelete: [String]?
}

/// One FastAPI-style validation error (`HTTPValidationError.detail[]`, §2.6).
struct FieldError: Sendable {
    enum LocPart: Sendable { case key(String), index(Int) }
    var loc: [LocPart]
    var msg: String
    var type: String

    var json: JSON {
        .object([
            ("loc", .array(loc.map { if case .key(let k) = $0 { .string(k) } else if case .index(let i) = $0 { .number(Double(i)) } else { .null } })),
            ("msg", .string(msg)),
            ("type", .string(type)),
        ])
    }
}

/// Every error of one rejected body.
struct ValidationFailure: Error {
    var errors: [FieldError]
}

/// Checks a create body completely and reports every error, as Pydantic does.
struct CreateRunValidator: Sendable {
    static let birthSexes = ["MALE", "FEMALE", "INTERSEX", "UNKNOWN"]
    static let accents = ["ID", "NG", "KE"]
    static let dataTypes = ["RECORDINGS"]

    var languages: [String]
    /// The UTC date `dateOfBirth` is checked against; injectable for tests.
    var today: (year: Int, month: Int, day: Int) = CreateRunValidator.utcToday()

    func validate(_ body: Data) -> Result<CreateRunRequest, ValidationFailure> {
        guard let json = JSON.parse(body) else {
            return .failure(ValidationFailure(errors: [FieldError(loc: [.key("body")], msg: "body is not valid JSON", type: "value_error.jsondecode")]))
        }
        guard case .object = json else {
            return .failure(ValidationFailure(errors: [FieldError(loc: [.key("body")], msg: "value is not a valid dict", type: "type_error.dict")]))
        }
        var errors: [FieldError] = []
        func fail(_ loc: [FieldError.LocPart], _ msg: String, _ type: String) {
            errors.append(FieldError(loc: [.key("body")] + loc, msg: msg, type: type))
        }
        func missing(_ loc: [FieldError.LocPart]) { fail(loc, "field required", "value_error.missing") }
        func enumError(_ loc: [FieldError.LocPart], _ allowed: [String]) {
            fail(loc, "value is not a valid enumeration member; permitted: " + allowed.map { "'\($0)'" }.joined(separator: ", "), "type_error.enum")
        }
        /// A required or optional string; nil when absent or wrong (errors already recorded).
        func string(_ value: JSON?, _ loc: [FieldError.LocPart], required: Bool) -> String? {
            guard let value, !value.isNull else {
                if required { missing(loc) }
                return nil
            }
            guard let s = value.stringValue else {
                fail(loc, "str type expected", "type_error.str")
                return nil
            }
            return s
        }
        func length(_ s: String, _ loc: [FieldError.LocPart], min: Int, max: Int) -> Bool {
            // Pydantic counts code points, not grapheme clusters.
            let n = s.unicodeScalars.count
            if n < min { fail(loc, "ensure this value has at least \(min) characters", "value_error.any_str.min_length"); return false }
            if n > max { fail(loc, "ensure this value has at most \(max) characters", "value_error.any_str.max_length"); return false }
            return true
        }
        func oneOf(_ value: JSON?, _ loc: [FieldError.LocPart], _ allowed: [String], required: Bool) -> String? {
            guard let s = string(value, loc, required: required) else { return nil }
            guard allowed.contains(s) else { enumError(loc, allowed); return nil }
            return s
        }
        func localDateTime(_ key: String) -> String? {
            guard let s = string(json[key], [.key(key)], required: false) else { return nil }
            switch LocalDateTime.check(s) {
            case .valid: return s
            case .hasOffset:
                fail([.key(key)], "datetime must be local time without a timezone offset or 'Z'", "value_error.datetime.offset")
            case .invalid:
                fail([.key(key)], "invalid datetime format; expected YYYY-MM-DDTHH:MM[:SS[.ffffff]]", "value_error.datetime")
            }
            return nil
        }

        // user
        var userLabel: String?, dateOfBirth: String?, birthSex: String?
        switch json["user"] {
        case nil, .null?: missing([.key("user")])
        case .object?:
            let user = json["user"]
            let labelLoc: [FieldError.LocPart] = [.key("user"), .key("userLabel")]
            if let s = string(user?["userLabel"], labelLoc, required: true), length(s, labelLoc, min: 1, max: 50) { userLabel = s }
            let dobLoc: [FieldError.LocPart] = [.key("user"), .key("dateOfBirth")]
            if let s = string(user?["dateOfBirth"], dobLoc, required: true) {
                if let d = LocalDateTime.date(s) {
                    let t = today
                    // One day of slack: "today" east of UTC may already be tomorrow in UTC terms.
                    if (d.year, d.month, d.day) > LocalDateTime.addingDay((t.year, t.month, t.day)) {
                        fail(dobLoc, "date of birth must not be in the future", "value_error.date.future")
                    } else {
                        dateOfBirth = s
                    }
                } else {
                    fail(dobLoc, "invalid date format; expected YYYY-MM-DD", "value_error.date")
                }
            }
            birthSex = oneOf(user?["birthSex"], [.key("user"), .key("birthSex")], Self.birthSexes, required: true)
        default:
            fail([.key("user")], "value is not a valid dict", "type_error.dict")
        }

        let language = oneOf(json["language"], [.key("language")], languages, required: true)
        let accent = oneOf(json["accent"], [.key("accent")], Self.accents, required: false)
        let sleepTime = localDateTime("sleepTime")
        let wakeTime = localDateTime("wakeTime")
        let recordingTime = localDateTime("recordingTime")

        var tags: [(name: String, value: String)] = []
        switch json["tags"] {
        case nil, .null?: break
        case .array(let items)?:
            if items.count > 20 {
                fail([.key("tags")], "ensure this value has at most 20 items", "value_error.list.max_items")
            }
            var seen: Set<String> = []
            for (i, item) in items.enumerated() {
                guard case .object = item else {
                    fail([.key("tags"), .index(i)], "value is not a valid dict", "type_error.dict")
                    continue
                }
                let nameLoc: [FieldError.LocPart] = [.key("tags"), .index(i), .key("name")]
                let valueLoc: [FieldError.LocPart] = [.key("tags"), .index(i), .key("value")]
                var name = string(item["name"], nameLoc, required: true)
                if let n = name, !length(n, nameLoc, min: 1, max: 40) { name = nil }
                var value = string(item["value"], valueLoc, required: true)
                if let v = value, !length(v, valueLoc, min: 0, max: 100) { value = nil }
                if let n = name {
                    if seen.contains(n) {
                        fail(nameLoc, "tag names must be unique; '\(n)' is repeated", "value_error.tags.duplicate_name")
                        name = nil
                    }
                    seen.insert(n)
                }
                if let name, let value { tags.append((name, value)) }
            }
        default:
            fail([.key("tags")], "value is not a valid list", "type_error.list")
        }

        var deleteData = false
        switch json["deleteData"] {
        case nil, .null?: break
        case .bool(let b)?: deleteData = b
        default: fail([.key("deleteData")], "value could not be parsed to a boolean", "type_error.bool")
        }

        var dataToDelete: [String]?
        switch json["dataToDelete"] {
        case nil, .null?: break
        case .array(let items)?:
            var list: [String] = []
            for (i, item) in items.enumerated() {
                if let s = oneOf(item, [.key("dataToDelete"), .index(i)], Self.dataTypes, required: true) { list.append(s) }
            }
            dataToDelete = list
        default:
            fail([.key("dataToDelete")], "value is not a valid list", "type_error.list")
        }

        guard errors.isEmpty, let userLabel, let dateOfBirth, let birthSex, let language else {
            return .failure(ValidationFailure(errors: errors))
        }
        return .success(CreateRunRequest(
            userLabel: userLabel, dateOfBirth: dateOfBirth, birthSex: birthSex, language: language,
            accent: accent, sleepTime: sleepTime, wakeTime: wakeTime, recordingTime: recordingTime,
            tags: tags, deleteData: deleteData, dataToDelete: dataToDelete))
    }

    static func utcToday() -> (year: Int, month: Int, day: Int) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        let c = calendar.dateComponents([.year, .month, .day], from: Date())
        return (c.year ?? 1970, c.month ?? 1, c.day ?? 1)
    }
}

/// The date and local-datetime formats of §1.3 / §7.4, checked strictly by hand (no formatter
/// accepts exactly "no offset allowed" on Linux).
enum LocalDateTime {
    enum Verdict { case valid, hasOffset, invalid }

    static func date(_ s: String) -> (year: Int, month: Int, day: Int)? {
        let b = Array(s.utf8)
        guard b.count == 10, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"),
              let y = digits(b[0..<4]), let m = digits(b[5..<7]), let d = digits(b[8..<10]),
              (1...12).contains(m), d >= 1, d <= daysIn(month: m, year: y), y >= 1 else { return nil }
        return (y, m, d)
    }

    static func check(_ s: String) -> Verdict {
        let b = Array(s.utf8)
        guard b.count >= 16, date(String(decoding: b[0..<10], as: UTF8.self)) != nil, b[10] == UInt8(ascii: "T") else { return .invalid }
        var rest = b[11...]
        // Split off a trailing Z or ±HH:MM so an offset is reported as such, not as garbage.
        var offset = false
        if rest.last == UInt8(ascii: "Z") || rest.last == UInt8(ascii: "z") {
            offset = true
            rest = rest.dropLast()
        } else if rest.count >= 6 {
            let tail = Array(rest.suffix(6))
            if tail[0] == UInt8(ascii: "+") || tail[0] == UInt8(ascii: "-"), digits(tail[1..<3]) != nil,
               tail[3] == UInt8(ascii: ":"), digits(tail[4..<6]) != nil {
                offset = true
                rest = rest.dropLast(6)
            }
        }
        guard isTime(Array(rest)) else { return .invalid }
        return offset ? .hasOffset : .valid
    }

    private static func isTime(_ t: [UInt8]) -> Bool {
        // HH:MM, HH:MM:SS or HH:MM:SS.f{1,6}
        guard t.count >= 5, t[2] == UInt8(ascii: ":"), let h = digits(t[0..<2]), let m = digits(t[3..<5]), h < 24, m < 60 else { return false }
        if t.count == 5 { return true }
        guard t.count >= 8, t[5] == UInt8(ascii: ":"), let sec = digits(t[6..<8]), sec < 60 else { return false }
        if t.count == 8 { return true }
        guard t[8] == UInt8(ascii: "."), (10...15).contains(t.count), digits(t[9...]) != nil else { return false }
        return true
    }

    private static func digits(_ b: some Collection<UInt8>) -> Int? {
        guard !b.isEmpty, b.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return b.reduce(0) { $0 * 10 + Int($1 - 0x30) }
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    static func addingDay(_ d: (Int, Int, Int)) -> (Int, Int, Int) {
        if d.2 < daysIn(month: d.1, year: d.0) { return (d.0, d.1, d.2 + 1) }
        if d.1 < 12 { return (d.0, d.1 + 1, 1) }
        return (d.0 + 1, 1, 1)
    }
}

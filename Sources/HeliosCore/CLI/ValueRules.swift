import FoundationEssentials
import Glibc

/// The rules every option value must pass before anything is sent. Each returns the value in the
/// form the API wants, or a lower-case rule text for `UsageError.invalidValue`.
public enum ValueRules {
    public enum BirthSex: String, Sendable, CaseIterable, Codable { case MALE, FEMALE, INTERSEX, UNKNOWN }

    /// `YYYY`, `YYYY-MM` or `YYYY-MM-DD` → `YYYY-MM-DD`, unknown parts as `01`; a real date, not in
    /// the future (judged against `today`, `YYYY-MM-DD` in local time), and not before 1900.
    public static func dateOfBirth(_ text: String, today: String) -> Result<String, RuleFailure> {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        let shapes = [4, 2, 2]
        guard (1...3).contains(parts.count),
              zip(parts, shapes).allSatisfy({ $0.count == $1 && $0.allSatisfy(\.isASCIIDigit) })
        else { return .failure("expected YYYY, YYYY-MM or YYYY-MM-DD") }
        let year = Int(parts[0])!, month = parts.count > 1 ? Int(parts[1])! : 1, day = parts.count > 2 ? Int(parts[2])! : 1
        guard (1...12).contains(month) else { return .failure("month \(parts[1]) does not exist") }
        guard (1...daysIn(month: month, year: year)).contains(day) else {
            return .failure("\(Formatting.zeroPadded(year, 4))-\(Formatting.zeroPadded(month, 2)) has no day \(parts[2])")
        }
        guard year >= 1900 else { return .failure("a year before 1900 is not a plausible birth date") }
        let iso = "\(Formatting.zeroPadded(year, 4))-\(Formatting.zeroPadded(month, 2))-\(Formatting.zeroPadded(day, 2))"
        guard iso <= today else { return .failure("date of birth is in the future") }
        return .success(iso)
    }

    public static func birthSex(_ text: String) -> Result<BirthSex, RuleFailure> {
        guard let sex = BirthSex(rawValue: text.uppercased()) else {
            return .failure("expected one of MALE, FEMALE, INTERSEX, UNKNOWN (any case)")
        }
        return .success(sex)
    }

    /// 1–50 characters, counted as the API counts them (Unicode code points); no control characters.
    public static func userLabel(_ text: String) -> Result<String, RuleFailure> {
        let count = text.unicodeScalars.count
        guard count >= 1 else { return .failure("a user label cannot be empty") }
        guard count <= 50 else { return .failure("a user label has at most 50 characters (this one has \(count))") }
        guard !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            return .failure("a user label cannot contain control characters")
        }
        return .success(text)
    }

    /// A well-formed BCP 47 tag (language[-script][-region][-variant…]); which ones thymia
    /// accepts is its to say (the API's 422 lists them), so only the shape is checked here.
    public static func language(_ text: String) -> Result<String, RuleFailure> {
        let subtags = text.split(separator: "-", omittingEmptySubsequences: false)
        let rule = RuleFailure("expected a BCP 47 language tag such as en-GB")
        // Primary subtags of 5-8 letters are reserved by the grammar but assigned to no language.
        guard let first = subtags.first, (2...3).contains(first.count),
              first.allSatisfy(\.isASCIILetter) else { return .failure(rule) }
        for sub in subtags.dropFirst() {
            let ok = (sub.count == 4 && sub.allSatisfy(\.isASCIILetter))
                || (sub.count == 2 && sub.allSatisfy(\.isASCIILetter))
                || (sub.count == 3 && sub.allSatisfy(\.isASCIIDigit))
                || ((5...8).contains(sub.count) && sub.allSatisfy { $0.isASCIILetter || $0.isASCIIDigit })
                || (sub.count == 4 && sub.first!.isASCIIDigit && sub.allSatisfy { $0.isASCIILetter || $0.isASCIIDigit })
            guard ok else { return .failure(rule) }
        }
        return .success(text)
    }

    public static func accent(_ text: String) -> Result<String, RuleFailure> {
        let upper = text.uppercased()
        guard ["ID", "NG", "KE"].contains(upper) else { return .failure("expected one of ID, NG, KE") }
        return .success(upper)
    }

    /// ISO 8601 local date-time without an offset: `YYYY-MM-DDTHH:MM[:SS]` → `YYYY-MM-DDTHH:MM:SS`.
    public static func localDateTime(_ text: String) -> Result<String, RuleFailure> {
        if text.wholeMatch(of: /\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?([Zz]|[+-]\d{2}(:?\d{2})?)/) != nil {
            return .failure("give the person's local time without a time zone (thymia reads it as local time), e.g. 2026-11-24T23:10")
        }
        guard let m = text.wholeMatch(of: /(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?/) else {
            return .failure("expected YYYY-MM-DDTHH:MM or YYYY-MM-DDTHH:MM:SS")
        }
        let (y, mo, d, h, mi) = (Int(m.1)!, Int(m.2)!, Int(m.3)!, Int(m.4)!, Int(m.5)!)
        let s = m.6.map { Int($0)! } ?? 0
        guard (1...12).contains(mo), (1...daysIn(month: mo, year: y)).contains(d), h < 24, mi < 60, s < 60 else {
            return .failure("\(text) is not a real date and time")
        }
        let z = Formatting.zeroPadded
        return .success("\(z(y, 4))-\(z(mo, 2))-\(z(d, 2))T\(z(h, 2)):\(z(mi, 2)):\(z(s, 2))")
    }

    public struct Tag: Sendable, Equatable, Codable {
        public var name: String
        public var value: String
        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// `NAME=VALUE`: name 1–40 characters, value at most 100.
    public static func tag(_ text: String) -> Result<Tag, RuleFailure> {
        guard let eq = text.firstIndex(of: "=") else { return .failure("expected NAME=VALUE") }
        let name = String(text[..<eq]), value = String(text[text.index(after: eq)...])
        guard (1...40).contains(name.unicodeScalars.count) else { return .failure("a tag name has 1 to 40 characters") }
        guard value.unicodeScalars.count <= 100 else { return .failure("a tag value has at most 100 characters") }
        return .success(Tag(name: name, value: value))
    }

    /// At most 20 tags with unique names.
    public static func tags(_ tags: [Tag]) -> RuleFailure? {
        if tags.count > 20 { return "at most 20 tags per run (\(tags.count) given)" }
        var seen = Set<String>()
        for tag in tags where !seen.insert(tag.name).inserted { return "tag name '\(tag.name)' is given twice" }
        return nil
    }

    /// `500ms`, `3s`, `2m`, `1h` or a bare number of seconds → seconds.
    /// The longest `--poll-interval` or `--timeout` accepted: one week.
    public static let maximumDuration: Double = 7 * 24 * 3600

    public static func duration(_ text: String) -> Result<Double, RuleFailure> {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        var number = Substring(text), scale = 1.0
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            number = text.dropLast(suffix.count)
            scale = factor
            break
        }
        guard let value = Double(number), value.isFinite, value >= 0, !number.hasPrefix("+"),
              number.allSatisfy({ $0.isASCIIDigit || $0 == "." })
        else { return .failure("expected a duration such as 500ms, 3s, 2m, 1h or a number of seconds") }
        // Past a week no wait makes sense, and huge values overflow the sleeps' nanoseconds.
        guard value * scale <= maximumDuration else { return .failure("at most 168h (a week)") }
        return .success(value * scale)
    }

    /// `type/subtype` with token characters (RFC 9110), optional parameters.
    public static func mimeType(_ text: String) -> Result<String, RuleFailure> {
        guard text.wholeMatch(of: /[A-Za-z0-9!#$&^_.+-]+\/[A-Za-z0-9!#$&^_.+-]+(\s*;.*)?/) != nil,
              !text.contains(where: { $0 == "\r" || $0 == "\n" })
        else { return .failure("expected a MIME type such as audio/wav") }
        return .success(text)
    }

    public static func integer(_ text: String, in range: ClosedRange<Int>) -> Result<Int, RuleFailure> {
        guard let n = Int(text), range.contains(n) else {
            return .failure("expected a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return .success(n)
    }

    public static func oneOf(_ text: String, _ choices: [String]) -> Result<String, RuleFailure> {
        guard choices.contains(text) else { return .failure("expected one of \(choices.joined(separator: ", "))") }
        return .success(text)
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}

/// Why a value broke its rule, as a lower-case fragment.
public struct RuleFailure: Error, Sendable, Equatable, ExpressibleByStringLiteral, ExpressibleByStringInterpolation {
    public var rule: String
    public init(_ rule: String) { self.rule = rule }
    public init(stringLiteral value: String) { rule = value }
    public init(stringInterpolation: DefaultStringInterpolation) { rule = String(stringInterpolation: stringInterpolation) }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
    var isASCIILetter: Bool { isASCII && isLetter }
}

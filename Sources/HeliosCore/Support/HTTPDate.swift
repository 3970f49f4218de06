import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// The three HTTP-date forms of RFC 9110 §5.6.7, parsed by hand: Foundation's DateFormatter
/// would load ICU (and link CoreFoundation) for the rare 429 that names a date.
///
///     Sun, 06 Nov 1994 08:49:37 GMT    IMF-fixdate
///     Sunday, 06-Nov-94 08:49:37 GMT   obsolete RFC 850
///     Sun Nov  6 08:49:37 1994         obsolete asctime (no zone: GMT)
///
/// Names are matched without regard to case and runs of spaces count as one; the weekday must be
/// a real name but is not checked against the date (as DateFormatter did not).
enum HTTPDate {
    private static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    private static let shortDays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    private static let longDays = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]

    static func parse(_ text: some StringProtocol, now: Date) -> Date? {
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map { $0.lowercased() }
        if words.count == 6, words[0].hasSuffix(","), shortDays.contains(String(words[0].dropLast())),
           let day = number(words[1], digits: 1...2), let month = months.firstIndex(of: words[2]),
           let year = number(words[3], digits: 4...4), isGMT(words[5]) {
            return date(year: year, month: month + 1, day: day, time: words[4])
        }
        if words.count == 4, words[0].hasSuffix(","), longDays.contains(String(words[0].dropLast())), isGMT(words[3]) {
            let parts = words[1].split(separator: "-", omittingEmptySubsequences: false)
            guard parts.count == 3, let day = number(parts[0], digits: 1...2),
                  let month = months.firstIndex(of: String(parts[1])), let yy = number(parts[2], digits: 2...2) else { return nil }
            return date(year: fullYear(yy, now: now), month: month + 1, day: day, time: words[2])
        }
        if words.count == 5, shortDays.contains(words[0]), let month = months.firstIndex(of: words[1]),
           let day = number(words[2], digits: 1...2), let year = number(words[4], digits: 4...4) {
            return date(year: year, month: month + 1, day: day, time: words[3])
        }
        return nil
    }

    private static func isGMT(_ zone: String) -> Bool { zone == "gmt" || zone == "utc" }

    private static func number(_ s: some StringProtocol, digits: ClosedRange<Int>) -> Int? {
        guard digits.contains(s.count), s.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(s)
    }

    /// RFC 9110: a two-digit year more than 50 years ahead of now is the most recent past year
    /// ending in those digits.
    private static func fullYear(_ yy: Int, now: Date) -> Int {
        var t = time_t(now.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&t, &parts)
        let thisYear = Int(parts.tm_year) + 1900
        var year = thisYear / 100 * 100 + yy
        if year > thisYear + 50 { year -= 100 }
        return year
    }

    /// `HH:mm:ss` on that day, UTC; nil for an impossible date or time.
    private static func date(year: Int, month: Int, day: Int, time: String) -> Date? {
        let parts = time.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 3, let h = number(parts[0], digits: 2...2), let m = number(parts[1], digits: 2...2),
              let s = number(parts[2], digits: 2...2), h < 24, m < 60, s <= 60,
              day >= 1, day <= daysIn(month: month, year: year) else { return nil }
        let seconds = daysFromCivil(year: year, month: month, day: day) * 86400 + h * 3600 + m * 60 + s
        return Date(timeIntervalSince1970: Double(seconds))
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days from 1970-01-01 to the proleptic Gregorian date (H. Hinnant's algorithm).
    private static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }
}

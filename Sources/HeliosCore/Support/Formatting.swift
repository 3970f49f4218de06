#if canImport(Glibc)
import Glibc
#endif

/// Number formatting without Foundation's `String(format:)`, which initialises CoreFoundation
/// (several MB of memory) in every command that prints a figure.
enum Formatting {
    /// libc's printf for one value: the same digits `String(format:)` gave (it formats a `%f` with
    /// the C library too), e.g. `printf("%.2f", 0.125)` → `0.12`.
    static func printf(_ format: String, _ value: Double) -> String {
        var buffer = [CChar](repeating: 0, count: 64)
        let needed = Int(withVaList([value]) { vsnprintf(&buffer, buffer.count, format, $0) })
        if needed >= buffer.count {
            buffer = [CChar](repeating: 0, count: needed + 1)
            _ = withVaList([value]) { vsnprintf(&buffer, buffer.count, format, $0) }
        }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `value` with exactly `digits` decimals, rounded half away from zero: `fixed(2.345, 1)` → `2.3`.
    static func fixed(_ value: Double, _ digits: Int) -> String {
        guard value.isFinite else { return "\(value)" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        guard scaled < 9e15 else { return "\(value)" }
        let units = Int64(scaled)
        let whole = units / Int64(scale), fraction = units % Int64(scale)
        let sign = value < 0 && units != 0 ? "-" : ""
        return digits == 0 ? "\(sign)\(whole)" : "\(sign)\(whole)." + zeroPadded(Int(fraction), digits)
    }

    /// `n` with leading zeros to `width` digits: `zeroPadded(7, 2)` → `07`.
    static func zeroPadded(_ n: Int, _ width: Int) -> String {
        let digits = String(abs(n))
        return (n < 0 ? "-" : "") + String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}

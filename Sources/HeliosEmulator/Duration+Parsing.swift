/// Durations on the command line: `500ms`, `3s`, `2m`, `1h`, or bare seconds (`1.5`).
enum DurationParser {
    static func seconds(_ text: String) -> Double? {
        let units: [(suffix: String, scale: Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        for unit in units where text.hasSuffix(unit.suffix) {
            let number = text.dropLast(unit.suffix.count)
            // "5ms" also ends in "s": only accept the unit whose prefix is a plain number.
            if let value = Double(number), value >= 0, value.isFinite { return value * unit.scale }
        }
        if let value = Double(text), value >= 0, value.isFinite { return value }
        return nil
    }
}

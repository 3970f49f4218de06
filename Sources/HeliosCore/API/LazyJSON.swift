import FoundationEssentials

/// A JSON value as the journal read it: its bytes (checked when the line was read, not built)
/// until something asks for the value. `runs` lists 100,000 runs by their scores alone, and
/// building each run object was most of its time; `read` gives a rule the bytes in place, or
/// the value when it was built, through the same `JSONReadable` questions.
public struct LazyJSON: Sendable {
    private enum Storage: Sendable {
        case bytes([UInt8], JSONScanner.Containers)
        case value(JSONValue)
    }
    private let storage: Storage

    public init(_ value: JSONValue) { storage = .value(value) }

    /// `bytes` must be one JSON value `JSONScanner` has checked, `containers` the ones it found.
    init(checked bytes: UnsafeRawBufferPointer, containers: JSONScanner.Containers) {
        storage = .bytes(Array(bytes), containers)
    }

    public var value: JSONValue {
        switch storage {
        case .value(let v): v
        case .bytes(let b, _): b.withUnsafeBytes { JSONScanner.parse($0) } ?? .null
        }
    }

    /// `rule` applied to this value: to its bytes in place, or to the value when it was built.
    func read<R>(_ rule: (JSONScanner.View) -> R, _ sameRule: (JSONValue) -> R) -> R {
        switch storage {
        case .value(let v): sameRule(v)
        case .bytes(let b, let containers):
            b.withUnsafeBytes { raw in
                containers.spans.withUnsafeBufferPointer { spans in rule(JSONScanner.View(bytes: raw, spans: spans, origin: 0)) }
            }
        }
    }
}

extension LazyJSON: Equatable {
    public static func == (a: LazyJSON, b: LazyJSON) -> Bool { a.value == b.value }
}

/// What a rule needs of a JSON value, built (`JSONValue`) or still bytes (`JSONScanner.View`),
/// so it is written once for both.
protocol JSONReadable {
    /// Each member of this object (its name as UTF-8), in order; false when this is not an object.
    func forEachMember(_ body: (UnsafeRawBufferPointer, Self) -> Void) -> Bool
    /// An array's first item; nil when this is not an array or it is empty.
    var firstElement: Self? { get }
    var stringValue: String? { get }
    var doubleValue: Double? { get }
}

extension JSONValue: JSONReadable {
    func forEachMember(_ body: (UnsafeRawBufferPointer, JSONValue) -> Void) -> Bool {
        guard case .object(let o) = self else { return false }
        for (name, value) in o {
            var name = name
            name.withUTF8 { body(UnsafeRawBufferPointer($0), value) }
        }
        return true
    }

    var firstElement: JSONValue? { arrayValue?.first }
}

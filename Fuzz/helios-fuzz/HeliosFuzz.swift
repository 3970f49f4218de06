import Foundation
import HeliosCore

// One libFuzzer binary for every parser of outside bytes; `HELIOS_FUZZ_TARGET` picks which
// (names: `FuzzEntry.targets`). Built by `make fuzz` with `-sanitize=fuzzer,address` and
// `-D HELIOS_FUZZ`; a plain build makes a replayer instead: `helios-fuzz TARGET FILE...` runs
// each file through the target once (what the regression test does in process).

#if HELIOS_FUZZ
nonisolated(unsafe) private var selected: (@Sendable ([UInt8]) -> Void)?

typealias FuzzCallback = @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: FuzzCallback) -> Int32

/// SwiftPM links an executable's entry point as `<module>_main`; this one hands over to libFuzzer.
@_cdecl("helios_fuzz_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    let name = ProcessInfo.processInfo.environment["HELIOS_FUZZ_TARGET"] ?? ""
    guard let entry = FuzzEntry.targets[name] else {
        FileHandle.standardError.write(Data("HELIOS_FUZZ_TARGET must be one of: \(FuzzEntry.targets.keys.sorted().joined(separator: ", "))\n".utf8))
        exit(2)
    }
    selected = entry
    var count = argc
    var vector = argv
    return LLVMFuzzerRunDriver(&count, &vector) { data, size in fuzzOneInput(data, size) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    selected?(bytes)
    return 0
}
#else
@main
struct Replay {
    static func main() {
        let args = CommandLine.arguments.dropFirst()
        guard let name = args.first, let entry = FuzzEntry.targets[name] else {
            print("usage: helios-fuzz TARGET FILE...  (targets: \(FuzzEntry.targets.keys.sorted().joined(separator: ", ")))")
            exit(2)
        }
        for path in args.dropFirst() {
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            entry([UInt8](data))
        }
    }
}
#endif

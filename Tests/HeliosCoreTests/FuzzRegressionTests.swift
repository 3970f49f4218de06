import Foundation
import Testing
@testable import HeliosCore
import HeliosTestSupport

/// Every input `make fuzz` ever crashed on (Tests/Fixtures/fuzz-regressions/TARGET/) goes
/// through its target again: a parser that traps on one of them again takes `make test` down.
@Suite(.blocking) struct FuzzRegressionTests {
    static let root = TestPaths.fixture("fuzz-regressions")

    static var cases: [String] {
        let targets = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return targets.sorted().flatMap { target in
            ((try? FileManager.default.contentsOfDirectory(atPath: root + "/" + target)) ?? []).sorted().map { "\(target)/\($0)" }
        }
    }

    @Test func everyRegressionDirectoryNamesATarget() throws {
        let targets = try FileManager.default.contentsOfDirectory(atPath: Self.root)
        #expect(!targets.isEmpty)
        for target in targets { #expect(FuzzEntry.targets[target] != nil, "unknown fuzz target directory \(target)") }
    }

    @Test(arguments: cases)
    func aCrashingInputNoLongerCrashes(path: String) throws {
        let target = String(path.split(separator: "/")[0])
        let entry = try #require(FuzzEntry.targets[target])
        let data = try #require(FileManager.default.contents(atPath: Self.root + "/" + path))
        entry([UInt8](data))
        // Through every target too: an input that broke one parser is hostile to all of them.
        for (_, other) in FuzzEntry.targets { other([UInt8](data)) }
    }

    @Test func inMemoryBytesReadLikeAFile() throws {
        let bytes = [UInt8]((0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let file = FileBytes(bytes: bytes)
        #expect(file.size == 200_000)
        #expect(try file.read(at: 199_990, count: 100) == Array(bytes[199_990...]))
        #expect(try file.read(at: 70_000, count: 100_000) == Array(bytes[70_000..<170_000]))
        #expect(try file.read(at: 300_000, count: 4).isEmpty)
        #expect(try file.readExactly(at: 199_999, count: 2) == nil)
    }
}

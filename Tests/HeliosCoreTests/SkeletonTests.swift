import Foundation
import Testing
import HeliosTestSupport
@testable import HeliosCore

@Test(.blocking, arguments: [
    ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
])
func sha256Vectors(input: String, expected: String) {
    #expect(SHA256.hexDigest(of: Data(input.utf8)) == expected)
}

@Test(.blocking) func sha256StreamedInOddPiecesMatchesOneShot() {
    let bytes = Data((0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
    var s = SHA256()
    var i = 0
    var step = 1
    while i < bytes.count {
        let end = min(bytes.count, i + step)
        s.update(bytes[i..<end])
        i = end
        step = step * 3 % 257 + 1
    }
    #expect(SHA256.hex(s.finalize()) == SHA256.hexDigest(of: bytes))
}

/// Each test source of both test targets, as its path from the package root and its lines.
private func testSources() throws -> [(path: String, lines: [Substring])] {
    let root = TestPaths.packageRoot.path
    var sources: [(path: String, lines: [Substring])] = []
    for target in ["Tests/HeliosCoreTests", "Tests/CLITests"] {
        let dir = root + "/" + target
        let files = FileManager.default.enumerator(atPath: dir)?.compactMap { $0 as? String } ?? []
        #expect(!files.isEmpty, "no test sources under \(dir)")
        for file in files.sorted() where file.hasSuffix(".swift") {
            let text = try String(contentsOfFile: dir + "/" + file, encoding: .utf8)
            sources.append((target + "/" + file, text.split(separator: "\n", omittingEmptySubsequences: false)))
        }
    }
    return sources
}

/// Every suite and free test says where it runs: `.blocking` (on BlockingPool), or `.cooperative`
/// when it only awaits. One left on the two cooperative threads while it waits on a process or a
/// poll interval holds up every other test (README, Tests).
@Test(.blocking) func everySuiteRunsOnTheBlockingPool() throws {
    var unmarked: [String] = []
    for (path, lines) in try testSources() where lines.contains(where: { $0.contains("@Test") }) {
        for (n, line) in lines.enumerated() {
            let unmarkedSuite = line.hasPrefix("@Suite") && !line.hasPrefix("@Suite(.blocking") && !line.hasPrefix("@Suite(.cooperative")
            let bareType = (line.hasPrefix("struct ") || line.hasPrefix("final class ")) && line.contains("Tests")
            let freeTest = line.hasPrefix("@Test") && !line.hasPrefix("@Test(.blocking")
            if unmarkedSuite || bareType || freeTest { unmarked.append("\(path):\(n + 1): \(line)") }
        }
    }
    #expect(unmarked.isEmpty, "not on the blocking pool:\n\(unmarked.joined(separator: "\n"))")
}

/// A test that starts an in-process loopback server only awaits, so it stays off BlockingPool:
/// there, the server's start-up and answers queue behind tests that block for seconds, and its
/// start-up wait can run out (CI, stop 23: `localhostIsLoopbackWithoutALookup` was `.blocking`).
@Test(.blocking) func noTestOnTheBlockingPoolStartsAnInProcessServer() throws {
    var offenders: [String] = []
    for (path, lines) in try testSources() where !path.hasSuffix("/SkeletonTests.swift") {
        var suiteBlocking = false, testBlocking = false, test = ""
        for (n, line) in lines.enumerated() {
            let trimmed = line.drop { $0 == " " }
            if line.hasPrefix("@Suite") { suiteBlocking = line.hasPrefix("@Suite(.blocking"); testBlocking = false }
            if trimmed.hasPrefix("@Test") { testBlocking = suiteBlocking || trimmed.hasPrefix("@Test(.blocking"); test = "\(n + 1)" }
            if line.hasPrefix("}") { suiteBlocking = false; testBlocking = false }
            if testBlocking, ["LoopbackServer(", "LoopbackServer {", "LoopbackServer.silent(", "closedPort()"].contains(where: trimmed.contains) {
                offenders.append("\(path):\(n + 1) (test at line \(test))")
            }
        }
    }
    #expect(offenders.isEmpty, "an in-process server started by a test on BlockingPool:\n\(offenders.joined(separator: "\n"))")
}

import Foundation

/// Where the package, its fixtures and its built binaries are, for tests.
public enum TestPaths {
    /// The package root, found from this source file's location (Tests/Support/Paths.swift).
    public static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Committed fixtures (small MP4/WebM files libsndfile cannot write), in Tests/Fixtures.
    public static func fixture(_ name: String) -> String {
        packageRoot.appendingPathComponent("Tests/Fixtures").appendingPathComponent(name).path
    }

    /// The directory holding the built executables (`helios`, `helios-emulator`): the one the
    /// test bundle itself was built into, or `HELIOS_BIN_DIR` when set.
    public static var binDir: String {
        if let dir = ProcessInfo.processInfo.environment["HELIOS_BIN_DIR"], !dir.isEmpty { return dir }
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        while url.path != "/" {
            if FileManager.default.isExecutableFile(atPath: url.appendingPathComponent("helios").path) {
                return url.path
            }
            url.deleteLastPathComponent()
        }
        return packageRoot.appendingPathComponent(".build/debug").path
    }

    /// A fresh temporary directory, removed by the caller (or left for the OS on failure).
    public static func makeTempDir(_ prefix: String = "helios-test") -> String {
        let path = NSTemporaryDirectory() + "\(prefix)-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

import CBuildInfo

/// `helios version --verbose` (`-V`): what a bug report needs to say which helios this is and
/// what it runs on. The build fields come from `scripts/build-info.sh` (via `make`); the library
/// versions are the ones loaded at run time, not the headers helios was built against.
public enum VersionReport {
    public struct Build: Encodable, Equatable {
        var version: String
        var commit: String
        public var buildDate: String
        var swift: String
        var libraries: Libraries
    }

    struct Libraries: Encodable, Equatable {
        var libcurl: String
        var tls: String
        var libsndfile: String
        var libopus: String
        var faad2: String
    }

    public static var build: Build {
        Build(
            version: HeliosVersion.string,
            commit: String(cString: helios_build_commit()),
            buildDate: String(cString: helios_build_date()),
            swift: String(cString: helios_build_swift()),
            libraries: Libraries(libcurl: LibraryVersions.curlNumber, tls: LibraryVersions.tls, libsndfile: LibraryVersions.sndfile,
                                 libopus: LibraryVersions.opus, faad2: LibraryVersions.faad2))
    }

    /// `helios 0.1.0`, then with `verbose` one `name: value` row per field; under `--json` one object
    /// (just `{"version":…}` without `verbose`).
    static func render(verbose: Bool, json: Bool) -> String {
        // The one line asks nothing of the libraries: `helios --version` stays a plain start-up.
        guard verbose else {
            struct Short: Encodable { var version: String }
            return json ? JSONLine.encode(Short(version: HeliosVersion.string)) : "helios \(HeliosVersion.string)\n"
        }
        let b = build
        if json { return JSONLine.encode(b) }
        let rows = [
            ("commit", b.commit), ("built", b.buildDate), ("swift", b.swift),
            ("libcurl", "\(b.libraries.libcurl) (TLS: \(b.libraries.tls))"),
            ("libsndfile", b.libraries.libsndfile), ("libopus", b.libraries.libopus), ("faad2", b.libraries.faad2),
        ]
        let width = rows.map(\.0.count).max() ?? 0
        return "helios \(b.version)\n" + rows.map { "  \(Text.padded($0.0 + ":", to: width + 1)) \(Text.terminalSafe($0.1))\n" }.joined()
    }
}

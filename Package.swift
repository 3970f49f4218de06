// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "helios",
    products: [
        .executable(name: "helios", targets: ["helios-cli"]),
        .executable(name: "helios-emulator", targets: ["helios-emulator"]),
        .library(name: "HeliosCore", targets: ["HeliosCore"]),
        // The emulator for Swift users' own tests: `EmulatorServer(options:).start()`.
        .library(name: "HeliosEmulator", targets: ["HeliosEmulator"]),
    ],
    dependencies: [
        .package(url: "https://github.com/swhitty/FlyingFox", from: "0.27.1"),
    ],
    targets: [
        // libcurl, opened with dlopen by the first exchange with a server, not at every start
        // (Sources/CCurl/include/helios_curl.h); its headers come from libcurl4-openssl-dev.
        .target(name: "CCurl", path: "Sources/CCurl"),
        .systemLibrary(
            name: "CSndFile",
            path: "Sources/CSndFile",
            pkgConfig: "sndfile",
            providers: [.apt(["libsndfile1-dev"])]
        ),
        // Decodes the Opus packets of WebM (browser recordings) for the speech estimate.
        .systemLibrary(
            name: "COpus",
            path: "Sources/COpus",
            pkgConfig: "opus",
            providers: [.apt(["libopus-dev"])]
        ),
        // Decodes MP3 with MPG123_QUIET set: libsndfile leaves libmpg123 printing on stderr.
        .systemLibrary(
            name: "CMpg123",
            path: "Sources/CMpg123",
            pkgConfig: "libmpg123",
            providers: [.apt(["libmpg123-dev"])]
        ),
        // Decodes AAC in MP4/M4A (phone and Safari recordings) for the speech estimate. FAAD2 is
        // GPL-2.0-or-later: a distributed helios binary is GPL as a whole (README, "Licence").
        .systemLibrary(
            name: "CFAAD",
            path: "Sources/CFAAD",
            pkgConfig: "faad2",
            providers: [.apt(["libfaad-dev"])]
        ),
        // The commit, build date and compiler `helios version --verbose` reports (scripts/build-info.sh).
        .target(name: "CBuildInfo", path: "Sources/CBuildInfo"),
        // The speech pass's dot products in AVX, chosen at run time, bit for bit those of the
        // SSE2 SIMD the Swift code compiles to (Sources/CKernels/include/helios_kernels.h).
        .target(name: "CKernels", path: "Sources/CKernels"),
        .target(name: "HeliosCore", dependencies: ["CCurl", "CSndFile", "COpus", "CMpg123", "CFAAD", "CBuildInfo", "CKernels"]),
        .executableTarget(
            name: "helios-cli",
            dependencies: ["HeliosCore"],
            // lld with packed relative relocations (DT_RELR, glibc 2.36+): gold's 36k RELA entries
            // (850 KB, read whole by ld.so at every start) shrink to 7 KB.
            // -z now: every symbol bound at start and the GOT read-only after it (full RELRO), as
            // Debian's hardening flags ask (lintian: hardening-no-bindnow).
            linkerSettings: [.unsafeFlags([
                "-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs", "-Xlinker", "-z", "-Xlinker", "now",
                "-Xlinker", "--symbol-ordering-file=\(Context.packageDirectory)/scripts/helios.order",
                "-Xlinker", "--no-warn-symbol-ordering",
            ])]
        ),
        .target(name: "HeliosEmulator", dependencies: ["HeliosCore", .product(name: "FlyingFox", package: "FlyingFox")]),
        .executableTarget(name: "helios-emulator", dependencies: ["HeliosEmulator"],
                          linkerSettings: [.unsafeFlags(["-Xlinker", "-z", "-Xlinker", "now"])]),
        // Writes the man pages and completions from the option tables (`make install`, `dist`, `deb`).
        .executableTarget(name: "helios-docs", dependencies: ["HeliosCore", "HeliosEmulator"]),
        // libFuzzer targets for every parser of outside bytes (`make fuzz`); a plain build is a replayer.
        .executableTarget(name: "helios-fuzz", dependencies: ["HeliosCore"], path: "Fuzz/helios-fuzz"),
        // Shared by both test targets: writes test recordings with libsndfile, finds fixtures and binaries.
        .target(name: "HeliosTestSupport", dependencies: ["HeliosCore", "CSndFile"], path: "Tests/Support"),
        .testTarget(
            name: "HeliosCoreTests",
            dependencies: ["HeliosCore", "HeliosEmulator", "HeliosTestSupport", .product(name: "FlyingFox", package: "FlyingFox")]
        ),
        .testTarget(name: "CLITests", dependencies: ["HeliosCore", "HeliosTestSupport"]),
    ]
)

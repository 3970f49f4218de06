import Foundation
import HeliosCore
import HeliosEmulator

// `helios-docs DIR`: writes the man pages and shell completions that `make install`, `make dist`
// and `make deb` ship, all generated from the option tables. Not installed.
guard CommandLine.arguments.count == 2 else {
    FileHandle.standardError.write(Data("usage: helios-docs DIR\n".utf8))
    exit(2)
}
let dir = CommandLine.arguments[1]
let date = VersionReport.build.buildDate
let files: [(String, String)] = [
    ("helios.1", ManPage.helios(date: date)),
    ("helios-emulator.1", EmulatorCommandLine.manPage(date: date)),
    ("helios.bash", Completion.script(for: "bash") ?? ""),
    ("_helios", Completion.script(for: "zsh") ?? ""),
    ("helios.fish", Completion.script(for: "fish") ?? ""),
]
do {
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    for (name, text) in files {
        try Data(text.utf8).write(to: URL(fileURLWithPath: dir + "/" + name))
    }
} catch {
    FileHandle.standardError.write(Data("helios-docs: \(error)\n".utf8))
    exit(1)
}

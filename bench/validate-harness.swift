// A stand-in for `helios validate --json FILE...` while the CLI command is being written: the
// same library call, one JSON report per line, exit 3 when a file fails the check.
import Foundation
import HeliosCore

let encoder = JSONEncoder()
var failed = false
for path in CommandLine.arguments.dropFirst() {
    let report = RecordingValidator.validate(path: path)
    if let data = try? encoder.encode(report) { FileHandle.standardOutput.write(data + Data("\n".utf8)) }
    failed = failed || !report.ok
}
exit(failed ? 3 : 0)

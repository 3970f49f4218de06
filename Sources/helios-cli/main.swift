import Foundation
import HeliosCore

// One screen: gather argv, environment, terminals and writers; run; exit.
let context = CLIContext(
    environment: ProcessInfo.processInfo.environment,
    stdoutIsTerminal: isatty(STDOUT_FILENO) == 1,
    stderrIsTerminal: isatty(STDERR_FILENO) == 1,
    stdinIsTerminal: isatty(STDIN_FILENO) == 1,
    arguments: Array(CommandLine.arguments.dropFirst()),
    readStdin: { String(data: FileHandle.standardInput.readDataToEndOfFile(), encoding: .utf8) }
)
Interrupt.install()
exit(HeliosCLI.run(arguments: Array(CommandLine.arguments.dropFirst()), context: context, output: .standard()))

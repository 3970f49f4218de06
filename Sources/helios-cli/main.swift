import FoundationEssentials
import Glibc
import HeliosCore

// One screen: gather argv, environment, terminals and writers; run; exit.
let context = CLIContext(
    environment: CLIContext.processEnvironment(),
    stdoutIsTerminal: isatty(STDOUT_FILENO) == 1,
    stderrIsTerminal: isatty(STDERR_FILENO) == 1,
    stdinIsTerminal: isatty(STDIN_FILENO) == 1,
    arguments: Array(CommandLine.arguments.dropFirst()),
    readStdin: { String(decoding: PosixFile.standardInput.readToEnd(), as: UTF8.self) }
)
Interrupt.install()
let output = Output.standard(onBrokenPipe: { Cancellation.process.request(.brokenPipe) })
exit(HeliosCLI.run(arguments: Array(CommandLine.arguments.dropFirst()), context: context, output: output))

import FoundationEssentials
import Glibc

public enum HeliosVersion {
    public static let string = "0.1.0"
}

/// The command-line front end: parse, dispatch, and the single exit point that maps every
/// outcome to CLI.md's exit-code table.
public enum HeliosCLI {
    public static func run(arguments: [String], context: CLIContext, output: Output) -> Int32 {
        // --json is honoured even for usage errors, so scripts always get a parseable failure.
        let options = Array(arguments.prefix { $0 != "--" })
        let jsonRequested = options.contains(Opt.json.flag) || options.contains(Opt.format.flag + "=json")
            || zip(options, options.dropFirst()).contains { $0 == Opt.format.flag && $1 == "json" }
        let invocation: Invocation
        do {
            invocation = try Invocation.parse(arguments, today: context.today)
        } catch {
            Console(output: output, json: jsonRequested).fail(CLIFailure.usage(error))
            return ExitCode.usage.rawValue
        }
        // --output FILE: results into FILE (renamed into place at the end), the rest unchanged.
        var results: ResultsFile?
        var commandOutput = output
        if let path = invocation.global.outputFile {
            do {
                let file = try ResultsFile(path: path)
                results = file
                commandOutput = Output(out: { _ = file.write($0) }, err: { output.err($0) })
            } catch {
                Console(output: output, json: invocation.global.json).fail(error)
                return error.exitCode.rawValue
            }
        }
        // Every failure that ends the command is reported here, by the command's console.
        let console = Console(output: commandOutput, global: invocation.global, context: context)
        var code: Int32
        do {
            code = try dispatch(invocation, context: context, output: commandOutput, console: console).rawValue
        } catch let failure as CLIFailure {
            console.fail(failure)
            code = failure.exitCode.rawValue
        } catch {
            console.fail(CLIFailure(.runFailed, "\(error)"))
            code = ExitCode.runFailed.rawValue
        }
        do {
            try results?.commit()
        } catch {
            console.fail(error)
            if code == 0 { code = error.exitCode.rawValue }
        }
        // CI reports, whatever the exit code: a red job is when they matter most.
        let name = invocation.command.name
        let reports: [(String?, () -> String)] = [
            (invocation.global.summaryFile, { console.reports.summary(command: name, exitCode: code) }),
            (invocation.global.junitFile, { console.reports.junit(command: name, exitCode: code) }),
        ]
        for case let (path?, render) in reports {
            do {
                try PrivateFiles.writeAtomically(Data(render().utf8), to: path)
            } catch {
                console.fail(CLIFailure(.runFailed, "cannot write the report '\(path)': \(error.reason)"))
                if code == 0 { code = ExitCode.runFailed.rawValue }
            }
        }
        return code
    }

    static func dispatch(_ invocation: Invocation, context: CLIContext, output: Output, console: Console) throws -> ExitCode {
        switch invocation.command {
        case .version(let verbose):
            console.result(VersionReport.render(verbose: verbose, json: invocation.global.json))
            return .success
        case .help(let topic):
            console.result(helpText(topic))
            return .success
        case .validate(let o):
            return ValidateCommand(options: o, global: invocation.global, context: context, console: console).run()
        case .submit(let o):
            return try RunCommands(session: Session(global: invocation.global, context: context, output: output, console: console)).submit(o)
        case .upload(let o):
            return try RunCommands(session: Session(global: invocation.global, context: context, output: output, console: console)).upload(o)
        case .poll(let o):
            return try RunCommands(session: Session(global: invocation.global, context: context, output: output, console: console)).poll(o)
        case .status(let o):
            return try RunCommands(session: Session(global: invocation.global, context: context, output: output, console: console)).status(o)
        case .completion(let shell):
            console.result(Completion.script(for: shell) ?? "")
            return .success
        case .doctor:
            return try DoctorCommand(session: Session(global: invocation.global, context: context, output: output, console: console)).run()
        case .runs(let o):
            return try RunCommands(session: Session(global: invocation.global, context: context, output: output, console: console)).runs(o)
        }
    }

    static func helpText(_ topic: String?) -> String {
        switch topic {
        case nil: return Help.overview(version: HeliosVersion.string)
        case "exit-codes": return Help.exitCodes()
        case "environment": return Help.environment()
        case "output": return Help.output()
        case let name?: return CommandTable.command(named: name).map(Help.command) ?? Help.overview(version: HeliosVersion.string)
        }
    }
}

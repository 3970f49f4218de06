import Foundation
import Testing
@testable import HeliosCore
import HeliosTestSupport

/// Every step boundary of the run lifecycle, for one file and for batches of named files and of
/// manifest rows, under a signal, a network or disk failure and a crash (and, for one file, two
/// signals), then a resume with
/// the command helios printed (or, after a crash, the obvious one). After each:
/// - every run the server created is journaled, or journaled as an unconfirmed create;
/// - no recording is stored under two runs;
/// - no row gets two runs, except one an unconfirmed create left behind, and that one is reported;
/// - everything ends COMPLETE_OK.
@Suite(.blocking) struct LifecycleSweepTests {
    enum Shape: String, CaseIterable, Sendable {
        case oneFile, batchOfFiles, manifest
    }

    struct Setup {
        var world: RunWorld
        var args: [String]
        /// What a user types to carry on after a crash (no hint was printed).
        var resumeArgs: [String]
        var recordings: Int
    }

    /// Recordings are written once and copied into each trial's world (encoding them is slow).
    static func recording(_ seconds: Double, into dir: String, name: String) throws -> String {
        let source = try RecordingCache.shared.path(seconds)
        let path = dir + "/" + name
        try FileManager.default.copyItem(atPath: source, toPath: path)
        return path
    }

    static func setup(_ shape: Shape) throws -> Setup {
        let world = RunWorld()
        let wait = ["--poll-interval", "3s", "--json"]
        switch shape {
        case .oneFile:
            // Ogg Vorbis: small files, so hashing (slow in a debug build) stays out of the way.
            let file = try recording(12, into: world.dir, name: "take.ogg")
            let args = ["submit", file, "--dob", "1990-08", "--sex", "female"] + wait
            return Setup(world: world, args: args, resumeArgs: ["submit", "--resume"] + args.dropFirst(), recordings: 1)
        case .batchOfFiles:
            let files = try (0..<2).map { try recording(12 + Double($0) * 0.5, into: world.dir, name: "take\($0).ogg") }
            let args = ["submit"] + files + ["--dob", "1984", "--sex", "male", "--concurrency", "1"] + wait
            return Setup(world: world, args: args, resumeArgs: ["submit", "--resume"] + args.dropFirst(), recordings: 2)
        case .manifest:
            var csv = "file,userLabel,dob,sex\n"
            for i in 0..<2 {
                let file = try recording(12 + Double(i) * 0.5, into: world.dir, name: "p\(i).ogg")
                csv += "\(file),participant-\(i),197\(i),FEMALE\n"
            }
            let manifest = world.dir + "/study.csv"
            try csv.write(toFile: manifest, atomically: true, encoding: .utf8)
            let args = ["submit", "--manifest", manifest, "--concurrency", "1"] + wait
            return Setup(world: world, args: args, resumeArgs: args, recordings: 2)
        }
    }

    /// How many boundaries an uninterrupted run crosses: the sweep's range.
    static func boundaries(_ shape: Shape) throws -> [String] {
        let s = try setup(shape)
        let faults = Faults(at: nil, .signal, cancellation: Cancellation())
        let r = s.world.run(s.args, faults: faults)
        #expect(r.status == 0, "\(r.stderr)")
        return r.boundaries
    }

    @Test(arguments: Shape.allCases)
    func everyBoundaryEveryInterruption(shape: Shape) throws {
        let count = try Self.boundaries(shape).count
        #expect(count >= (shape == .oneFile ? 14 : 28), "the sweep must cross create, upload and polls of every row")
        var trials = 0
        // Two signals matter only where a create is in flight, which one file shows fully.
        let kinds = shape == .oneFile ? Faults.Kind.allCases : [.signal, .failure, .crash]
        for kind in kinds {
            for at in 1...count {
                try trial(shape, kind, at: at)
                trials += 1
            }
        }
        #expect(trials == count * kinds.count)
    }

    func trial(_ shape: Shape, _ kind: Faults.Kind, at: Int) throws {
        let s = try Self.setup(shape)
        let world = s.world
        let faults = Faults(at: at, kind, cancellation: Cancellation())
        let first = world.run(s.args, faults: faults)
        let point = "\(shape) \(kind) at \(at) (\(faults.boundaries.last ?? "?"))"

        // The documented exit codes, and after a stop, one command that carries on.
        if !faults.didCrash {
            if kind == .signal || kind == .doubleSignal {
                #expect([0, 130].contains(first.status), "\(point): \(first.stderr)")
            }
            if first.status == 130 {
                #expect(first.resumeHint != nil, "\(point): no resume hint in \(first.stderr)")
            }
            if let hint = first.resumeHint {
                #expect(!hint.contains("--force"), "\(point)")
            }
        }
        // Every run the server made is on disk from the moment the first process stopped, as a
        // journal line or, when the journal could not be written, in the kept upload URL and on
        // screen; otherwise its create is on record as unconfirmed.
        let journaled = Set(try world.journal().compactMap(\.runId))
        let traces = try world.latest().filter { $0.runId == nil && $0.state != .abandoned }
        let kept = Self.keptRunIds(world)
        for run in world.server.runs where !journaled.contains(run.id) {
            let shown = kept.contains(run.id) && (faults.didCrash || first.stderr.contains(run.id))
            #expect(shown || traces.contains { $0.userLabel == run.userLabel }, "\(point): run \(run.id) is neither journaled, kept and shown, nor an unconfirmed create")
        }

        var resumeArgs = first.resumeHint ?? s.resumeArgs
        if resumeArgs.first == "poll" || first.status == 0 { resumeArgs = s.resumeArgs }
        let second = world.run(resumeArgs)
        #expect(second.status == 0, "\(point): resume \(resumeArgs.joined(separator: " ")) exited \(second.status): \(second.stderr)")
        if try world.latest().contains(where: { $0.state == .createUnconfirmed }) {
            #expect(first.stderr.contains("got no answer") || faults.didCrash || second.stderr.contains("never confirmed"),
                    "\(point): an unconfirmed create is not reported")
        }
        try Self.checkInvariants(world, recordings: s.recordings, point: point)
    }

    /// Run ids named by the upload URLs kept in the state directory.
    static func keptRunIds(_ world: RunWorld) -> Set<String> {
        let dir = world.state + "/uploads"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return Set(names.compactMap { name in
            UploadURLStore(directory: dir).load(intent: String(name.dropLast(".json".count)))?.runId
        })
    }

    static func checkInvariants(_ world: RunWorld, recordings: Int, point: String) throws {
        let runs = world.server.runs
        let entries = try world.journal()
        let journaled = Set(entries.compactMap(\.runId))
        let unconfirmed = try world.latest().filter { $0.runId == nil && $0.state == .createUnconfirmed }
        // 1. Every run the server created is journaled or reported as an unconfirmed create.
        for run in runs where !journaled.contains(run.id) {
            #expect(unconfirmed.contains { $0.userLabel == run.userLabel }, "\(point): run \(run.id) lost")
        }
        // 2. No recording is stored under two runs.
        let stored = runs.compactMap(\.storedSha256)
        #expect(Set(stored).count == stored.count, "\(point): a recording stored twice")
        #expect(Set(stored).count == recordings, "\(point): \(Set(stored).count) of \(recordings) recordings stored")
        // 3. No row gets two runs, beyond what an unconfirmed create may have left.
        for (label, forLabel) in Dictionary(grouping: runs, by: \.userLabel) {
            let allowed = 1 + unconfirmed.filter { $0.userLabel == label }.count
            #expect(forLabel.count <= allowed, "\(point): \(forLabel.count) runs for \(label)")
        }
        // 4. Everything ends COMPLETE_OK.
        #expect(runs.filter { $0.storedSha256 != nil }.allSatisfy { $0.status == "COMPLETE_OK" }, "\(point): not all complete")
        let pending = try world.latest().filter(\.isPending)
        #expect(pending.allSatisfy { $0.state == .createUnconfirmed }, "\(point): left pending: \(pending.map(\.status))")
    }
}

/// Ogg Vorbis speech-like recordings by length, written once per test process.
final class RecordingCache: @unchecked Sendable {
    static let shared = RecordingCache()
    private let lock = NSLock()
    private let dir = TestPaths.makeTempDir("helios-recording-cache")
    private var paths: [Double: String] = [:]

    func path(_ seconds: Double) throws -> String {
        try lock.withLock {
            if let p = paths[seconds] { return p }
            let p = try TestRecordings.write(.ogg, seconds: seconds, to: dir)
            paths[seconds] = p
            return p
        }
    }
}

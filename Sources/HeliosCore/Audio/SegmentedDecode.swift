import Dispatch
import Synchronization

/// The speech pass over a decoder that can start part-way through a stream (AAC: a frame's output
/// depends on the frame before it and no further), for a decoder too costly for one core beside
/// the analysis. The stream is cut into segments that worker threads (this one among them) take
/// in turn, each with a decoder of its own; a worker runs the estimator's front (level figures,
/// downmix, resampling to 8 kHz) over its segment, and the frames are analysed in order by
/// whichever worker hands over the segment that is next.
///
/// The output is the single stream's. A worker decodes a few frames before its segment to set up
/// the decoder and give the resampler the input just before the segment, and its resampler
/// resumes at the segment's first sample (`SignalFront.resume`): the samples all segments before
/// gave. When those are not all decoded yet the worker goes on with the count they should give
/// (`nominalStart`) rather than wait, and keeps its samples: the analysis, which knows the true
/// start, runs that segment's front again if they gave another (a frame skipped on an error).
///
/// Memory stays flat: no segment starts more than `window` past the oldest not yet analysed.
enum SegmentedDecode {
    /// How a worker decodes segment `segment`: it fills `history` with interleaved frames just before
    /// the segment (at least `historyFrames` of them, as `speech` passes to `makeDecoder`; none
    /// before the first) and `samples` with the segment's own, both replaced, and returns whether
    /// the stream goes on after it (false: it ended inside, on a read failure or a change of format).
    typealias Decode = (_ segment: Int, _ history: inout [Float], _ samples: inout [Float]) -> Bool

    /// Where segments of at most `size` units start, for `count` units: `size` each, then halving
    /// over the last `2 · size` down to `smallest` (none smaller but the last, nor a sliver after
    /// it), so that the workers finish close together: the last segment is the only work left,
    /// with one worker waiting. The last entry is `count`.
    static func plan(count: Int, size: Int, smallest: Int) -> [Int] {
        let size = max(1, size), smallest = max(1, min(smallest, size))
        var starts = [0], at = 0
        while at < count {
            let left = count - at
            var piece = min(left, size, max(smallest, (left + 1) / 2))
            if left - piece < smallest, left <= size { piece = left }  // no sliver after it
            at += piece
            starts.append(at)
        }
        return starts
    }

    /// How far past the oldest segment not yet analysed a worker may start one: the segments
    /// decoded and not yet analysed, so the memory held, stay at most this many.
    static let window = 4

    /// The speech pass over `segments` segments, decoded by `workers` threads, this one among
    /// them; `makeDecoder` is called once on each worker's thread with the number of frames of
    /// history a segment needs; `nominalStart(k)` is the frame segment k starts at when every
    /// frame before decodes. (No thread of its own for the analysis: three busy threads on two
    /// cores left one core idle while the scheduler alternated two on the other.) nil when the
    /// estimator does not take the rate. `alwaysNominal` (tests) takes every start but the first's
    /// as nominal, as if the workers were always ahead.
    static func speech(
        sampleRate: Int, channels: Int, segments: Int, workers: Int = 2, alwaysNominal: Bool = false,
        nominalStart: @escaping (Int) -> Int, makeDecoder: @escaping (_ historyFrames: Int) -> Decode
    ) -> SpeechAnalysis? {
        guard let estimator = SpeechEstimator(sampleRate: sampleRate, channels: channels) else { return nil }
        let run = SegmentRun(
            estimator: estimator, channels: channels, segments: max(0, segments), workers: max(1, workers),
            nominalStart: nominalStart, alwaysNominal: alwaysNominal)
        let others = (1..<run.workers).map { w in
            let work = Producer { run.work(w, decode: makeDecoder(run.historyFrames)) }
            return Worker(elsewhere: true) { work.run() }
        }
        run.work(0, decode: makeDecoder(run.historyFrames))
        for thread in others { thread.join() }
        return run.finish()
    }
}

/// A segment's part of the speech pass, as its worker hands it over.
private struct SegmentResult {
    var segment = 0
    /// Frames (per channel) the segment decoded to, and the frame it was taken to start at.
    var frames = 0
    var start = 0
    /// The stream goes on after the segment.
    var goesOn = true
    /// The front's output, at the analysis rate.
    var output: [Float] = []
    /// The front that made it (its level figures).
    var front: SignalFront?
    /// The stream ends in this segment (its front's resampler is finished).
    var last = false
    /// The decoded samples and their history, kept when `start` was only the nominal one.
    var samples: [Float]?
    var history: [Float] = []
}

/// A closure run once on a worker thread. @unchecked: handed to that thread at its start.
private final class Producer: @unchecked Sendable {
    let run: () -> Void
    init(_ run: @escaping () -> Void) { self.run = run }
}

/// What the workers share: under `lock` the segments handed out, decoded and waiting for the
/// analysis; the estimator and the merged front belong to the worker that has set `analysing`.
// @unchecked: the mutable state is under the lock, or owned through the `analysing` flag.
private final class SegmentRun: @unchecked Sendable {
    let channels: Int
    let segments: Int
    let workers: Int
    let historyFrames: Int
    private let nominalStart: (Int) -> Int
    private let alwaysNominal: Bool
    /// A fresh front, copied for each segment.
    private let front: SignalFront

    private struct Shared {
        /// The next segment to hand out.
        var handedOut = 0
        /// Finished segments from `next` on, at index k mod `window`.
        var ready: [SegmentResult?] = Array(repeating: nil, count: SegmentedDecode.window)
        /// The oldest segment not yet analysed.
        var next = 0
        /// A worker is analysing (it owns `estimator`, `merged`, `ended` and `start` until it
        /// clears this).
        var analysing = false
        /// Workers waiting for the window to move.
        var waiting: [Bool]
        /// Every segment before `decodedThrough` is decoded, and `decodedThrough` starts at frame
        /// `decodedStart`; `counts` holds the frames of the segments after it already decoded.
        var decodedThrough = 0
        var decodedStart = 0
        var counts: [Int: Int] = [:]
        /// Sample buffers kept with a segment and analysed since, for the next to keep (a fresh
        /// megabyte a segment costs its page faults and its growing copies).
        var spare: [[Float]] = []
    }
    private let lock: Mutex<Shared>
    /// Signalled when a worker waiting for the window may go on.
    private let mayStart: [DispatchSemaphore]
    private var estimator: SpeechEstimator
    private var merged: SignalFront?
    private var ended = false
    /// The frame the next segment analysed starts at.
    private var start = 0

    init(estimator: SpeechEstimator, channels: Int, segments: Int, workers: Int, nominalStart: @escaping (Int) -> Int, alwaysNominal: Bool) {
        self.alwaysNominal = alwaysNominal
        self.estimator = estimator
        front = estimator.detachedFront
        historyFrames = front.historyFrames
        self.channels = channels
        self.segments = segments
        self.workers = workers
        self.nominalStart = nominalStart
        mayStart = (0..<workers).map { _ in DispatchSemaphore(value: 0) }
        lock = Mutex(Shared(waiting: Array(repeating: false, count: workers)))
    }

    /// Worker `w`: takes the next segment, decodes it, runs the front over it from where it
    /// starts (or should), and hands it to the analysis; until none is left.
    func work(_ w: Int, decode: SegmentedDecode.Decode) {
        var history: [Float] = [], samples: [Float] = []
        while let k = claim(worker: w) {
            let goesOn = decode(k, &history, &samples)
            let frames = samples.count / channels
            let known = decoded(k, frames: frames).flatMap { alwaysNominal && k > 0 ? nil : $0 }
            var result = runFront(k, start: known ?? nominalStart(k), history: history, samples: samples, goesOn: goesOn)
            if known == nil {
                result.samples = samples
                result.history = history
                samples = lock.withLock { $0.spare.popLast() } ?? []
            }
            handOver(k, result)
        }
    }

    /// The front over segment `k` from frame `start` on.
    private func runFront(_ k: Int, start: Int, history: [Float], samples: [Float], goesOn: Bool) -> SegmentResult {
        var result = SegmentResult(segment: k, frames: samples.count / channels, start: start, goesOn: goesOn)
        var front = front, chunk: [Float] = []
        if k > 0 { history.withUnsafeBufferPointer { front.resume(at: start, history: $0) } }
        result.output.reserveCapacity(Int(Double(result.frames) / front.resamplingStep) + 16)
        let block = 8192 * channels
        samples.withUnsafeBufferPointer { all in
            var at = 0
            while at < all.count {
                let end = min(all.count, at + block)
                front.process(UnsafeBufferPointer(rebasing: all[at..<end]), into: &chunk)
                result.output.append(contentsOf: chunk)
                at = end
            }
        }
        if !goesOn || k == segments - 1 {
            front.finish(into: &chunk)
            result.output.append(contentsOf: chunk)
            result.last = true
        }
        result.front = front
        return result
    }

    /// The next segment for worker `w`, once it is within `window` of the oldest not yet
    /// analysed; nil when all are handed out. (The oldest is always being decoded or handed
    /// over, so the window always moves on.)
    private func claim(worker w: Int) -> Int? {
        while true {
            let (k, wait) = lock.withLock { shared -> (Int?, Bool) in
                guard shared.handedOut < segments else { return (nil, false) }
                guard shared.handedOut < shared.next + SegmentedDecode.window else {
                    shared.waiting[w] = true
                    return (nil, true)
                }
                shared.handedOut += 1
                return (shared.handedOut - 1, false)
            }
            if !wait { return k }
            mayStart[w].wait()
        }
    }

    /// Records that segment `k` decoded to `frames`; returns where it starts when all segments
    /// before it are decoded. (Later is too late: its worker is already on its way.)
    private func decoded(_ k: Int, frames: Int) -> Int? {
        lock.withLock { shared in
            shared.counts[k] = frames
            var start: Int?
            while let count = shared.counts.removeValue(forKey: shared.decodedThrough) {
                if shared.decodedThrough == k { start = shared.decodedStart }
                shared.decodedStart += count
                shared.decodedThrough += 1
            }
            return start
        }
    }

    /// Files segment `k`'s result; if no worker is analysing, this one analyses every segment now
    /// ready, in order, letting waiting workers go on as the window moves.
    private func handOver(_ k: Int, _ result: SegmentResult) {
        var analyse = lock.withLock { shared -> Bool in
            shared.ready[k % SegmentedDecode.window] = result
            guard !shared.analysing else { return false }
            shared.analysing = true
            return true
        }
        while analyse {
            let next: SegmentResult? = lock.withLock { shared in
                let slot = shared.next % SegmentedDecode.window
                guard let result = shared.ready[slot] else {
                    shared.analysing = false
                    return nil
                }
                shared.ready[slot] = nil
                shared.next += 1
                for w in 0..<workers where shared.waiting[w] {
                    shared.waiting[w] = false
                    mayStart[w].signal()
                }
                return result
            }
            if let next { take(next) } else { analyse = false }
        }
    }

    /// Analyses the next segment's output (by the worker that holds `analysing`).
    private func take(_ handed: consuming SegmentResult) {
        var result = handed
        // Moved out, so that the buffer goes back to `spare` unshared (not copied on its first write).
        var kept = result.samples.take()
        defer {
            if var samples = kept.take() {
                samples.removeAll(keepingCapacity: true)
                lock.withLock { $0.spare.append(samples) }
            }
        }
        // After the segment the stream ended in, segments are dropped.
        guard !ended else { return }
        // Taken to start where it should, but the segments before gave another count: again
        // from the true start (the level figures are the same, the resampling's phase is not).
        if result.start != start, let samples = kept {
            result = runFront(result.segment, start: start, history: result.history, samples: samples, goesOn: result.goesOn)
        }
        guard let front = result.front else { return }
        result.output.withUnsafeBufferPointer { estimator.consumeAnalysisRate($0) }
        if var total = merged {
            total.absorb(front)
            merged = total
        } else {
            merged = front
        }
        start += result.frames
        ended = result.last
    }

    /// The figures, once every worker is done.
    func finish() -> SpeechAnalysis {
        // The last segment's front has finished its resampler (its tail went with its output).
        var total = merged ?? front
        return estimator.finish(front: &total)
    }
}

import Dispatch

/// The speech pass over a decoder that can start part-way through a stream (AAC: a frame's output
/// depends on the frame before it and no further), for a decoder too costly for one core beside
/// the analysis. The stream is cut into segments that worker threads take in turn, each with a
/// decoder of its own, and each runs the estimator's front (level figures, downmix, resampling to
/// 8 kHz) over its segment; this thread analyses the frames, segment by segment in order. The
/// output is the single stream's: a worker decodes a few frames before its segment to set up the
/// decoder and give the resampler the input just before the segment, and its resampler starts at
/// the segment's first sample (`SignalFront.resume`), which it learns from the worker of the
/// segment before as soon as that one is decoded. Memory stays flat: each worker holds at most
/// `depth` finished segments that this thread has not taken.
enum SegmentedDecode {
    /// How a worker decodes segment `segment`: it fills `history` with interleaved frames just before
    /// the segment (at least `historyFrames` of them, as `speech` passes to `makeDecoder`; none
    /// before the first) and `samples` with the segment's own, both replaced, and returns whether
    /// the stream goes on after it (false: it ended inside, on a read failure or a change of format).
    typealias Decode = (_ segment: Int, _ history: inout [Float], _ samples: inout [Float]) -> Bool

    /// Finished segments each worker may hold before this thread takes them.
    static let depth = 2

    /// The speech pass over `segments` segments, decoded by `workers` threads; `makeDecoder` is
    /// called once on each worker's thread with the number of frames of history a segment needs.
    /// nil when the estimator does not take the rate.
    static func speech(
        sampleRate: Int, channels: Int, segments: Int, workers: Int = 2,
        makeDecoder: @escaping (_ historyFrames: Int) -> Decode
    ) -> SpeechAnalysis? {
        guard var estimator = SpeechEstimator(sampleRate: sampleRate, channels: channels) else { return nil }
        guard segments > 0 else { return estimator.finish() }
        let run = SegmentRun(front: estimator.detachedFront, channels: channels, segments: segments, workers: max(1, workers))
        let threads = (0..<run.workers).map { w in
            let make = Producer { run.work(w, decode: makeDecoder(run.front.historyFrames)) }
            return Worker { make.run() }
        }
        var merged: SignalFront?
        var ended = false
        for k in 0..<segments {
            let result = run.take(k)
            // After the segment the stream ended in, the workers' segments are dropped.
            guard !ended, let front = result.front else { continue }
            result.output.withUnsafeBufferPointer { estimator.consumeAnalysisRate($0) }
            if var total = merged {
                total.absorb(front)
                merged = total
            } else {
                merged = front
            }
            ended = result.last
        }
        for thread in threads { thread.join() }
        // The last segment's front has finished its resampler (its tail went with its output).
        var front = merged ?? run.front
        return estimator.finish(front: &front)
    }
}

/// A segment's part of the speech pass, as its worker hands it over.
private struct SegmentResult {
    /// The front's output, at the analysis rate.
    var output: [Float] = []
    /// The front that made it (its level figures); nil when the stream had ended before the segment.
    var front: SignalFront?
    /// The stream ends in this segment (its front's resampler is finished).
    var last = false
}

/// A closure run once on a worker thread. @unchecked: handed to that thread at its start.
private final class Producer: @unchecked Sendable {
    let run: () -> Void
    init(_ run: @escaping () -> Void) { self.run = run }
}

/// What the workers and the analysing thread share. Every slot is touched by one thread at a time,
/// in an order the semaphores set, so none needs a lock of its own: `starts[w]` is written by the
/// worker of the segment before worker w's next one and read by w after `startReady[w]`;
/// `results[w * depth + i]` is filled by worker w after `free[w]` and taken by the analysing thread
/// after `filled[w]`. Segment k is worker k mod `workers`'s.
// @unchecked: raw slots ordered by the semaphores; `front` is read only.
private final class SegmentRun: @unchecked Sendable {
    let front: SignalFront
    let channels: Int
    let segments: Int
    let workers: Int
    private let depth = SegmentedDecode.depth
    /// The first frame (per channel) of each worker's next segment in the stream, and whether the
    /// stream ended before it.
    private let starts: UnsafeMutableBufferPointer<(frame: Int, ended: Bool)>
    private let startReady: [DispatchSemaphore]
    private let results: UnsafeMutableBufferPointer<SegmentResult>
    private let free: [DispatchSemaphore]
    private let filled: [DispatchSemaphore]

    init(front: SignalFront, channels: Int, segments: Int, workers: Int) {
        self.front = front
        self.channels = channels
        self.segments = segments
        self.workers = workers
        starts = .allocate(capacity: workers)
        starts.initialize(repeating: (0, false))
        startReady = (0..<workers).map { _ in DispatchSemaphore(value: 0) }
        results = .allocate(capacity: workers * SegmentedDecode.depth)
        results.initialize(repeating: SegmentResult())
        free = (0..<workers).map { _ in DispatchSemaphore(value: SegmentedDecode.depth) }
        filled = (0..<workers).map { _ in DispatchSemaphore(value: 0) }
        // The first segment starts at the stream's start.
        startReady[0].signal()
    }

    deinit {
        starts.deallocate()
        _ = results.deinitialize()
        results.deallocate()
    }

    /// Worker `w`: decodes its segments in turn, then runs the front over each once it knows where
    /// in the stream the segment starts.
    func work(_ w: Int, decode: SegmentedDecode.Decode) {
        var history: [Float] = [], samples: [Float] = [], chunk: [Float] = []
        let block = 8192 * channels
        var k = w
        while k < segments {
            let goesOn = decode(k, &history, &samples)
            // Where this segment starts, from the segment before; then where the next one does.
            startReady[w].wait()
            let (start, endedBefore) = starts[w]
            let next = (k + 1) % workers
            starts[next] = (start + samples.count / channels, endedBefore || !goesOn)
            startReady[next].signal()

            var result = SegmentResult()
            if !endedBefore {
                var front = front
                if k > 0 { history.withUnsafeBufferPointer { front.resume(at: start, history: $0) } }
                result.output.reserveCapacity(Int(Double(samples.count / channels) / front.resamplingStep) + 16)
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
            }
            free[w].wait()
            results[w * depth + (k / workers) % depth] = result
            filled[w].signal()
            k += workers
        }
    }

    /// The analysing thread: segment `k`'s result, once its worker has it (in order of k).
    func take(_ k: Int) -> SegmentResult {
        let w = k % workers
        filled[w].wait()
        let slot = w * depth + (k / workers) % depth
        let result = results[slot]
        results[slot] = SegmentResult()
        free[w].signal()
        return result
    }
}

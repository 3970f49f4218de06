import Dispatch

/// Runs a decoder on a second thread a few blocks ahead of the work on its output, so the two
/// overlap: the speech pass sits in front of every upload. Constant memory.
enum OverlappedDecode {
    /// Streams a decoder's output to `body` in blocks. `read` fills its buffer with up to `frames`
    /// interleaved frames and returns how many; fewer than asked marks the end. It runs on the
    /// decoding thread only, and is done when this returns. Returns the number of frames decoded.
    static func run(
        blockFrames: Int, channels: Int, read: @escaping (UnsafeMutablePointer<Float>, Int) -> Int,
        _ body: (UnsafeBufferPointer<Float>) -> Void
    ) -> Int64 {
        let pipe = BlockPipe(capacity: blockFrames * channels)
        let producer = Producer {
            var more = true
            while more {
                pipe.fill { slot in
                    // `read` may not return more than asked; clamp anyway, the caller slices by this.
                    let got = slot.baseAddress.map { min(blockFrames, max(0, read($0, blockFrames))) } ?? 0
                    more = got == blockFrames
                    return got * channels
                }
            }
        }
        var total: Int64 = 0
        let decoder = Worker(elsewhere: true) { producer.run(); pipe.close() }
        pipe.drain { block in
            total += Int64(block.count / channels)
            body(block)
        }
        decoder.join()
        return total
    }

    /// Where the estimator's front (level figures, downmix, resampling to 8 kHz) runs.
    enum FrontPlacement {
        /// On the decoding thread: for a cheap decoder (PCM, FLAC), where the front is the heavy part.
        case withDecoder
        /// On the caller's thread, with the frame analysis: for a costly decoder (MP3, Opus),
        /// which then has a core to itself. (AAC and WebM Opus, costlier still, are decoded in
        /// segments on two threads: `SegmentedDecode`.)
        case withAnalysis
    }

    /// The whole speech pass over a decoder (`read` as for `run`) on two threads: see
    /// `speech(sampleRate:channels:front:produce:)`.
    static func speech(
        sampleRate: Int, channels: Int, front placement: FrontPlacement, blockFrames: Int = 8192,
        read: @escaping (UnsafeMutablePointer<Float>, Int) -> Int
    ) -> SpeechAnalysis? {
        try? speech(sampleRate: sampleRate, channels: channels, front: placement, blockFrames: blockFrames) { push in
            let decoded = UnsafeMutableBufferPointer<Float>.allocate(capacity: blockFrames * channels)
            defer { decoded.deallocate() }
            while let base = decoded.baseAddress {
                let got = min(blockFrames, max(0, read(base, blockFrames)))
                push(UnsafeBufferPointer(rebasing: decoded[0..<got * channels]))
                if got < blockFrames { break }
            }
        }
    }

    /// The whole speech pass on two threads: `produce` decodes on the second thread, handing
    /// interleaved samples of `channels` channels to `push` in blocks of any size, a few blocks
    /// ahead of the frame analysis on this thread; the estimator's front (level figures, downmix,
    /// resampling to 8 kHz) runs beside whichever is the lighter (`front`). (A third thread for
    /// the front balanced no better on two cores, and cost its hand-offs.) nil when the estimator
    /// does not take the rate; rethrows what `produce` throws, once both threads are done.
    static func speech(
        sampleRate: Int, channels: Int, front placement: FrontPlacement, blockFrames: Int = 8192,
        produce: @escaping (_ push: (UnsafeBufferPointer<Float>) -> Void) throws -> Void
    ) throws -> SpeechAnalysis? {
        guard var estimator = SpeechEstimator(sampleRate: sampleRate, channels: channels) else { return nil }
        let pipe = BlockPipe(capacity: blockFrames * channels)
        let stage = FrontStage(estimator.detachedFront)
        let producer = Producer {
            var out: [Float] = []
            do {
                try produce { block in
                    guard placement == .withDecoder else { return pipe.push(block) }
                    stage.front.process(block, into: &out)
                    out.withUnsafeBufferPointer { pipe.push($0) }
                }
            } catch {
                stage.failure = error
            }
        }
        let decoder = Worker(elsewhere: true) { producer.run(); pipe.close() }
        pipe.drain { block in
            if placement == .withDecoder { estimator.consumeAnalysisRate(block) } else { estimator.consume(block) }
        }
        decoder.join()
        if let failure = stage.failure { throw failure }
        if placement == .withDecoder { return estimator.finish(front: &stage.front) }
        return estimator.finish()
    }
}

/// A closure run once on a worker thread. @unchecked: it is handed to that thread at its start
/// and not touched by the caller until the thread is joined.
private final class Producer: @unchecked Sendable {
    let run: () -> Void
    init(_ run: @escaping () -> Void) { self.run = run }
}

/// The front while its worker thread owns it (from the thread's start to its join).
// @unchecked: one thread at a time, handed over at the thread's start and join.
private final class FrontStage: @unchecked Sendable {
    var front: SignalFront
    /// What the producer threw.
    var failure: (any Error)?
    init(_ front: SignalFront) { self.front = front }
}

/// A few buffers of floats passed from one producing thread to one consuming thread. The
/// semaphores order every access to a slot, so the slots and counts need no lock of their own;
/// each slot's count is its own memory, and a count of -1 marks the end.
// @unchecked: raw buffers, each slot touched by one thread at a time (the semaphores).
private final class BlockPipe: @unchecked Sendable {
    static let slots = 3
    let capacity: Int
    private let buffers: [UnsafeMutableBufferPointer<Float>]
    private let counts = UnsafeMutableBufferPointer<Int>.allocate(capacity: BlockPipe.slots)
    private let free = DispatchSemaphore(value: BlockPipe.slots)
    private let filled = DispatchSemaphore(value: 0)
    /// The producer's next slot, the one it is filling by `push` and how full, and the
    /// consumer's next: each touched by its own thread only.
    private var produced = 0
    private var open: Int?
    private var openCount = 0
    private var consumed = 0

    init(capacity: Int) {
        self.capacity = max(1, capacity)
        buffers = (0..<Self.slots).map { _ in
            let b = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(1, capacity))
            b.initialize(repeating: 0)
            return b
        }
        counts.initialize(repeating: 0)
    }

    deinit {
        for b in buffers { b.deallocate() }
        counts.deallocate()
    }

    /// Producer: `write` fills the next free slot and returns how many floats it wrote.
    func fill(_ write: (UnsafeMutableBufferPointer<Float>) -> Int) {
        publish()
        free.wait()
        let slot = produced % Self.slots
        counts[slot] = min(capacity, max(0, write(buffers[slot])))
        produced += 1
        filled.signal()
    }

    /// Producer: appends `samples` to the slot being filled, handing each slot over as it fills
    /// (so small pushes, an Opus packet's 320 samples, do not cost a hand-off each).
    func push(_ samples: UnsafeBufferPointer<Float>) {
        guard let source = samples.baseAddress else { return }
        var start = 0
        while start < samples.count {
            if open == nil {
                free.wait()
                open = produced % Self.slots
                openCount = 0
            }
            guard let slot = open, let target = buffers[slot].baseAddress else { return }
            let n = min(capacity - openCount, samples.count - start)
            (target + openCount).update(from: source + start, count: n)
            openCount += n
            start += n
            if openCount == capacity { publish() }
        }
    }

    /// Producer: hands over the slot being filled.
    private func publish() {
        guard let slot = open else { return }
        counts[slot] = openCount
        produced += 1
        open = nil
        filled.signal()
    }

    /// Producer: no more blocks.
    func close() {
        publish()
        free.wait()
        counts[produced % Self.slots] = -1
        produced += 1
        filled.signal()
    }

    /// Consumer: hands each block to `body` in order until the producer closes the pipe.
    func drain(_ body: (UnsafeBufferPointer<Float>) -> Void) {
        while true {
            filled.wait()
            let slot = consumed % Self.slots
            let count = counts[slot]
            consumed += 1
            if count > 0 { body(UnsafeBufferPointer(rebasing: buffers[slot][0..<count])) }
            // Every slot goes back, the end marker's too: libdispatch traps on freeing a
            // semaphore whose count is below the one it started with.
            free.signal()
            if count < 0 { return }
        }
    }
}

/// The samples a frame-by-frame decoder (FAAD2, libopus) produced and not yet handed out, served
/// in whatever block size `OverlappedDecode` asks for.
struct DecodedSamples {
    var samples: [Float] = []
    var taken = 0

    /// Copies up to `frames` interleaved frames into `out`, calling `refill` (which replaces
    /// `samples` and resets `taken`) whenever they run out; fewer frames only when it says the
    /// stream has ended.
    mutating func read(into out: UnsafeMutablePointer<Float>, frames: Int, channels: Int, refill: (inout DecodedSamples) -> Bool) -> Int {
        let want = frames * channels
        var written = 0
        while written < want {
            if taken == samples.count, !refill(&self) { break }
            let n = min(want - written, samples.count - taken)
            samples.withUnsafeBufferPointer { source in
                guard let base = source.baseAddress else { return }
                (out + written).update(from: base + taken, count: n)
            }
            written += n
            taken += n
        }
        return written / channels
    }
}

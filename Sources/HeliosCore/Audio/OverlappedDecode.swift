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
        let decoder = Worker { producer.run(); pipe.close() }
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
        /// On the caller's thread, with the frame analysis: for a costly decoder (AAC, MP3),
        /// which then has a core to itself.
        case withAnalysis
    }

    /// The whole speech pass over a decoder (`read` as for `run`) on two threads: the decoder runs
    /// a few blocks ahead of the frame analysis, on this thread, and the front runs beside
    /// whichever is the lighter (`front`). (A third thread for the front balanced no better on
    /// two cores, and cost its hand-offs.) nil when the estimator does not take the rate.
    static func speech(
        sampleRate: Int, channels: Int, front placement: FrontPlacement, blockFrames: Int = 8192,
        read: @escaping (UnsafeMutablePointer<Float>, Int) -> Int
    ) -> SpeechAnalysis? {
        guard var estimator = SpeechEstimator(sampleRate: sampleRate, channels: channels) else { return nil }
        if placement == .withAnalysis {
            _ = run(blockFrames: blockFrames, channels: channels, read: read) { estimator.consume($0) }
            return estimator.finish()
        }
        let pipe = BlockPipe(capacity: blockFrames)
        let stage = FrontStage(estimator.detachedFront)
        let producer = Producer {
            let decoded = UnsafeMutableBufferPointer<Float>.allocate(capacity: blockFrames * channels)
            defer { decoded.deallocate() }
            var out: [Float] = []
            while let base = decoded.baseAddress {
                let got = min(blockFrames, max(0, read(base, blockFrames)))
                stage.front.process(UnsafeBufferPointer(rebasing: decoded[0..<got * channels]), into: &out)
                out.withUnsafeBufferPointer { pipe.push($0) }
                if got < blockFrames { break }
            }
        }
        let decoder = Worker { producer.run(); pipe.close() }
        pipe.drain { estimator.consumeAnalysisRate($0) }
        decoder.join()
        return estimator.finish(front: &stage.front)
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
    /// The producer's next slot, and the consumer's: each touched by its own thread only.
    private var produced = 0
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
        free.wait()
        let slot = produced % Self.slots
        counts[slot] = min(capacity, max(0, write(buffers[slot])))
        produced += 1
        filled.signal()
    }

    /// Producer: copies `samples` into as many slots as they need (none when empty).
    func push(_ samples: UnsafeBufferPointer<Float>) {
        var start = 0
        while start < samples.count {
            let n = min(capacity, samples.count - start)
            fill { slot in
                _ = slot.initialize(from: UnsafeBufferPointer(rebasing: samples[start..<(start + n)]))
                return n
            }
            start += n
        }
    }

    /// Producer: no more blocks.
    func close() {
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

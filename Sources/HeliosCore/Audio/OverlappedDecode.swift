import Dispatch

/// Streams a decoder's output to `body` in blocks while the decoder runs on a second thread a
/// few blocks ahead, so decoding and the work on each block overlap: the speech pass is about
/// half decode, half analysis, and it sits in front of every upload. Constant memory.
enum OverlappedDecode {
    /// `read` fills its buffer with up to `frames` interleaved frames and returns how many; fewer
    /// than asked marks the end. It runs on the decoding thread only, and is done when this returns.
    /// Returns the number of frames decoded.
    static func run(
        blockFrames: Int, channels: Int, read: @escaping (UnsafeMutablePointer<Float>, Int) -> Int,
        _ body: (UnsafeBufferPointer<Float>) -> Void
    ) -> Int64 {
        let ring = DecodeRing(blockFrames: blockFrames, channels: channels, read: read)
        let decoder = Worker { ring.produce() }
        var total: Int64 = 0
        var index = 0
        while true {
            let (slot, count) = ring.take(index)
            if count > 0 { body(UnsafeBufferPointer(rebasing: slot[0..<count * channels])) }
            total += Int64(count)
            ring.give()
            if count < blockFrames { break }
            index += 1
        }
        decoder.join()
        return total
    }
}

/// A few decode buffers passed between the decoding thread and the caller; the semaphores order
/// every access to a slot, so the slots and counts need no lock of their own. Each slot's count is
/// its own memory: one Swift array of counts would be read by one thread while the other writes it.
// @unchecked: raw buffers and a read closure, each slot touched by one thread at a time (the semaphores).
private final class DecodeRing: @unchecked Sendable {
    static let slots = 3
    let blockFrames: Int
    private let read: (UnsafeMutablePointer<Float>, Int) -> Int
    private let buffers: [UnsafeMutableBufferPointer<Float>]
    private let counts = UnsafeMutableBufferPointer<Int>.allocate(capacity: DecodeRing.slots)
    private let free = DispatchSemaphore(value: DecodeRing.slots)
    private let filled = DispatchSemaphore(value: 0)

    init(blockFrames: Int, channels: Int, read: @escaping (UnsafeMutablePointer<Float>, Int) -> Int) {
        self.blockFrames = blockFrames
        self.read = read
        buffers = (0..<Self.slots).map { _ in
            let b = UnsafeMutableBufferPointer<Float>.allocate(capacity: blockFrames * channels)
            b.initialize(repeating: 0)
            return b
        }
        counts.initialize(repeating: 0)
    }

    deinit {
        for b in buffers { b.deallocate() }
        counts.deallocate()
    }

    /// The decoding thread: fills slots in turn until a short block marks the end.
    func produce() {
        var index = 0
        while true {
            free.wait()
            let slot = index % Self.slots
            // `read` may not return more than asked; clamp anyway, the caller slices by this count.
            let got = min(blockFrames, max(0, buffers[slot].baseAddress.map { read($0, blockFrames) } ?? 0))
            counts[slot] = got
            filled.signal()
            if got < blockFrames { return }
            index += 1
        }
    }

    /// The caller: waits for block `index` and returns its slot and frame count.
    func take(_ index: Int) -> (UnsafeMutableBufferPointer<Float>, Int) {
        filled.wait()
        let slot = index % Self.slots
        return (buffers[slot], counts[slot])
    }

    /// The caller is done with the block it took last.
    func give() { free.signal() }
}

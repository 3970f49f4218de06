import CKernels
import Glibc

/// Streams mono audio down to a lower rate through a low-pass filter: output `m` is the filtered
/// input at position `m · step` (step = input rate / output rate, any ratio, 44.1 → 8 kHz included).
/// The filter is a Hann-windowed sinc with its cut-off at `cutoff` of the output rate and
/// `tapsPerStep` taps per input sample of step, tabulated at `phases` sub-sample offsets (the
/// nearest is used: at most 1/128 of an input sample off). Keeps only the input the next output
/// needs, so memory does not grow with the stream.
///
/// Into 8 kHz: flat to 2.5 kHz, -1 dB at 3 kHz, -3.7 dB at 3.4 kHz, -6 dB at the 3.6 kHz cut-off;
/// what would fold below 3.4 kHz (4.6 kHz and up) is down 42 dB or more. 12 taps per step, not
/// 16: the filter is the largest part of the speech pass after a decoder, and AAC, whose FAAD2
/// decode is two thirds of its time, needs the quarter saved to stay within half of ffmpeg's
/// silencedetect. The estimate moved by at most 0.03 s of MAE in any category of the bench.
struct Resampler {
    static let tapsPerStep = 12
    static let phases = 64
    /// The longest period `Schedule` tabulates (8 kHz from any whole rate in hertz has at most 8000).
    static let longestPeriod = 1 << 14

    let step: Double
    /// `phases` rows of `tapCount` taps.
    let taps: [Float]
    let tapCount: Int
    /// Where each output sits, when the ratio is a fraction of whole numbers with a short period.
    private let schedule: Schedule?
    private var pending: [Float] = []
    /// Stream index of `pending[0]`, and outputs produced so far.
    private var pendingStart = 0
    private var produced = 0

    /// The positions of one period of outputs for a ratio p/q in lowest terms: output n·q + j sits
    /// at input n·p + `slots[j].whole`, with the taps at `slots[j].row` (an offset in `taps`).
    /// Worked out in integers, once: the positions `Double(m) * step` rounded to the nearest phase
    /// gives, without a multiplication, a libm round and two conversions per output. (They agree
    /// because a rational position never lies half-way between two phases when q has fewer than
    /// seven factors of 2, as with every rate into 8 kHz, and the nearest half-way point is then at
    /// least 1/(2q) of a phase away, far beyond a Double's error.)
    private struct Schedule {
        struct Slot {
            var whole: Int32
            var row: Int32
        }
        let inputs: Int   // p
        let outputs: Int  // q
        let slots: [Slot]

        /// nil unless both rates are whole numbers and the period is at most `longestPeriod`.
        init?(inputRate: Double, outputRate: Double, tapCount: Int) {
            guard inputRate == inputRate.rounded(), outputRate == outputRate.rounded(),
                  inputRate >= 1, outputRate >= 1, inputRate < 1e9, outputRate < 1e9 else { return nil }
            var a = Int(inputRate), b = Int(outputRate)
            while b != 0 { (a, b) = (b, a % b) }
            let p = Int(inputRate) / a, q = Int(outputRate) / a
            guard q <= Resampler.longestPeriod else { return nil }
            let phases = Resampler.phases
            slots = (0..<q).map { j in
                let t = j * p
                var whole = t / q
                // The nearest of `phases` sub-sample offsets to (t mod q) / q, half-way rounded up
                // (as Double.rounded() rounds a positive value).
                var phase = (2 * phases * (t % q) + q) / (2 * q)
                if phase == phases { whole += 1; phase = 0 }
                return Slot(whole: Int32(whole), row: Int32(phase * tapCount))
            }
            inputs = p
            outputs = q
        }
    }

    /// `inputRate` > `outputRate` > 0; `cutoff` is a fraction of the output rate, below 0.5.
    init(inputRate: Double, outputRate: Double, cutoff: Double = 0.45) {
        step = inputRate / outputRate
        let count = Int((Double(Self.tapsPerStep) * step).rounded(.up)) | 1
        let normalised = cutoff / step  // in cycles per input sample
        let middle = Double(count - 1) / 2
        var table = [Float](repeating: 0, count: Self.phases * count)
        for phase in 0..<Self.phases {
            // Row `phase` holds h(j − middle − phase/phases), j = 0..<count, scaled to unit gain.
            let shift = Double(phase) / Double(Self.phases)
            var row = (0..<count).map { j -> Double in
                let t = Double(j) - middle - shift
                let sinc = abs(t) < 1e-9 ? 2 * normalised : sin(2 * Double.pi * normalised * t) / (Double.pi * t)
                return abs(t) > middle + 1 ? 0 : sinc * (0.5 + 0.5 * cos(Double.pi * t / (middle + 1)))
            }
            let sum = row.reduce(0, +)
            if sum != 0 { row = row.map { $0 / sum } }
            for j in 0..<count { table[phase * count + j] = Float(row[j]) }
        }
        taps = table
        tapCount = count
        schedule = Schedule(inputRate: inputRate, outputRate: outputRate, tapCount: count)
    }

    /// Output `m`'s centre: the input sample it is filtered around, and its row of taps.
    @inline(__always)
    func position(_ m: Int) -> (whole: Int, row: Int) {
        if let s = schedule {
            let (n, j) = m.quotientAndRemainder(dividingBy: s.outputs)
            return (n * s.inputs + Int(s.slots[j].whole), Int(s.slots[j].row))
        }
        let centre = Double(m) * step
        var whole = Int(centre.rounded(.down))
        var phase = Int(((centre - Double(whole)) * Double(Self.phases)).rounded())
        if phase == Self.phases { whole += 1; phase = 0 }
        return (whole, phase * tapCount)
    }

    /// Starts a fresh resampler part-way through a stream, at input sample `start` (a segment
    /// decoded on another thread: `SegmentedDecode`). From then on it produces exactly what one
    /// fed the whole stream would, from the first output whose filter reaches `start` (the
    /// outputs before it need only earlier input). `history` is the input just before `start`:
    /// the filter's length less one sample of it is kept, and what it lacks counts as silence, as
    /// before a stream's start (exact when `history` holds at least that many, or all before).
    mutating func resume(at start: Int, history: UnsafeBufferPointer<Float>) {
        let half = (tapCount - 1) / 2
        // The first output whose last input (centre + half) is at `start` or after.
        var low = 0, high = max(0, Int(Double(start) / step) + 2)
        while low < high {
            let mid = (low + high) / 2
            if position(mid).whole + half >= start { high = mid } else { low = mid + 1 }
        }
        produced = low
        let keep = min(history.count, tapCount - 1)
        pending = Array(history[(history.count - keep)...])
        pendingStart = start - keep
    }

    /// The outputs still held back by the filter's length, as if silence followed the input;
    /// call once at the end of the stream.
    mutating func finish(into output: inout [Float]) {
        let total = pendingStart + pending.count
        let silence = [Float](repeating: 0, count: tapCount)
        silence.withUnsafeBufferPointer { process($0, into: &output) }
        // Only the outputs whose centre lies inside the real input.
        let real = max(0, Int((Double(total) / step).rounded(.up)) - (produced - output.count))
        if output.count > real { output.removeLast(output.count - real) }
    }

    /// Feeds input samples; appends the outputs they complete to `output` (cleared first).
    @_optimize(speed)
    mutating func process(_ input: UnsafeBufferPointer<Float>, into output: inout [Float]) {
        pending.append(contentsOf: input)
        let count = tapCount, half = (count - 1) / 2
        // At most this many outputs have their whole filter inside what is pending (the last
        // one's centre is at most pendingStart + pending.count - count + half); written straight
        // into the output's storage, without an append's checks per sample.
        let lastCentre = pendingStart + pending.count - count + half
        let bound = lastCentre < 0 ? 0 : max(0, Int(Double(lastCentre) / step) + 2 - produced)
        output = [Float](unsafeUninitializedCapacity: bound) { out, written in
            written = pending.withUnsafeBufferPointer { x in
                taps.withUnsafeBufferPointer { h in
                    guard let hb = h.baseAddress, let xb = x.baseAddress, let ob = out.baseAddress else { return 0 }
                    if let schedule {
                        return schedule.slots.withUnsafeBufferPointer { slots in
                            filter(x: xb, count: x.count, taps: hb, out: ob, bound: bound, schedule: schedule, slots: slots)
                        }
                    }
                    var written = 0, m = produced
                    while written < bound {
                        let (whole, row) = position(m)
                        let first = whole - half - pendingStart
                        if first + count > x.count { break }
                        // Before the stream's first sample the input counts as silence.
                        let from = max(0, -first)
                        ob[written] = dotProduct(hb + row + from, xb + first + from, count - from)
                        written += 1
                        m += 1
                    }
                    return written
                }
            }
        }
        produced += output.count
        let nextFirst = position(produced).whole - half - pendingStart
        let drop = max(0, min(nextFirst, pending.count))
        pending.removeFirst(drop)
        pendingStart += drop
    }

    /// `process`'s loop along a `Schedule`: the outputs from `produced` on whose filter lies in the
    /// `count` pending samples at `x`, at most `bound`; returns how many it wrote to `out`.
    /// Steps through the period in integers, and takes two outputs at a time where both filters
    /// are inside what is pending and after the stream's start (all but the first few).
    @inline(__always) @_optimize(speed)
    private func filter(
        x: UnsafePointer<Float>, count available: Int, taps h: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>,
        bound: Int, schedule: Schedule, slots: UnsafeBufferPointer<Schedule.Slot>
    ) -> Int {
        let count = tapCount, q = schedule.outputs, p = schedule.inputs
        let last = available - count  // the last first input whose filter is all pending
        // Output m = n·q + j has its first input at base + slots[j].whole.
        let (n, r) = produced.quotientAndRemainder(dividingBy: q)
        var j = r, base = n * p - (count - 1) / 2 - pendingStart
        var written = 0
        while written < bound {
            let first = base + Int(slots[j].whole)
            if first > last { break }
            var j1 = j + 1, base1 = base
            if j1 == q { j1 = 0; base1 += p }
            let first1 = base1 + Int(slots[j1].whole)
            if first >= 0, first1 <= last, written + 1 < bound {
                let (a, b) = dotProducts(h + Int(slots[j].row), x + first, h + Int(slots[j1].row), x + first1, count)
                out[written] = a
                out[written + 1] = b
                written += 2
                j = j1 + 1
                base = base1
                if j == q { j = 0; base += p }
            } else {
                // Before the stream's first sample the input counts as silence.
                let from = max(0, -first)
                out[written] = dotProduct(h + Int(slots[j].row) + from, x + first + from, count - from)
                written += 1
                j = j1
                base = base1
            }
        }
        return written
    }
}

/// Two of `dotProduct` at once, each summed in exactly its order (the same lanes, the same
/// reduction, the same scalar tail), so the results are bit for bit the same; interleaved, the
/// two chains of additions overlap instead of each waiting on its own.
@inline(__always) @_optimize(speed)
private func dotProducts(
    _ a0: UnsafePointer<Float>, _ b0: UnsafePointer<Float>, _ a1: UnsafePointer<Float>, _ b1: UnsafePointer<Float>, _ n: Int
) -> (Float, Float) {
    #if DEBUG
    return (dotProduct(a0, b0, n), dotProduct(a1, b1, n))
    #else
    if haveAVX {
        var pair: (Float, Float) = (0, 0)
        withUnsafeMutableBytes(of: &pair) { helios_dot2_avx(a0, b0, a1, b1, n, $0.baseAddress!.assumingMemoryBound(to: Float.self)) }
        return pair
    }
    @inline(__always) func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> { UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self) }
    var i = 0
    var lanes0 = SIMD8<Float>(), more0 = SIMD8<Float>(), lanes1 = SIMD8<Float>(), more1 = SIMD8<Float>()
    while i + 16 <= n {
        lanes0 += load(a0 + i) * load(b0 + i)
        lanes1 += load(a1 + i) * load(b1 + i)
        more0 += load(a0 + i + 8) * load(b0 + i + 8)
        more1 += load(a1 + i + 8) * load(b1 + i + 8)
        i += 16
    }
    if i + 8 <= n {
        lanes0 += load(a0 + i) * load(b0 + i)
        lanes1 += load(a1 + i) * load(b1 + i)
        i += 8
    }
    var sum0 = (lanes0 + more0).sum(), sum1 = (lanes1 + more1).sum()
    while i < n {
        sum0 += a0[i] * b0[i]
        sum1 += a1[i] * b1[i]
        i += 1
    }
    return (sum0, sum1)
    #endif
}

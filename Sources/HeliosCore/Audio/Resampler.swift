import Glibc

/// Streams mono audio down to a lower rate through a low-pass filter: output `m` is the filtered
/// input at position `m · step` (step = input rate / output rate, any ratio, 44.1 → 8 kHz included).
/// The filter is a Hann-windowed sinc with its cut-off at `cutoff` of the output rate and
/// `tapsPerStep` taps per input sample of step, tabulated at `phases` sub-sample offsets (the
/// nearest is used: at most 1/128 of an input sample off). Keeps only the input the next output
/// needs, so memory does not grow with the stream.
struct Resampler {
    static let tapsPerStep = 16
    static let phases = 64

    let step: Double
    private let taps: [Float]
    private let tapCount: Int
    private var pending: [Float] = []
    /// Stream index of `pending[0]`, and outputs produced so far.
    private var pendingStart = 0
    private var produced = 0

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
        let count = tapCount, half = (count - 1) / 2, phases = Self.phases, step = step
        let start = pendingStart
        // At most this many outputs have their whole filter inside what is pending (the last
        // one's centre is at most start + pending.count - count + half); written straight into
        // the output's storage, without an append's checks per sample.
        let lastCentre = start + pending.count - count + half
        let bound = lastCentre < 0 ? 0 : max(0, Int(Double(lastCentre) / step) + 2 - produced)
        var m = produced
        output = [Float](unsafeUninitializedCapacity: bound) { out, written in
            written = 0
            pending.withUnsafeBufferPointer { x in
                taps.withUnsafeBufferPointer { h in
                    guard let hb = h.baseAddress, let xb = x.baseAddress, let ob = out.baseAddress else { return }
                    while written < bound {
                        let centre = Double(m) * step
                        var whole = Int(centre.rounded(.down))
                        var phase = Int(((centre - Double(whole)) * Double(phases)).rounded())
                        if phase == phases { whole += 1; phase = 0 }
                        let first = whole - half - start
                        if first + count > x.count { break }
                        let row = phase * count
                        // Before the stream's first sample the input counts as silence.
                        let from = max(0, -first)
                        ob[written] = dotProduct(hb + row + from, xb + first + from, count - from)
                        written += 1
                        m += 1
                    }
                }
            }
        }
        produced = m
        let nextFirst = Int((Double(m) * step).rounded(.down)) - half - pendingStart
        let drop = max(0, min(nextFirst, pending.count))
        pending.removeFirst(drop)
        pendingStart += drop
    }
}

import FoundationEssentials
import Glibc

/// Power spectrum of one real frame of 2·`half` samples by a `half`-point complex radix-2 FFT
/// (even samples as real parts, odd as imaginary, then the usual split), so a 256-sample frame
/// costs one 128-point transform. Scratch buffers are allocated once: frames run thousands of
/// times per file, and the speech pass must stay far below an ffmpeg decode in time.
struct RealFFT {
    let size: Int
    private let half: Int
    private let bitReverse: [Int]
    /// The twiddles of each butterfly stage, stage after stage: the stage of span `s` (1, 2, 4, …
    /// half/2) holds w^(j·half/(2s)), j < s, from index s − 1, so a stage reads them in order
    /// (eight at a time from span 8 on) instead of at a stride.
    private let stageRe: [Float]
    private let stageIm: [Float]
    private let splitRe: [Float]
    private let splitIm: [Float]
    private var re: [Float]
    private var im: [Float]

    /// `size` must be a power of two, at least 4.
    init(size: Int) {
        precondition(size >= 4 && size & (size - 1) == 0, "FFT size must be a power of two")
        self.size = size
        half = size / 2
        let bits = half.trailingZeroBitCount
        bitReverse = (0..<half).map { i in
            var r = 0
            for b in 0..<bits where i & (1 << b) != 0 { r |= 1 << (bits - 1 - b) }
            return r
        }
        var stageRe: [Float] = [], stageIm: [Float] = []
        var span = 1
        while span < half {
            let step = half / (2 * span)
            for j in 0..<span {
                let t = j * step
                stageRe.append(Float(cos(-2 * Double.pi * Double(t) / Double(size / 2))))
                stageIm.append(Float(sin(-2 * Double.pi * Double(t) / Double(size / 2))))
            }
            span *= 2
        }
        self.stageRe = stageRe
        self.stageIm = stageIm
        splitRe = (0...half).map { Float(cos(-2 * Double.pi * Double($0) / Double(size))) }
        splitIm = (0...half).map { Float(sin(-2 * Double.pi * Double($0) / Double(size))) }
        re = [Float](repeating: 0, count: half)
        im = [Float](repeating: 0, count: half)
    }

    /// Whether stages of span 8 and more run eight butterflies at a time: in optimised builds.
    /// Debug builds (the tests') do not specialise SIMD types, which would make them slower than
    /// the scalar loop; a test still runs both and compares them.
    #if DEBUG
    static let vectorisedByDefault = false
    #else
    static let vectorisedByDefault = true
    #endif

    /// Writes |X[k]|² for k = 0…size/2 into `power` (size/2 + 1 values) from `size` samples.
    @_optimize(speed)
    mutating func power(
        of input: UnsafeBufferPointer<Float>, into power: UnsafeMutableBufferPointer<Float>,
        vectorised: Bool = RealFFT.vectorisedByDefault
    ) {
        let half = self.half
        guard let x = input.baseAddress, let out = power.baseAddress, input.count >= 2 * half, power.count > half else { return }
        re.withUnsafeMutableBufferPointer { reBuffer in
            im.withUnsafeMutableBufferPointer { imBuffer in
                guard let re = reBuffer.baseAddress, let im = imBuffer.baseAddress else { return }
                bitReverse.withUnsafeBufferPointer { rev in
                    for i in 0..<half {
                        re[rev[i]] = x[2 * i]
                        im[rev[i]] = x[2 * i + 1]
                    }
                }
                stageRe.withUnsafeBufferPointer { wrBuffer in
                    stageIm.withUnsafeBufferPointer { wiBuffer in
                        guard let wr = wrBuffer.baseAddress, let wi = wiBuffer.baseAddress else { return }
                        var span = 1
                        if vectorised, half >= 16 {
                            // Spans 1 and 2 together, four values at a time in registers; span 4 four
                            // butterflies at a time. Same arithmetic as `stage`, so the same bits.
                            Self.firstStages(re, im, half: half, wr, wi)
                            Self.stage(re, im, half: half, span: 4, wr + 3, wi + 3, vectorised: true)
                            span = 8
                        }
                        while span < half {
                            Self.stage(re, im, half: half, span: span, wr + (span - 1), wi + (span - 1), vectorised: vectorised)
                            span &*= 2
                        }
                    }
                }
                // X[k] = (Z[k] + conj Z[h-k]) / 2 - i·w^k (Z[k] - conj Z[h-k]) / 2, Z[h] = Z[0].
                splitRe.withUnsafeBufferPointer { srBuffer in
                    splitIm.withUnsafeBufferPointer { siBuffer in
                        guard let sr = srBuffer.baseAddress, let si = siBuffer.baseAddress else { return }
                        var k = 0
                        if vectorised {
                            // k and half − k from both ends, eight at a time (k = 0 and the last ones below).
                            out[0] = Self.split(re, im, sr, si, half: half, 0)
                            k = 1
                            while k + 8 <= half {
                                Self.split8(re, im, sr, si, half: half, k, into: out)
                                k += 8
                            }
                        }
                        while k <= half {
                            out[k] = Self.split(re, im, sr, si, half: half, k)
                            k += 1
                        }
                    }
                }
            }
        }
    }

    /// |X[k]|² from the half-size transform Z: one bin.
    @inline(__always) @_optimize(speed)
    private static func split(
        _ re: UnsafeMutablePointer<Float>, _ im: UnsafeMutablePointer<Float>,
        _ sr: UnsafePointer<Float>, _ si: UnsafePointer<Float>, half: Int, _ k: Int
    ) -> Float {
        let k1 = k == half ? 0 : k
        let k2 = k == 0 ? 0 : half &- k
        let zr = re[k1], zi = im[k1], cr = re[k2], ci = -im[k2]
        let er = (zr + cr) / 2, ei = (zi + ci) / 2
        let dr = (zr - cr) / 2, di = (zi - ci) / 2
        // -i·(dr + i·di) = di - i·dr, times w = sr + i·si
        let or = di * sr[k] + dr * si[k]
        let oi = di * si[k] - dr * sr[k]
        let xr = er + or, xi = ei + oi
        return xr * xr + xi * xi
    }

    /// `split` for bins k…k+7 (1 ≤ k, k + 8 ≤ half), lane by lane the same arithmetic.
    @inline(__always) @_optimize(speed)
    private static func split8(
        _ re: UnsafeMutablePointer<Float>, _ im: UnsafeMutablePointer<Float>,
        _ sr: UnsafePointer<Float>, _ si: UnsafePointer<Float>, half: Int, _ k: Int, into out: UnsafeMutablePointer<Float>
    ) {
        @inline(__always) func reversed(_ v: SIMD8<Float>) -> SIMD8<Float> {
            SIMD8(v[7], v[6], v[5], v[4], v[3], v[2], v[1], v[0])
        }
        let zr = UnsafeRawPointer(re + k).loadUnaligned(as: SIMD8<Float>.self)
        let zi = UnsafeRawPointer(im + k).loadUnaligned(as: SIMD8<Float>.self)
        // Z[half − k − j] for j = 0…7.
        let cr = reversed(UnsafeRawPointer(re + (half - k - 7)).loadUnaligned(as: SIMD8<Float>.self))
        let ci = -reversed(UnsafeRawPointer(im + (half - k - 7)).loadUnaligned(as: SIMD8<Float>.self))
        let wr = UnsafeRawPointer(sr + k).loadUnaligned(as: SIMD8<Float>.self)
        let wi = UnsafeRawPointer(si + k).loadUnaligned(as: SIMD8<Float>.self)
        let er = (zr + cr) / 2, ei = (zi + ci) / 2
        let dr = (zr - cr) / 2, di = (zi - ci) / 2
        let or = di * wr + dr * wi
        let oi = di * wi - dr * wr
        let xr = er + or, xi = ei + oi
        UnsafeMutableRawPointer(out + k).storeBytes(of: xr * xr + xi * xi, as: SIMD8<Float>.self)
    }

    /// The stages of span 1 (twiddle `wr`/`wi`[0]) and 2 ([1] and [2]) over each group of four,
    /// kept in registers between the two.
    @inline(__always) @_optimize(speed)
    private static func firstStages(
        _ re: UnsafeMutablePointer<Float>, _ im: UnsafeMutablePointer<Float>, half: Int,
        _ wr: UnsafePointer<Float>, _ wi: UnsafePointer<Float>
    ) {
        let one = (r: wr[0], i: wi[0])
        let c0 = (r: wr[1], i: wi[1]), c1 = (r: wr[2], i: wi[2])
        @inline(__always) func butterfly(_ ar: inout Float, _ ai: inout Float, _ br: inout Float, _ bi: inout Float, _ c: (r: Float, i: Float)) {
            let tr = br * c.r - bi * c.i
            let ti = br * c.i + bi * c.r
            br = ar - tr
            bi = ai - ti
            ar += tr
            ai += ti
        }
        var start = 0
        while start < half {
            var r0 = re[start], r1 = re[start &+ 1], r2 = re[start &+ 2], r3 = re[start &+ 3]
            var i0 = im[start], i1 = im[start &+ 1], i2 = im[start &+ 2], i3 = im[start &+ 3]
            butterfly(&r0, &i0, &r1, &i1, one)
            butterfly(&r2, &i2, &r3, &i3, one)
            butterfly(&r0, &i0, &r2, &i2, c0)
            butterfly(&r1, &i1, &r3, &i3, c1)
            re[start] = r0; re[start &+ 1] = r1; re[start &+ 2] = r2; re[start &+ 3] = r3
            im[start] = i0; im[start &+ 1] = i1; im[start &+ 2] = i2; im[start &+ 3] = i3
            start &+= 4
        }
    }

    /// One radix-2 stage: butterflies of `span` over the whole transform, vectorised from span 4
    /// on (`vectorStage`); both ways give the same bits.
    @inline(__always) @_optimize(speed)
    private static func stage(
        _ re: UnsafeMutablePointer<Float>, _ im: UnsafeMutablePointer<Float>, half: Int, span: Int,
        _ wr: UnsafePointer<Float>, _ wi: UnsafePointer<Float>, vectorised: Bool
    ) {
        if vectorised, span == 4 { return vectorStage(SIMD4<Float>.self, re, im, half: half, span: span, wr, wi) }
        if vectorised, span >= 8 { return vectorStage(SIMD8<Float>.self, re, im, half: half, span: span, wr, wi) }
        var start = 0
        while start < half {
            for j in 0..<span {
                let a = start &+ j, b = a &+ span
                let cr = wr[j], ci = wi[j]
                let tr = re[b] * cr - im[b] * ci
                let ti = re[b] * ci + im[b] * cr
                re[b] = re[a] - tr
                im[b] = im[a] - ti
                re[a] += tr
                im[a] += ti
            }
            start &+= 2 &* span
        }
    }

    /// `stage` for a span that is a multiple of `V`'s width, `V.scalarCount` butterflies at a time:
    /// lane by lane the scalar loop's arithmetic, so the same bits.
    @inline(__always) @_optimize(speed)
    private static func vectorStage<V: SIMD>(
        _: V.Type, _ re: UnsafeMutablePointer<Float>, _ im: UnsafeMutablePointer<Float>, half: Int, span: Int,
        _ wr: UnsafePointer<Float>, _ wi: UnsafePointer<Float>
    ) where V.Scalar == Float {
        @inline(__always) func load(_ p: UnsafePointer<Float>) -> V { UnsafeRawPointer(p).loadUnaligned(as: V.self) }
        @inline(__always) func store(_ v: V, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: V.self) }
        var start = 0
        while start < half {
            var j = 0
            while j < span {
                let a = start &+ j, b = a &+ span
                let cr = load(wr + j), ci = load(wi + j)
                let br = load(re + b), bi = load(im + b), ar = load(re + a), ai = load(im + a)
                let tr = br * cr - bi * ci
                let ti = br * ci + bi * cr
                store(ar - tr, re + b)
                store(ai - ti, im + b)
                store(ar + tr, re + a)
                store(ai + ti, im + a)
                j &+= V.scalarCount
            }
            start &+= 2 &* span
        }
    }
}

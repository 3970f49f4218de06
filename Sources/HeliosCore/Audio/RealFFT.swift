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
    private let twiddleRe: [Float]
    private let twiddleIm: [Float]
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
        twiddleRe = (0..<half / 2).map { Float(cos(-2 * Double.pi * Double($0) / Double(size / 2))) }
        twiddleIm = (0..<half / 2).map { Float(sin(-2 * Double.pi * Double($0) / Double(size / 2))) }
        splitRe = (0...half).map { Float(cos(-2 * Double.pi * Double($0) / Double(size))) }
        splitIm = (0...half).map { Float(sin(-2 * Double.pi * Double($0) / Double(size))) }
        re = [Float](repeating: 0, count: half)
        im = [Float](repeating: 0, count: half)
    }

    /// Writes |X[k]|² for k = 0…size/2 into `power` (size/2 + 1 values) from `size` samples.
    @_optimize(speed)
    mutating func power(of input: UnsafeBufferPointer<Float>, into power: UnsafeMutableBufferPointer<Float>) {
        let half = self.half
        re.withUnsafeMutableBufferPointer { re in
            im.withUnsafeMutableBufferPointer { im in
                bitReverse.withUnsafeBufferPointer { rev in
                    for i in 0..<half {
                        re[rev[i]] = input[2 * i]
                        im[rev[i]] = input[2 * i + 1]
                    }
                }
                twiddleRe.withUnsafeBufferPointer { wr in
                    twiddleIm.withUnsafeBufferPointer { wi in
                        var span = 1
                        while span < half {
                            let step = half / (2 * span)
                            var start = 0
                            while start < half {
                                for j in 0..<span {
                                    let a = start + j, b = a + span
                                    let cr = wr[j * step], ci = wi[j * step]
                                    let tr = re[b] * cr - im[b] * ci
                                    let ti = re[b] * ci + im[b] * cr
                                    re[b] = re[a] - tr
                                    im[b] = im[a] - ti
                                    re[a] += tr
                                    im[a] += ti
                                }
                                start += 2 * span
                            }
                            span *= 2
                        }
                    }
                }
                // X[k] = (Z[k] + conj Z[h-k]) / 2 - i·w^k (Z[k] - conj Z[h-k]) / 2, Z[h] = Z[0].
                splitRe.withUnsafeBufferPointer { sr in
                    splitIm.withUnsafeBufferPointer { si in
                        for k in 0...half {
                            let k1 = k == half ? 0 : k
                            let k2 = k == 0 ? 0 : half - k
                            let zr = re[k1], zi = im[k1], cr = re[k2], ci = -im[k2]
                            let er = (zr + cr) / 2, ei = (zi + ci) / 2
                            let dr = (zr - cr) / 2, di = (zi - ci) / 2
                            // -i·(dr + i·di) = di - i·dr, times w = sr + i·si
                            let or = di * sr[k] + dr * si[k]
                            let oi = di * si[k] - dr * sr[k]
                            let xr = er + or, xi = ei + oi
                            power[k] = xr * xr + xi * xi
                        }
                    }
                }
            }
        }
    }
}

import CKernels

/// Σ a[i]·b[i] over `n` floats. The resampler and the pitch search spend most of the speech pass
/// here. Optimised builds sum eight lanes at a time (a plain loop of Float sums is not vectorised:
/// the compiler may not reorder them); debug builds, the tests', use four scalar sums, because
/// SIMD types are not specialised there and would make every test that validates a recording
/// several times slower.
@inline(__always) @_optimize(speed)
func dotProduct(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
    var i = 0
    #if DEBUG
    var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0
    while i + 4 <= n {
        s0 += a[i] * b[i]
        s1 += a[i + 1] * b[i + 1]
        s2 += a[i + 2] * b[i + 2]
        s3 += a[i + 3] * b[i + 3]
        i += 4
    }
    var sum = (s0 + s1) + (s2 + s3)
    #else
    // With AVX, the same sum in 256-bit registers (half the instructions; the same bits).
    if haveAVX { return helios_dot_avx(a, b, n) }
    // Two accumulators: one would wait on its own previous sum at every step.
    var lanes = SIMD8<Float>(), more = SIMD8<Float>()
    while i + 16 <= n {
        lanes += UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Float>.self)
            * UnsafeRawPointer(b + i).loadUnaligned(as: SIMD8<Float>.self)
        more += UnsafeRawPointer(a + i + 8).loadUnaligned(as: SIMD8<Float>.self)
            * UnsafeRawPointer(b + i + 8).loadUnaligned(as: SIMD8<Float>.self)
        i += 16
    }
    if i + 8 <= n {
        lanes += UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Float>.self)
            * UnsafeRawPointer(b + i).loadUnaligned(as: SIMD8<Float>.self)
        i += 8
    }
    var sum = (lanes + more).sum()
    #endif
    while i < n {
        sum += a[i] * b[i]
        i += 1
    }
    return sum
}

/// Whether the CPU runs the AVX kernels of `CKernels` (optimised builds use them when it does).
let haveAVX = helios_kernels_avx() != 0

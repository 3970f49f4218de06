#include "helios_kernels.h"
#include <cpuid.h>
#include <immintrin.h>

#pragma STDC FP_CONTRACT OFF

static int detect(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    /* AVX (bit 28) and OSXSAVE (bit 27): the OS saves the YMM registers if XCR0 says so. */
    if (!(c & (1u << 28)) || !(c & (1u << 27))) return 0;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (lo & 6) == 6;
}

int helios_kernels_avx(void) {
    static int known = -1;  /* a benign race: every thread computes the same answer */
    if (known < 0) known = detect();
    return known;
}

/* The lanes summed in order from -0, as Swift's SIMD.sum() does. */
__attribute__((target("avx")))
static inline float reduce(__m256 v) {
    float t[8];
    _mm256_storeu_ps(t, v);
    float s = -0.0f;
    for (int k = 0; k < 8; k++) s += t[k];
    return s;
}

__attribute__((target("avx")))
float helios_dot_avx(const float *a, const float *b, long n) {
    __m256 lanes = _mm256_setzero_ps(), more = _mm256_setzero_ps();
    long i = 0;
    for (; i + 16 <= n; i += 16) {
        lanes = _mm256_add_ps(lanes, _mm256_mul_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
        more = _mm256_add_ps(more, _mm256_mul_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8)));
    }
    if (i + 8 <= n) {
        lanes = _mm256_add_ps(lanes, _mm256_mul_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
        i += 8;
    }
    float sum = reduce(_mm256_add_ps(lanes, more));
    for (; i < n; i++) {
        float p = a[i] * b[i];
        sum += p;
    }
    return sum;
}

__attribute__((target("avx")))
void helios_dot2_avx(const float *a0, const float *b0, const float *a1, const float *b1, long n, float *out) {
    __m256 lanes0 = _mm256_setzero_ps(), more0 = _mm256_setzero_ps();
    __m256 lanes1 = _mm256_setzero_ps(), more1 = _mm256_setzero_ps();
    long i = 0;
    for (; i + 16 <= n; i += 16) {
        lanes0 = _mm256_add_ps(lanes0, _mm256_mul_ps(_mm256_loadu_ps(a0 + i), _mm256_loadu_ps(b0 + i)));
        lanes1 = _mm256_add_ps(lanes1, _mm256_mul_ps(_mm256_loadu_ps(a1 + i), _mm256_loadu_ps(b1 + i)));
        more0 = _mm256_add_ps(more0, _mm256_mul_ps(_mm256_loadu_ps(a0 + i + 8), _mm256_loadu_ps(b0 + i + 8)));
        more1 = _mm256_add_ps(more1, _mm256_mul_ps(_mm256_loadu_ps(a1 + i + 8), _mm256_loadu_ps(b1 + i + 8)));
    }
    if (i + 8 <= n) {
        lanes0 = _mm256_add_ps(lanes0, _mm256_mul_ps(_mm256_loadu_ps(a0 + i), _mm256_loadu_ps(b0 + i)));
        lanes1 = _mm256_add_ps(lanes1, _mm256_mul_ps(_mm256_loadu_ps(a1 + i), _mm256_loadu_ps(b1 + i)));
        i += 8;
    }
    float sum0 = reduce(_mm256_add_ps(lanes0, more0)), sum1 = reduce(_mm256_add_ps(lanes1, more1));
    for (; i < n; i++) {
        float p0 = a0[i] * b0[i], p1 = a1[i] * b1[i];
        sum0 += p0;
        sum1 += p1;
    }
    out[0] = sum0;
    out[1] = sum1;
}

__attribute__((target("avx")))
void helios_levels_mono_avx(const float *x, float *out, long n, float tiny, float clip, float *peak8, float *sum8, float *clips8) {
    const __m256 magnitude = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    const __m256 tinyv = _mm256_set1_ps(tiny), clipv = _mm256_set1_ps(clip), one = _mm256_set1_ps(1.0f);
    __m256 peak = _mm256_loadu_ps(peak8), sum = _mm256_loadu_ps(sum8), clips = _mm256_loadu_ps(clips8);
    for (long i = 0; i + 8 <= n; i += 8) {
        __m256 a = _mm256_loadu_ps(x + i);
        __m256 ma = _mm256_and_ps(a, magnitude);
        __m256 loud = _mm256_cmp_ps(ma, tinyv, _CMP_NLT_UQ);   /* not (|a| < tiny): kept */
        a = _mm256_and_ps(a, loud);
        ma = _mm256_and_ps(ma, loud);
        _mm256_storeu_ps(out + i, a);
        peak = _mm256_blendv_ps(peak, ma, _mm256_cmp_ps(ma, peak, _CMP_GT_OQ));
        sum = _mm256_add_ps(sum, _mm256_mul_ps(a, a));
        clips = _mm256_blendv_ps(clips, _mm256_add_ps(clips, one), _mm256_cmp_ps(ma, clipv, _CMP_GE_OQ));
    }
    _mm256_storeu_ps(peak8, peak);
    _mm256_storeu_ps(sum8, sum);
    _mm256_storeu_ps(clips8, clips);
}

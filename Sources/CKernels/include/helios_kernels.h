#ifndef HELIOS_KERNELS_H
#define HELIOS_KERNELS_H
/* The speech pass's dot products with 256-bit AVX registers, for CPUs that have them.

   Swift compiles SIMD8<Float> for the x86-64 baseline (SSE2), two 128-bit halves per operation;
   a C function can be compiled for AVX alone and chosen at run time. These give the very bits of
   `dotProduct` in DotProduct.swift (and the resampler's pair of them): the same eight lanes and
   two accumulators, each lane a multiply then an add (no fused multiply-add: this file is not
   compiled for FMA, and contraction is off), the same lane-by-lane reduction from -0 and the
   same scalar tail. So an estimate does not depend on the machine it ran on. */

/* 1 when the CPU and the OS support AVX (CPUID and XGETBV), checked once. */
int helios_kernels_avx(void);

/* Σ a[i]·b[i], i < n. Only when helios_kernels_avx() is 1. */
float helios_dot_avx(const float *a, const float *b, long n);

/* Two of them at once (the resampler's pair of outputs): out[0] for a0·b0, out[1] for a1·b1. */
void helios_dot2_avx(const float *a0, const float *b0, const float *a1, const float *b1, long n, float *out);

/* SignalFront's vector levels over n mono samples (n a multiple of 8), eight lanes as its SIMD8
   loop: samples under `tiny` in magnitude become 0 and are written to out; each lane keeps its
   largest magnitude (peak8), its sum of squares (sum8) and its count of magnitudes at or over
   `clip` (clips8, counted in floats), all updated in place, so the caller reduces them as before. */
void helios_levels_mono_avx(const float *x, float *out, long n, float tiny, float clip, float *peak8, float *sum8, float *clips8);

/* Thread placement (placement.c). helios_attr_elsewhere: sets `attr` to start its thread on any
   CPU the caller may use but the one it is on, copies all the caller may use into `allowed`
   (`size` bytes, at least a cpu_set_t) and returns that CPU + 1; 0, attr untouched, when no other
   CPU is allowed or the system does not say. helios_allow_cpus: lets the calling thread run on
   `allowed` again. helios_cpu: the CPU the caller is on (-1: unknown); helios_cpu_count: how many
   it may run on. */
#include <pthread.h>
#include <stddef.h>
int helios_attr_elsewhere(pthread_attr_t *attr, void *allowed, size_t size);
void helios_allow_cpus(const void *allowed);
int helios_cpu(void);
int helios_cpu_count(void);

#endif

#include "CVectorKernels.h"

/* The core's single-precision FMA throughput: PIXELFLY_FMA_CHAINS independent chains
 * a ← a·m + c, one vector register each, so every cycle can issue as many FMAs as the core has
 * FMA pipes (the chains hide the FMA latency). Each round is PIXELFLY_FMA_CHAINS × lanes FMAs,
 * 2 FLOPs each. The final accumulators are stored so the work is observable and checkable. */

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))
#define AVX512 __attribute__((target("avx512f")))

AVX2 static void fma_chains_avx2(long rounds, const float *start, float m, float c, float *out) {
    __m256 a[PIXELFLY_FMA_CHAINS];
    const __m256 vm = _mm256_set1_ps(m), vc = _mm256_set1_ps(c);
    for (int j = 0; j < PIXELFLY_FMA_CHAINS; j++) a[j] = _mm256_loadu_ps(start + 8 * j);
    for (long r = 0; r < rounds; r++) {
#pragma GCC unroll 12
        for (int j = 0; j < PIXELFLY_FMA_CHAINS; j++) a[j] = _mm256_fmadd_ps(a[j], vm, vc);
    }
    for (int j = 0; j < PIXELFLY_FMA_CHAINS; j++) _mm256_storeu_ps(out + 8 * j, a[j]);
}

AVX512 static void fma_chains_avx512(long rounds, const float *start, float m, float c, float *out) {
    __m512 a[PIXELFLY_FMA_CHAINS];
    const __m512 vm = _mm512_set1_ps(m), vc = _mm512_set1_ps(c);
    for (int j = 0; j < PIXELFLY_FMA_CHAINS; j++) a[j] = _mm512_loadu_ps(start + 16 * j);
    for (long r = 0; r < rounds; r++) {
#pragma GCC unroll 12
        for (int j = 0; j < PIXELFLY_FMA_CHAINS; j++) a[j] = _mm512_fmadd_ps(a[j], vm, vc);
    }
    for (int j = 0; j < PIXELFLY_FMA_CHAINS; j++) _mm512_storeu_ps(out + 16 * j, a[j]);
}

int pixelfly_fma_chains_f32(int lanes, long rounds, const float *start, float multiplier, float addend, float *out) {
    if (lanes == 8 && pixelfly_vector_kernels_use_avx2()) {
        fma_chains_avx2(rounds, start, multiplier, addend, out);
        return 1;
    }
    if (lanes == 16 && pixelfly_body_available(PIXELFLY_BODY_AVX512)) {
        fma_chains_avx512(rounds, start, multiplier, addend, out);
        return 1;
    }
    return 0;
}

#else

int pixelfly_fma_chains_f32(int lanes, long rounds, const float *start, float multiplier, float addend, float *out) {
    (void)lanes; (void)rounds; (void)start; (void)multiplier; (void)addend; (void)out;
    return 0;
}

#endif

#include "CVectorKernels.h"

/* C (24 × n, column-major, ldc) = β·C + Σ_i A_i (24 × k, lda) · B_i (k × n, ldb): the
 * batch-reduce product of one 24-row strip (CVectorKernels.h). Four columns of C per step in
 * twelve accumulators (3 vectors of rows × 4 columns), each depth step three loads of A and four
 * broadcasts from B; the n mod 4 last columns one at a time. */

#if defined(__x86_64__)
#include <immintrin.h>

/* Tuned for Haswell as well as targeted at AVX2+FMA: under the generic tuning, clang 21 at -O2
 * (SwiftPM's release flags) rotated the twelve accumulators through other registers on every
 * depth step and spilled two of them; `tune=` changes the scheduling only, not the instructions
 * the kernel may use. */
#define AVX2 __attribute__((target("avx2,fma,tune=haswell")))

/* Four columns of C from every product of the batch, in twelve accumulators. */
AVX2 static inline void strip24_step4(const float *a, const float *b, float *c, int k, size_t lda, size_t ldb, size_t ldc,
                                      unsigned long long count, const unsigned long long *a_offsets,
                                      const unsigned long long *b_offsets, int accumulate) {
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c02 = c00, c10 = c00, c11 = c00, c12 = c00;
    __m256 c20 = c00, c21 = c00, c22 = c00, c30 = c00, c31 = c00, c32 = c00;
    for (unsigned long long i = 0; i < count; i++) {
        const float *ai = a_offsets ? (const float *)((const char *)a + a_offsets[i]) : a;
        const float *b0 = b_offsets ? (const float *)((const char *)b + b_offsets[i]) : b;
        const float *b1 = b0 + ldb, *b2 = b1 + ldb, *b3 = b2 + ldb;
        for (int p = 0; p < k; p++, ai += lda) {
            const __m256 a0 = _mm256_loadu_ps(ai), a1 = _mm256_loadu_ps(ai + 8), a2 = _mm256_loadu_ps(ai + 16);
            __m256 s = _mm256_broadcast_ss(b0 + p);
            c00 = _mm256_fmadd_ps(a0, s, c00), c01 = _mm256_fmadd_ps(a1, s, c01), c02 = _mm256_fmadd_ps(a2, s, c02);
            s = _mm256_broadcast_ss(b1 + p);
            c10 = _mm256_fmadd_ps(a0, s, c10), c11 = _mm256_fmadd_ps(a1, s, c11), c12 = _mm256_fmadd_ps(a2, s, c12);
            s = _mm256_broadcast_ss(b2 + p);
            c20 = _mm256_fmadd_ps(a0, s, c20), c21 = _mm256_fmadd_ps(a1, s, c21), c22 = _mm256_fmadd_ps(a2, s, c22);
            s = _mm256_broadcast_ss(b3 + p);
            c30 = _mm256_fmadd_ps(a0, s, c30), c31 = _mm256_fmadd_ps(a1, s, c31), c32 = _mm256_fmadd_ps(a2, s, c32);
        }
    }
    if (accumulate) {
        c00 = _mm256_add_ps(c00, _mm256_loadu_ps(c)), c01 = _mm256_add_ps(c01, _mm256_loadu_ps(c + 8));
        c02 = _mm256_add_ps(c02, _mm256_loadu_ps(c + 16)), c10 = _mm256_add_ps(c10, _mm256_loadu_ps(c + ldc));
        c11 = _mm256_add_ps(c11, _mm256_loadu_ps(c + ldc + 8)), c12 = _mm256_add_ps(c12, _mm256_loadu_ps(c + ldc + 16));
        c20 = _mm256_add_ps(c20, _mm256_loadu_ps(c + 2 * ldc)), c21 = _mm256_add_ps(c21, _mm256_loadu_ps(c + 2 * ldc + 8));
        c22 = _mm256_add_ps(c22, _mm256_loadu_ps(c + 2 * ldc + 16)), c30 = _mm256_add_ps(c30, _mm256_loadu_ps(c + 3 * ldc));
        c31 = _mm256_add_ps(c31, _mm256_loadu_ps(c + 3 * ldc + 8)), c32 = _mm256_add_ps(c32, _mm256_loadu_ps(c + 3 * ldc + 16));
    }
    _mm256_storeu_ps(c, c00), _mm256_storeu_ps(c + 8, c01), _mm256_storeu_ps(c + 16, c02);
    _mm256_storeu_ps(c + ldc, c10), _mm256_storeu_ps(c + ldc + 8, c11), _mm256_storeu_ps(c + ldc + 16, c12);
    _mm256_storeu_ps(c + 2 * ldc, c20), _mm256_storeu_ps(c + 2 * ldc + 8, c21), _mm256_storeu_ps(c + 2 * ldc + 16, c22);
    _mm256_storeu_ps(c + 3 * ldc, c30), _mm256_storeu_ps(c + 3 * ldc + 8, c31), _mm256_storeu_ps(c + 3 * ldc + 16, c32);
}

/* One column of C (the n mod 4 last ones): three accumulators. */
AVX2 static inline void strip24_step1(const float *a, const float *b, float *c, int k, size_t lda, unsigned long long count,
                                      const unsigned long long *a_offsets, const unsigned long long *b_offsets,
                                      int accumulate) {
    __m256 c0 = _mm256_setzero_ps(), c1 = c0, c2 = c0;
    if (accumulate) c0 = _mm256_loadu_ps(c), c1 = _mm256_loadu_ps(c + 8), c2 = _mm256_loadu_ps(c + 16);
    for (unsigned long long i = 0; i < count; i++) {
        const float *ai = a_offsets ? (const float *)((const char *)a + a_offsets[i]) : a;
        const float *bi = b_offsets ? (const float *)((const char *)b + b_offsets[i]) : b;
        for (int p = 0; p < k; p++, ai += lda) {
            const __m256 s = _mm256_broadcast_ss(bi + p);
            c0 = _mm256_fmadd_ps(_mm256_loadu_ps(ai), s, c0);
            c1 = _mm256_fmadd_ps(_mm256_loadu_ps(ai + 8), s, c1);
            c2 = _mm256_fmadd_ps(_mm256_loadu_ps(ai + 16), s, c2);
        }
    }
    _mm256_storeu_ps(c, c0), _mm256_storeu_ps(c + 8, c1), _mm256_storeu_ps(c + 16, c2);
}

AVX2 static void strip24_avx2(const float *a, const float *b, float *c, int n, int k, size_t lda, size_t ldb, size_t ldc,
                              unsigned long long count, const unsigned long long *a_offsets,
                              const unsigned long long *b_offsets, int accumulate) {
    int t = 0;
    for (; t + 4 <= n; t += 4)
        strip24_step4(a, b + t * ldb, c + t * ldc, k, lda, ldb, ldc, count, a_offsets, b_offsets, accumulate);
    for (; t < n; t++)
        strip24_step1(a, b + t * ldb, c + t * ldc, k, lda, count, a_offsets, b_offsets, accumulate);
}

int pixelfly_strip24_f32(const float *a, const float *b, float *c, int n, int k, int lda, int ldb, int ldc, unsigned long long count,
                         const unsigned long long *a_offsets, const unsigned long long *b_offsets, int accumulate) {
    if (!pixelfly_vector_kernels_use_avx2()) return 0;
    strip24_avx2(a, b, c, n, k, (size_t)lda, (size_t)ldb, (size_t)ldc, count, a_offsets, b_offsets, accumulate);
    return 1;
}

#else

int pixelfly_strip24_f32(const float *a, const float *b, float *c, int n, int k, int lda, int ldb, int ldc, unsigned long long count,
                         const unsigned long long *a_offsets, const unsigned long long *b_offsets, int accumulate) {
    (void)a, (void)b, (void)c, (void)n, (void)k, (void)lda, (void)ldb, (void)ldc, (void)count, (void)a_offsets, (void)b_offsets,
        (void)accumulate;
    return 0;
}

#endif

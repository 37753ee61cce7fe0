#include "CVectorKernels.h"

/* Column sums of a column-major block: out[j] += Σ_{i < rows} a[j·lda + i]. Each column is
 * contiguous, so the AVX2 body reads it eight lanes at a time into four independent sums. */

static void column_sums_f32_portable(const float *a, size_t rows, size_t cols, size_t lda, float *out) {
    for (size_t j = 0; j < cols; j++) {
        const float *column = a + j * lda;
        float sum = 0;
        for (size_t i = 0; i < rows; i++) sum += column[i];
        out[j] += sum;
    }
}

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))

AVX2 static void column_sums_f32_avx2(const float *a, size_t rows, size_t cols, size_t lda, float *out) {
    for (size_t j = 0; j < cols; j++) {
        const float *column = a + j * lda;
        __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
        size_t i = 0;
        for (; i + 32 <= rows; i += 32) {
            s0 = _mm256_add_ps(s0, _mm256_loadu_ps(column + i));
            s1 = _mm256_add_ps(s1, _mm256_loadu_ps(column + i + 8));
            s2 = _mm256_add_ps(s2, _mm256_loadu_ps(column + i + 16));
            s3 = _mm256_add_ps(s3, _mm256_loadu_ps(column + i + 24));
        }
        for (; i + 8 <= rows; i += 8) s0 = _mm256_add_ps(s0, _mm256_loadu_ps(column + i));
        __m256 v = _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3));
        __m128 h = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        h = _mm_add_ps(h, _mm_movehl_ps(h, h));
        h = _mm_add_ss(h, _mm_movehdup_ps(h));
        float sum = _mm_cvtss_f32(h);
        for (; i < rows; i++) sum += column[i];
        out[j] += sum;
    }
}

int pixelfly_vector_kernels_use_avx2(void);

/* Columns shorter than one vector have nothing to vectorise: they take the portable body. */
void pixelfly_column_sums_f32(const float *a, size_t rows, size_t cols, size_t lda, float *out) {
    if (rows >= 8 && pixelfly_vector_kernels_use_avx2()) column_sums_f32_avx2(a, rows, cols, lda, out);
    else column_sums_f32_portable(a, rows, cols, lda, out);
}

#else

void pixelfly_column_sums_f32(const float *a, size_t rows, size_t cols, size_t lda, float *out) {
    column_sums_f32_portable(a, rows, cols, lda, out);
}

#endif

void pixelfly_column_sums_f64(const double *a, size_t rows, size_t cols, size_t lda, double *out) {
    for (size_t j = 0; j < cols; j++) {
        const double *column = a + j * lda;
        double s0 = 0, s1 = 0;
        size_t i = 0;
        for (; i + 2 <= rows; i += 2) { s0 += column[i]; s1 += column[i + 1]; }
        if (i < rows) s0 += column[i];
        out[j] += s0 + s1;
    }
}

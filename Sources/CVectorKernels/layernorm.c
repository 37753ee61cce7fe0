#include "CVectorKernels.h"
#include <math.h>

/* ---- Portable bodies. ---- */

static void layernorm_row_portable(const float *x, float *y, size_t n, const float *gain, const float *bias,
                                   float epsilon, float *stats) {
    float sum = 0;
    for (size_t j = 0; j < n; j++) sum += x[j];
    float mean = sum / (float)n, squares = 0;
    for (size_t j = 0; j < n; j++) { float c = x[j] - mean; squares += c * c; }
    float r = 1.0f / sqrtf(squares / (float)n + epsilon);
    for (size_t j = 0; j < n; j++) y[j] = (x[j] - mean) * r * gain[j] + bias[j];
    stats[0] = mean;
    stats[1] = r;
}

static void layernorm_row_backward_portable(const float *x, const float *dy, float *dx, size_t n, const float *gain,
                                            const float *stats, float *dgain, float *dbias) {
    float mean = stats[0], r = stats[1], sum_g = 0, sum_gx = 0;
    for (size_t j = 0; j < n; j++) {
        float xhat = (x[j] - mean) * r, g = dy[j] * gain[j];
        dgain[j] += dy[j] * xhat;
        dbias[j] += dy[j];
        sum_g += g;
        sum_gx += g * xhat;
    }
    float mean_g = sum_g / (float)n, mean_gx = sum_gx / (float)n;
    for (size_t j = 0; j < n; j++) dx[j] = r * (dy[j] * gain[j] - mean_g - (x[j] - mean) * r * mean_gx);
}

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))

AVX2 static inline float horizontal_sum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* Rows whose length is a multiple of 8 run eight lanes at a time; others take the portable body. */
AVX2 static void layernorm_row_avx2(const float *x, float *y, size_t n, const float *gain, const float *bias,
                                    float epsilon, float *stats) {
    __m256 acc = _mm256_setzero_ps();
    for (size_t j = 0; j < n; j += 8) acc = _mm256_add_ps(acc, _mm256_loadu_ps(x + j));
    float mean = horizontal_sum(acc) / (float)n;
    __m256 m = _mm256_set1_ps(mean);
    acc = _mm256_setzero_ps();
    for (size_t j = 0; j < n; j += 8) {
        __m256 c = _mm256_sub_ps(_mm256_loadu_ps(x + j), m);
        acc = _mm256_fmadd_ps(c, c, acc);
    }
    float r = 1.0f / sqrtf(horizontal_sum(acc) / (float)n + epsilon);
    __m256 rv = _mm256_set1_ps(r);
    for (size_t j = 0; j < n; j += 8) {
        __m256 xhat = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + j), m), rv);
        _mm256_storeu_ps(y + j, _mm256_fmadd_ps(xhat, _mm256_loadu_ps(gain + j), _mm256_loadu_ps(bias + j)));
    }
    stats[0] = mean;
    stats[1] = r;
}

AVX2 static void layernorm_row_backward_avx2(const float *x, const float *dy, float *dx, size_t n, const float *gain,
                                             const float *stats, float *dgain, float *dbias) {
    __m256 m = _mm256_set1_ps(stats[0]), rv = _mm256_set1_ps(stats[1]);
    __m256 acc_g = _mm256_setzero_ps(), acc_gx = _mm256_setzero_ps();
    for (size_t j = 0; j < n; j += 8) {
        __m256 d = _mm256_loadu_ps(dy + j);
        __m256 xhat = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + j), m), rv);
        __m256 g = _mm256_mul_ps(d, _mm256_loadu_ps(gain + j));
        _mm256_storeu_ps(dgain + j, _mm256_fmadd_ps(d, xhat, _mm256_loadu_ps(dgain + j)));
        _mm256_storeu_ps(dbias + j, _mm256_add_ps(d, _mm256_loadu_ps(dbias + j)));
        acc_g = _mm256_add_ps(acc_g, g);
        acc_gx = _mm256_fmadd_ps(g, xhat, acc_gx);
    }
    __m256 mean_g = _mm256_set1_ps(horizontal_sum(acc_g) / (float)n);
    __m256 mean_gx = _mm256_set1_ps(horizontal_sum(acc_gx) / (float)n);
    for (size_t j = 0; j < n; j += 8) {
        __m256 xhat = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + j), m), rv);
        __m256 g = _mm256_mul_ps(_mm256_loadu_ps(dy + j), _mm256_loadu_ps(gain + j));
        __m256 inner = _mm256_fnmadd_ps(xhat, mean_gx, _mm256_sub_ps(g, mean_g));
        _mm256_storeu_ps(dx + j, _mm256_mul_ps(rv, inner));
    }
}

int pixelfly_vector_kernels_use_avx2(void);

void pixelfly_layernorm_rows_f32(const float *x, float *y, size_t rows, size_t n,
                                 const float *gain, const float *bias, float epsilon, float *stats) {
    int vector = pixelfly_vector_kernels_use_avx2() && n % 8 == 0;
    for (size_t i = 0; i < rows; i++) {
        if (vector) layernorm_row_avx2(x + i * n, y + i * n, n, gain, bias, epsilon, stats + 2 * i);
        else layernorm_row_portable(x + i * n, y + i * n, n, gain, bias, epsilon, stats + 2 * i);
    }
}

void pixelfly_layernorm_rows_backward_f32(const float *x, const float *dy, float *dx, size_t rows, size_t n,
                                          const float *gain, const float *stats,
                                          float *gain_gradient, float *bias_gradient) {
    int vector = pixelfly_vector_kernels_use_avx2() && n % 8 == 0;
    for (size_t i = 0; i < rows; i++) {
        if (vector) layernorm_row_backward_avx2(x + i * n, dy + i * n, dx + i * n, n, gain, stats + 2 * i,
                                                gain_gradient, bias_gradient);
        else layernorm_row_backward_portable(x + i * n, dy + i * n, dx + i * n, n, gain, stats + 2 * i,
                                             gain_gradient, bias_gradient);
    }
}

#else

void pixelfly_layernorm_rows_f32(const float *x, float *y, size_t rows, size_t n,
                                 const float *gain, const float *bias, float epsilon, float *stats) {
    for (size_t i = 0; i < rows; i++) layernorm_row_portable(x + i * n, y + i * n, n, gain, bias, epsilon, stats + 2 * i);
}

void pixelfly_layernorm_rows_backward_f32(const float *x, const float *dy, float *dx, size_t rows, size_t n,
                                          const float *gain, const float *stats,
                                          float *gain_gradient, float *bias_gradient) {
    for (size_t i = 0; i < rows; i++)
        layernorm_row_backward_portable(x + i * n, dy + i * n, dx + i * n, n, gain, stats + 2 * i,
                                        gain_gradient, bias_gradient);
}

#endif

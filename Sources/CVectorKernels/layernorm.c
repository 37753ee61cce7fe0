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
                                            const float *stats, float *dgain, float *dbias, const float *skip) {
    float mean = stats[0], r = stats[1], sum_g = 0, sum_gx = 0;
    for (size_t j = 0; j < n; j++) {
        float xhat = (x[j] - mean) * r, g = dy[j] * gain[j];
        dgain[j] += dy[j] * xhat;
        dbias[j] += dy[j];
        sum_g += g;
        sum_gx += g * xhat;
    }
    float mean_g = sum_g / (float)n, mean_gx = sum_gx / (float)n;
    for (size_t j = 0; j < n; j++) {
        float value = r * (dy[j] * gain[j] - mean_g - (x[j] - mean) * r * mean_gx);
        dx[j] = skip ? value + skip[j] : value;
    }
}

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))
#define AVX512 __attribute__((target("avx512f")))

/* The row sums run four independent accumulators (an add or FMA has 3–4 cycles of latency and
   two issue per cycle): with one, a 768-feature row's Σx and Σ(x − μ)² were two chains of 96
   dependent adds each, and LayerNorm took 4.4 % of a Pixelfly Mixer step (notebooks-md/blocks.md,
   "LayerNorm's row sums"). */

AVX2 static inline float horizontal_sum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* Rows whose length is a multiple of 8 run eight lanes at a time; others take the portable body. */
AVX2 static void layernorm_row_avx2(const float *x, float *y, size_t n, const float *gain, const float *bias,
                                    float epsilon, float *stats) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    size_t j = 0;
    for (; j + 32 <= n; j += 32) {
        a0 = _mm256_add_ps(a0, _mm256_loadu_ps(x + j));
        a1 = _mm256_add_ps(a1, _mm256_loadu_ps(x + j + 8));
        a2 = _mm256_add_ps(a2, _mm256_loadu_ps(x + j + 16));
        a3 = _mm256_add_ps(a3, _mm256_loadu_ps(x + j + 24));
    }
    for (; j < n; j += 8) a0 = _mm256_add_ps(a0, _mm256_loadu_ps(x + j));
    float mean = horizontal_sum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3))) / (float)n;
    __m256 m = _mm256_set1_ps(mean);
    a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (j = 0; j + 32 <= n; j += 32) {
        __m256 c0 = _mm256_sub_ps(_mm256_loadu_ps(x + j), m), c1 = _mm256_sub_ps(_mm256_loadu_ps(x + j + 8), m);
        __m256 c2 = _mm256_sub_ps(_mm256_loadu_ps(x + j + 16), m), c3 = _mm256_sub_ps(_mm256_loadu_ps(x + j + 24), m);
        a0 = _mm256_fmadd_ps(c0, c0, a0);
        a1 = _mm256_fmadd_ps(c1, c1, a1);
        a2 = _mm256_fmadd_ps(c2, c2, a2);
        a3 = _mm256_fmadd_ps(c3, c3, a3);
    }
    for (; j < n; j += 8) {
        __m256 c = _mm256_sub_ps(_mm256_loadu_ps(x + j), m);
        a0 = _mm256_fmadd_ps(c, c, a0);
    }
    float squares = horizontal_sum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    float r = 1.0f / sqrtf(squares / (float)n + epsilon);
    __m256 rv = _mm256_set1_ps(r);
    for (j = 0; j < n; j += 8) {
        __m256 xhat = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + j), m), rv);
        _mm256_storeu_ps(y + j, _mm256_fmadd_ps(xhat, _mm256_loadu_ps(gain + j), _mm256_loadu_ps(bias + j)));
    }
    stats[0] = mean;
    stats[1] = r;
}

/* One 8-lane step of the backward's first pass: the parameter gradients, and g = dy ⊙ γ and
   g ⊙ x̂ into the running sums. */
AVX2 static inline void layernorm_backward_step_avx2(const float *x, const float *dy, const float *gain,
                                                      float *dgain, float *dbias, __m256 m, __m256 rv,
                                                      __m256 *acc_g, __m256 *acc_gx) {
    __m256 d = _mm256_loadu_ps(dy);
    __m256 xhat = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x), m), rv);
    __m256 g = _mm256_mul_ps(d, _mm256_loadu_ps(gain));
    _mm256_storeu_ps(dgain, _mm256_fmadd_ps(d, xhat, _mm256_loadu_ps(dgain)));
    _mm256_storeu_ps(dbias, _mm256_add_ps(d, _mm256_loadu_ps(dbias)));
    *acc_g = _mm256_add_ps(*acc_g, g);
    *acc_gx = _mm256_fmadd_ps(g, xhat, *acc_gx);
}

AVX2 static void layernorm_row_backward_avx2(const float *x, const float *dy, float *dx, size_t n, const float *gain,
                                             const float *stats, float *dgain, float *dbias, const float *skip) {
    __m256 m = _mm256_set1_ps(stats[0]), rv = _mm256_set1_ps(stats[1]);
    __m256 g0 = _mm256_setzero_ps(), g1 = g0, gx0 = g0, gx1 = g0;
    size_t j = 0;
    for (; j + 16 <= n; j += 16) {
        layernorm_backward_step_avx2(x + j, dy + j, gain + j, dgain + j, dbias + j, m, rv, &g0, &gx0);
        layernorm_backward_step_avx2(x + j + 8, dy + j + 8, gain + j + 8, dgain + j + 8, dbias + j + 8, m, rv, &g1, &gx1);
    }
    for (; j < n; j += 8) layernorm_backward_step_avx2(x + j, dy + j, gain + j, dgain + j, dbias + j, m, rv, &g0, &gx0);
    __m256 mean_g = _mm256_set1_ps(horizontal_sum(_mm256_add_ps(g0, g1)) / (float)n);
    __m256 mean_gx = _mm256_set1_ps(horizontal_sum(_mm256_add_ps(gx0, gx1)) / (float)n);
    for (j = 0; j < n; j += 8) {
        __m256 xhat = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + j), m), rv);
        __m256 g = _mm256_mul_ps(_mm256_loadu_ps(dy + j), _mm256_loadu_ps(gain + j));
        __m256 inner = _mm256_fnmadd_ps(xhat, mean_gx, _mm256_sub_ps(g, mean_g));
        __m256 value = _mm256_mul_ps(rv, inner);
        _mm256_storeu_ps(dx + j, skip ? _mm256_add_ps(value, _mm256_loadu_ps(skip + j)) : value);
    }
}

/* Sixteen lanes, any n: whole vectors, then the last n mod 16 elements under a load/store mask
   (masked-off lanes load as 0 and are kept out of the sums). */
AVX512 static inline __mmask16 tail_mask(size_t left) { return (__mmask16)((1u << left) - 1); }

AVX512 static void layernorm_row_avx512(const float *x, float *y, size_t n, const float *gain, const float *bias,
                                        float epsilon, float *stats) {
    const size_t whole = n & ~(size_t)15;
    const __mmask16 tail = tail_mask(n - whole);
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    size_t j = 0;
    for (; j + 64 <= n; j += 64) {
        a0 = _mm512_add_ps(a0, _mm512_loadu_ps(x + j));
        a1 = _mm512_add_ps(a1, _mm512_loadu_ps(x + j + 16));
        a2 = _mm512_add_ps(a2, _mm512_loadu_ps(x + j + 32));
        a3 = _mm512_add_ps(a3, _mm512_loadu_ps(x + j + 48));
    }
    for (; j < whole; j += 16) a0 = _mm512_add_ps(a0, _mm512_loadu_ps(x + j));
    a1 = _mm512_add_ps(a1, _mm512_maskz_loadu_ps(tail, x + whole));
    float mean = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3))) / (float)n;
    __m512 m = _mm512_set1_ps(mean);
    a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (j = 0; j + 64 <= n; j += 64) {
        __m512 c0 = _mm512_sub_ps(_mm512_loadu_ps(x + j), m), c1 = _mm512_sub_ps(_mm512_loadu_ps(x + j + 16), m);
        __m512 c2 = _mm512_sub_ps(_mm512_loadu_ps(x + j + 32), m), c3 = _mm512_sub_ps(_mm512_loadu_ps(x + j + 48), m);
        a0 = _mm512_fmadd_ps(c0, c0, a0);
        a1 = _mm512_fmadd_ps(c1, c1, a1);
        a2 = _mm512_fmadd_ps(c2, c2, a2);
        a3 = _mm512_fmadd_ps(c3, c3, a3);
    }
    for (; j < whole; j += 16) {
        __m512 c = _mm512_sub_ps(_mm512_loadu_ps(x + j), m);
        a0 = _mm512_fmadd_ps(c, c, a0);
    }
    __m512 c = _mm512_maskz_sub_ps(tail, _mm512_maskz_loadu_ps(tail, x + whole), m);
    a1 = _mm512_fmadd_ps(c, c, a1);
    float squares = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
    float r = 1.0f / sqrtf(squares / (float)n + epsilon);
    __m512 rv = _mm512_set1_ps(r);
    for (j = 0; j < whole; j += 16) {
        __m512 xhat = _mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(x + j), m), rv);
        _mm512_storeu_ps(y + j, _mm512_fmadd_ps(xhat, _mm512_loadu_ps(gain + j), _mm512_loadu_ps(bias + j)));
    }
    __m512 xhat = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(tail, x + whole), m), rv);
    _mm512_mask_storeu_ps(y + whole, tail, _mm512_fmadd_ps(xhat, _mm512_maskz_loadu_ps(tail, gain + whole),
                                                           _mm512_maskz_loadu_ps(tail, bias + whole)));
    stats[0] = mean;
    stats[1] = r;
}

/* One 16-lane step of the backward's first pass under `mask` (all ones for whole vectors):
   masked-off lanes read dy = 0, so they add nothing to the sums, and are not stored. */
AVX512 static inline void layernorm_backward_step_avx512(__mmask16 mask, const float *x, const float *dy, const float *gain,
                                                          float *dgain, float *dbias, __m512 m, __m512 rv,
                                                          __m512 *acc_g, __m512 *acc_gx) {
    __m512 d = _mm512_maskz_loadu_ps(mask, dy);
    __m512 xhat = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(mask, x), m), rv);
    __m512 g = _mm512_mul_ps(d, _mm512_maskz_loadu_ps(mask, gain));
    _mm512_mask_storeu_ps(dgain, mask, _mm512_fmadd_ps(d, xhat, _mm512_maskz_loadu_ps(mask, dgain)));
    _mm512_mask_storeu_ps(dbias, mask, _mm512_add_ps(d, _mm512_maskz_loadu_ps(mask, dbias)));
    *acc_g = _mm512_add_ps(*acc_g, g);
    *acc_gx = _mm512_fmadd_ps(g, xhat, *acc_gx);
}

AVX512 static void layernorm_row_backward_avx512(const float *x, const float *dy, float *dx, size_t n, const float *gain,
                                                 const float *stats, float *dgain, float *dbias, const float *skip) {
    const size_t whole = n & ~(size_t)15;
    const __mmask16 all = 0xFFFF, tail = tail_mask(n - whole);
    __m512 m = _mm512_set1_ps(stats[0]), rv = _mm512_set1_ps(stats[1]);
    __m512 g0 = _mm512_setzero_ps(), g1 = g0, gx0 = g0, gx1 = g0;
    size_t j = 0;
    for (; j + 32 <= n; j += 32) {
        layernorm_backward_step_avx512(all, x + j, dy + j, gain + j, dgain + j, dbias + j, m, rv, &g0, &gx0);
        layernorm_backward_step_avx512(all, x + j + 16, dy + j + 16, gain + j + 16, dgain + j + 16, dbias + j + 16,
                                       m, rv, &g1, &gx1);
    }
    for (; j < whole; j += 16) layernorm_backward_step_avx512(all, x + j, dy + j, gain + j, dgain + j, dbias + j, m, rv, &g0, &gx0);
    if (tail) layernorm_backward_step_avx512(tail, x + whole, dy + whole, gain + whole, dgain + whole, dbias + whole,
                                             m, rv, &g1, &gx1);
    __m512 mean_g = _mm512_set1_ps(_mm512_reduce_add_ps(_mm512_add_ps(g0, g1)) / (float)n);
    __m512 mean_gx = _mm512_set1_ps(_mm512_reduce_add_ps(_mm512_add_ps(gx0, gx1)) / (float)n);
    for (j = 0; j < n; j += 16) {
        __mmask16 mask = j < whole ? all : tail;
        __m512 xhat = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(mask, x + j), m), rv);
        __m512 g = _mm512_mul_ps(_mm512_maskz_loadu_ps(mask, dy + j), _mm512_maskz_loadu_ps(mask, gain + j));
        __m512 inner = _mm512_fnmadd_ps(xhat, mean_gx, _mm512_sub_ps(g, mean_g));
        __m512 value = _mm512_mul_ps(rv, inner);
        if (skip) value = _mm512_add_ps(value, _mm512_maskz_loadu_ps(mask, skip + j));
        _mm512_mask_storeu_ps(dx + j, mask, value);
    }
}

/* The body a row runs: a named one the CPU lacks falls back to portable, and the AVX2 body
   takes only rows whose length is a multiple of 8. */
static int layernorm_row_body(int body, size_t n) {
    if (!pixelfly_body_available(body)) return PIXELFLY_BODY_PORTABLE;
    if (body == PIXELFLY_BODY_AVX2 && n % 8 != 0) return PIXELFLY_BODY_PORTABLE;
    return body;
}

void pixelfly_layernorm_rows_f32_body(int body, const float *x, float *y, size_t rows, size_t n,
                                      const float *gain, const float *bias, float epsilon, float *stats) {
    body = layernorm_row_body(body, n);
    for (size_t i = 0; i < rows; i++) {
        if (body == PIXELFLY_BODY_AVX512) layernorm_row_avx512(x + i * n, y + i * n, n, gain, bias, epsilon, stats + 2 * i);
        else if (body == PIXELFLY_BODY_AVX2) layernorm_row_avx2(x + i * n, y + i * n, n, gain, bias, epsilon, stats + 2 * i);
        else layernorm_row_portable(x + i * n, y + i * n, n, gain, bias, epsilon, stats + 2 * i);
    }
}

void pixelfly_layernorm_rows_backward_f32_body(int body, const float *x, const float *dy, float *dx, size_t rows, size_t n,
                                               const float *gain, const float *stats,
                                               float *gain_gradient, float *bias_gradient, const float *skip) {
    body = layernorm_row_body(body, n);
    for (size_t i = 0; i < rows; i++) {
        const float *xi = x + i * n, *dyi = dy + i * n, *skipi = skip ? skip + i * n : NULL;
        float *dxi = dx + i * n;
        if (body == PIXELFLY_BODY_AVX512)
            layernorm_row_backward_avx512(xi, dyi, dxi, n, gain, stats + 2 * i, gain_gradient, bias_gradient, skipi);
        else if (body == PIXELFLY_BODY_AVX2)
            layernorm_row_backward_avx2(xi, dyi, dxi, n, gain, stats + 2 * i, gain_gradient, bias_gradient, skipi);
        else layernorm_row_backward_portable(xi, dyi, dxi, n, gain, stats + 2 * i, gain_gradient, bias_gradient, skipi);
    }
}

#else

void pixelfly_layernorm_rows_f32_body(int body, const float *x, float *y, size_t rows, size_t n,
                                      const float *gain, const float *bias, float epsilon, float *stats) {
    (void)body;
    for (size_t i = 0; i < rows; i++) layernorm_row_portable(x + i * n, y + i * n, n, gain, bias, epsilon, stats + 2 * i);
}

void pixelfly_layernorm_rows_backward_f32_body(int body, const float *x, const float *dy, float *dx, size_t rows, size_t n,
                                               const float *gain, const float *stats,
                                               float *gain_gradient, float *bias_gradient, const float *skip) {
    (void)body;
    for (size_t i = 0; i < rows; i++)
        layernorm_row_backward_portable(x + i * n, dy + i * n, dx + i * n, n, gain, stats + 2 * i,
                                        gain_gradient, bias_gradient, skip ? skip + i * n : NULL);
}

#endif

/* The fastest body the CPU has (pixelfly_fastest_body: AVX-512F, else AVX2+FMA, else portable). */
void pixelfly_layernorm_rows_f32(const float *x, float *y, size_t rows, size_t n,
                                 const float *gain, const float *bias, float epsilon, float *stats) {
    pixelfly_layernorm_rows_f32_body(pixelfly_fastest_body(), x, y, rows, n, gain, bias, epsilon, stats);
}

void pixelfly_layernorm_rows_backward_f32(const float *x, const float *dy, float *dx, size_t rows, size_t n,
                                          const float *gain, const float *stats,
                                          float *gain_gradient, float *bias_gradient, const float *skip) {
    pixelfly_layernorm_rows_backward_f32_body(pixelfly_fastest_body(), x, dy, dx, rows, n, gain, stats,
                                              gain_gradient, bias_gradient, skip);
}

#include "CVectorKernels.h"
#include <math.h>

/* One AdamW step over `count` elements (see CVectorKernels.h for the formulas). The bodies
 * compute the same expressions in the same order; the vector ones fuse the multiply-adds. */

static void adamw_f32_portable(float *theta, const float *g, float *m, float *v, size_t begin, size_t end,
                               const struct pixelfly_adamw_constants *c) {
    for (size_t i = begin; i < end; i++) {
        float mi = c->beta1 * m[i] + (1.0f - c->beta1) * g[i];
        float vi = c->beta2 * v[i] + (1.0f - c->beta2) * g[i] * g[i];
        m[i] = mi;
        v[i] = vi;
        float denominator = sqrtf(vi) * c->inverse_sqrt_correction2 + c->epsilon;
        theta[i] = theta[i] * c->decay - c->step_size * mi / denominator;
    }
}

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))
#define AVX512 __attribute__((target("avx512f")))

AVX2 static void adamw_f32_avx2(float *theta, const float *g, float *m, float *v, size_t count,
                                const struct pixelfly_adamw_constants *c) {
    const __m256 b1 = _mm256_set1_ps(c->beta1), b1c = _mm256_set1_ps(1.0f - c->beta1);
    const __m256 b2 = _mm256_set1_ps(c->beta2), b2c = _mm256_set1_ps(1.0f - c->beta2);
    const __m256 corr = _mm256_set1_ps(c->inverse_sqrt_correction2), eps = _mm256_set1_ps(c->epsilon);
    const __m256 decay = _mm256_set1_ps(c->decay), step = _mm256_set1_ps(c->step_size);
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        __m256 gi = _mm256_loadu_ps(g + i);
        __m256 mi = _mm256_fmadd_ps(b1, _mm256_loadu_ps(m + i), _mm256_mul_ps(b1c, gi));
        __m256 vi = _mm256_fmadd_ps(b2, _mm256_loadu_ps(v + i), _mm256_mul_ps(_mm256_mul_ps(b2c, gi), gi));
        _mm256_storeu_ps(m + i, mi);
        _mm256_storeu_ps(v + i, vi);
        __m256 denominator = _mm256_fmadd_ps(_mm256_sqrt_ps(vi), corr, eps);
        __m256 update = _mm256_div_ps(_mm256_mul_ps(step, mi), denominator);
        _mm256_storeu_ps(theta + i, _mm256_fmsub_ps(_mm256_loadu_ps(theta + i), decay, update));
    }
    adamw_f32_portable(theta, g, m, v, i, count, c);
}

AVX512 static void adamw_f32_avx512(float *theta, const float *g, float *m, float *v, size_t count,
                                    const struct pixelfly_adamw_constants *c) {
    const __m512 b1 = _mm512_set1_ps(c->beta1), b1c = _mm512_set1_ps(1.0f - c->beta1);
    const __m512 b2 = _mm512_set1_ps(c->beta2), b2c = _mm512_set1_ps(1.0f - c->beta2);
    const __m512 corr = _mm512_set1_ps(c->inverse_sqrt_correction2), eps = _mm512_set1_ps(c->epsilon);
    const __m512 decay = _mm512_set1_ps(c->decay), step = _mm512_set1_ps(c->step_size);
    for (size_t i = 0; i < count; i += 16) {
        __mmask16 k = count - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (count - i)) - 1);
        __m512 gi = _mm512_maskz_loadu_ps(k, g + i);
        __m512 mi = _mm512_fmadd_ps(b1, _mm512_maskz_loadu_ps(k, m + i), _mm512_mul_ps(b1c, gi));
        __m512 vi = _mm512_fmadd_ps(b2, _mm512_maskz_loadu_ps(k, v + i), _mm512_mul_ps(_mm512_mul_ps(b2c, gi), gi));
        _mm512_mask_storeu_ps(m + i, k, mi);
        _mm512_mask_storeu_ps(v + i, k, vi);
        __m512 denominator = _mm512_fmadd_ps(_mm512_sqrt_ps(vi), corr, eps);
        __m512 update = _mm512_div_ps(_mm512_mul_ps(step, mi), denominator);
        _mm512_mask_storeu_ps(theta + i, k, _mm512_fmsub_ps(_mm512_maskz_loadu_ps(k, theta + i), decay, update));
    }
}

void pixelfly_adamw_f32_body(int body, float *theta, const float *g, float *m, float *v, size_t count,
                             const struct pixelfly_adamw_constants *c) {
    if (!pixelfly_body_available(body)) body = PIXELFLY_BODY_PORTABLE;
    if (body == PIXELFLY_BODY_AVX512) adamw_f32_avx512(theta, g, m, v, count, c);
    else if (body == PIXELFLY_BODY_AVX2) adamw_f32_avx2(theta, g, m, v, count, c);
    else adamw_f32_portable(theta, g, m, v, 0, count, c);
}

void pixelfly_adamw_f32(float *theta, const float *g, float *m, float *v, size_t count,
                        const struct pixelfly_adamw_constants *c) {
    pixelfly_adamw_f32_body(pixelfly_fastest_body(), theta, g, m, v, count, c);
}

#else

void pixelfly_adamw_f32_body(int body, float *theta, const float *g, float *m, float *v, size_t count,
                             const struct pixelfly_adamw_constants *c) {
    (void)body;
    adamw_f32_portable(theta, g, m, v, 0, count, c);
}

void pixelfly_adamw_f32(float *theta, const float *g, float *m, float *v, size_t count,
                        const struct pixelfly_adamw_constants *c) {
    adamw_f32_portable(theta, g, m, v, 0, count, c);
}

#endif

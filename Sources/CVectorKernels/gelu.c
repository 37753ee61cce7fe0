#include "CVectorKernels.h"
#include <math.h>

#define GELU_SCALE 0.7978845608028654f /* √(2/π) */
#define GELU_CUBIC 0.044715f

/* ---- Portable body (any CPU): libm expf, one element at a time. ---- */

static inline float gate_scalar(float v, float *exponent_out) {
    float exponent = -2.0f * GELU_SCALE * (v + GELU_CUBIC * v * v * v);
    *exponent_out = exponent;
    return exponent > 88.0f ? 0.0f : 1.0f / (1.0f + expf(exponent));
}

static void gelu_forward_portable(const float *x, float *y, size_t begin, size_t end) {
    for (size_t i = begin; i < end; i++) {
        float e, s = gate_scalar(x[i], &e);
        y[i] = x[i] * s;
    }
}

/* gelu′(v) from the gate s = σ(2u) of the same v. */
static inline float slope_scalar(float v, float s) {
    float du = 2.0f * GELU_SCALE * (1.0f + 3.0f * GELU_CUBIC * v * v);
    return s + v * s * (1.0f - s) * du;
}

static void gelu_backward_portable(const float *x, const float *dy, float *dx, size_t begin, size_t end) {
    for (size_t i = begin; i < end; i++) {
        float v = x[i], e, s = gate_scalar(v, &e);
        dx[i] = dy[i] * slope_scalar(v, s);
    }
}

/* y = gelu(h), h ← gelu′(h). */
static void gelu_forward_derivative_portable(float *h, float *y, size_t begin, size_t end) {
    for (size_t i = begin; i < end; i++) {
        float v = h[i], e, s = gate_scalar(v, &e);
        y[i] = v * s;
        h[i] = slope_scalar(v, s);
    }
}

static void scale_portable(const float *factor, float *out, size_t begin, size_t end) {
    for (size_t i = begin; i < end; i++) out[i] *= factor[i];
}

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))

/* e^x for eight lanes: x = n·ln2 + r with |r| ≤ ln2/2 (Cody–Waite split of ln2), e^r by its
   degree-7 Taylor polynomial (truncation < 5e-9 relative, under half a Float ulp), 2^n built in
   the exponent bits. Inputs are clamped to [−87.3, 88.3]. The same reduction as the Swift
   `VectorExp`, with fused multiply-adds. */
AVX2 static inline __m256 exp8(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.3f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.0f / 5040);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
}

/* σ(2u) and the exponent −2u; the gate is 0 where the exponent exceeds 88. */
AVX2 static inline __m256 gate8(__m256 v) {
    __m256 v3 = _mm256_mul_ps(_mm256_mul_ps(v, v), v);
    __m256 exponent = _mm256_mul_ps(_mm256_set1_ps(-2.0f * GELU_SCALE), _mm256_fmadd_ps(_mm256_set1_ps(GELU_CUBIC), v3, v));
    __m256 s = _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_add_ps(_mm256_set1_ps(1.0f), exp8(exponent)));
    return _mm256_andnot_ps(_mm256_cmp_ps(exponent, _mm256_set1_ps(88.0f), _CMP_GT_OQ), s);
}

AVX2 static void gelu_forward_avx2(const float *x, float *y, size_t count) {
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        _mm256_storeu_ps(y + i, _mm256_mul_ps(v, gate8(v)));
    }
    gelu_forward_portable(x, y, i, count);
}

/* gelu′(v) from the gate s of the same v: s + v·s(1 − s)·2√(2/π)(1 + 3·0.044715v²). */
AVX2 static inline __m256 slope8(__m256 v, __m256 s) {
    const __m256 one = _mm256_set1_ps(1.0f);
    __m256 du = _mm256_mul_ps(_mm256_set1_ps(2.0f * GELU_SCALE),
                              _mm256_fmadd_ps(_mm256_set1_ps(3.0f * GELU_CUBIC), _mm256_mul_ps(v, v), one));
    return _mm256_fmadd_ps(_mm256_mul_ps(_mm256_mul_ps(v, s), _mm256_sub_ps(one, s)), du, s);
}

/* `ahead`, when not NULL, is prefetched at the same offsets as the loop goes (one line per 64
   bytes): the next row's pre-activation (`pixelfly_gelu_backward_rows_f32`). */
AVX2 static void gelu_backward_avx2(const float *x, const float *dy, float *dx, size_t count, const float *ahead) {
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        if (ahead && i % 16 == 0) __builtin_prefetch(ahead + i, 0, 3);
        __m256 v = _mm256_loadu_ps(x + i);
        _mm256_storeu_ps(dx + i, _mm256_mul_ps(_mm256_loadu_ps(dy + i), slope8(v, gate8(v))));
    }
    gelu_backward_portable(x, dy, dx, i, count);
}

/* One gate for both outputs: y = v·s and h ← gelu′(v), the backward's factor, bit for bit. */
AVX2 static void gelu_forward_derivative_avx2(float *h, float *y, size_t count) {
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        __m256 v = _mm256_loadu_ps(h + i), s = gate8(v);
        _mm256_storeu_ps(y + i, _mm256_mul_ps(v, s));
        _mm256_storeu_ps(h + i, slope8(v, s));
    }
    gelu_forward_derivative_portable(h, y, i, count);
}

/* out ⊙= factor, prefetching `ahead` (the next row's factor) as the backward does. */
AVX2 static void scale_avx2(const float *factor, float *out, size_t count, const float *ahead) {
    size_t i = 0;
    for (; i + 8 <= count; i += 8) {
        if (ahead && i % 16 == 0) __builtin_prefetch(ahead + i, 0, 3);
        _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_loadu_ps(out + i), _mm256_loadu_ps(factor + i)));
    }
    scale_portable(factor, out, i, count);
}

int pixelfly_vector_kernels_use_avx2(void) {
    static int cached = -1; /* every thread computes the same value; relaxed atomics suffice */
    int value = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (value < 0) {
        __builtin_cpu_init();
        value = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
        __atomic_store_n(&cached, value, __ATOMIC_RELAXED);
    }
    return value;
}

#define AVX512 __attribute__((target("avx512f")))

/* exp8 on sixteen lanes: the same reduction and polynomial; the scale 2^n by vscalefps. */
AVX512 static inline __m512 exp16(__m512 x) {
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.3f)), _mm512_set1_ps(88.3f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.0f / 5040);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

/* σ(2u) for sixteen lanes, 0 where the exponent −2u exceeds 88. A true division: on Zen 5 the
   reciprocal estimate vrcp14ps plus one Newton step measured 9–15 % slower (notebooks-md/blocks.md). */
AVX512 static inline __m512 gate16(__m512 v) {
    const __m512 one = _mm512_set1_ps(1.0f);
    __m512 v3 = _mm512_mul_ps(_mm512_mul_ps(v, v), v);
    __m512 exponent = _mm512_mul_ps(_mm512_set1_ps(-2.0f * GELU_SCALE), _mm512_fmadd_ps(_mm512_set1_ps(GELU_CUBIC), v3, v));
    __m512 r = _mm512_div_ps(one, _mm512_add_ps(one, exp16(exponent)));
    __mmask16 live = _mm512_cmp_ps_mask(exponent, _mm512_set1_ps(88.0f), _CMP_LE_OQ);
    return _mm512_maskz_mov_ps(live, r);
}

AVX512 static inline __m512 gelu16(__m512 v) { return _mm512_mul_ps(v, gate16(v)); }

/* gelu′(v) from the gate s of the same v (slope8 on sixteen lanes). */
AVX512 static inline __m512 slope16(__m512 v, __m512 s) {
    const __m512 one = _mm512_set1_ps(1.0f);
    __m512 du = _mm512_mul_ps(_mm512_set1_ps(2.0f * GELU_SCALE),
                              _mm512_fmadd_ps(_mm512_set1_ps(3.0f * GELU_CUBIC), _mm512_mul_ps(v, v), one));
    return _mm512_fmadd_ps(_mm512_mul_ps(_mm512_mul_ps(v, s), _mm512_sub_ps(one, s)), du, s);
}

AVX512 static inline __m512 gelu_slope16(__m512 v) { return slope16(v, gate16(v)); }

/* The tail (count mod 16 elements) runs the same lanes under a load/store mask. */
AVX512 static void gelu_forward_avx512(const float *x, float *y, size_t count) {
    size_t i = 0;
    for (; i + 16 <= count; i += 16) _mm512_storeu_ps(y + i, gelu16(_mm512_loadu_ps(x + i)));
    if (i < count) {
        __mmask16 m = (__mmask16)((1u << (count - i)) - 1);
        _mm512_mask_storeu_ps(y + i, m, gelu16(_mm512_maskz_loadu_ps(m, x + i)));
    }
}

AVX512 static void gelu_forward_derivative_avx512(float *h, float *y, size_t count) {
    size_t i = 0;
    for (; i + 16 <= count; i += 16) {
        __m512 v = _mm512_loadu_ps(h + i), s = gate16(v);
        _mm512_storeu_ps(y + i, _mm512_mul_ps(v, s));
        _mm512_storeu_ps(h + i, slope16(v, s));
    }
    if (i < count) {
        __mmask16 m = (__mmask16)((1u << (count - i)) - 1);
        __m512 v = _mm512_maskz_loadu_ps(m, h + i), s = gate16(v);
        _mm512_mask_storeu_ps(y + i, m, _mm512_mul_ps(v, s));
        _mm512_mask_storeu_ps(h + i, m, slope16(v, s));
    }
}

AVX512 static void gelu_backward_avx512(const float *x, const float *dy, float *dx, size_t count, const float *ahead) {
    size_t i = 0;
    for (; i + 16 <= count; i += 16) {
        if (ahead) __builtin_prefetch(ahead + i, 0, 3);
        _mm512_storeu_ps(dx + i, _mm512_mul_ps(_mm512_loadu_ps(dy + i), gelu_slope16(_mm512_loadu_ps(x + i))));
    }
    if (i < count) {
        __mmask16 m = (__mmask16)((1u << (count - i)) - 1);
        _mm512_mask_storeu_ps(dx + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, dy + i), gelu_slope16(_mm512_maskz_loadu_ps(m, x + i))));
    }
}

int pixelfly_body_available(int body) {
    switch (body) {
    case PIXELFLY_BODY_PORTABLE: return 1;
    case PIXELFLY_BODY_AVX2: return pixelfly_vector_kernels_use_avx2();
    case PIXELFLY_BODY_AVX512: {
        static int cached = -1;
        int value = __atomic_load_n(&cached, __ATOMIC_RELAXED);
        if (value < 0) {
            __builtin_cpu_init();
            value = __builtin_cpu_supports("avx512f");
            __atomic_store_n(&cached, value, __ATOMIC_RELAXED);
        }
        return value;
    }
    default: return 0;
    }
}

void pixelfly_gelu_forward_f32_body(int body, const float *x, float *y, size_t count) {
    if (!pixelfly_body_available(body)) body = PIXELFLY_BODY_PORTABLE;
    if (body == PIXELFLY_BODY_AVX512) gelu_forward_avx512(x, y, count);
    else if (body == PIXELFLY_BODY_AVX2) gelu_forward_avx2(x, y, count);
    else gelu_forward_portable(x, y, 0, count);
}

void pixelfly_gelu_backward_f32_body(int body, const float *x, const float *dy, float *dx, size_t count) {
    if (!pixelfly_body_available(body)) body = PIXELFLY_BODY_PORTABLE;
    if (body == PIXELFLY_BODY_AVX512) gelu_backward_avx512(x, dy, dx, count, NULL);
    else if (body == PIXELFLY_BODY_AVX2) gelu_backward_avx2(x, dy, dx, count, NULL);
    else gelu_backward_portable(x, dy, dx, 0, count);
}

/* The fastest body this CPU has: AVX-512F (16 lanes, about twice the AVX2 body on Zen 5 for
   GELU, see notebooks-md/blocks.md; the forward that keeps its derivative 0.27 against 0.55 ns
   per element, notebooks-md/kernel-passes/30-zen5-avx512-current-code.md), else AVX2+FMA, else
   portable. */
int pixelfly_fastest_body(void) {
    if (pixelfly_body_available(PIXELFLY_BODY_AVX512)) return PIXELFLY_BODY_AVX512;
    return pixelfly_vector_kernels_use_avx2() ? PIXELFLY_BODY_AVX2 : PIXELFLY_BODY_PORTABLE;
}

void pixelfly_gelu_forward_f32(const float *x, float *y, size_t count) {
    pixelfly_gelu_forward_f32_body(pixelfly_fastest_body(), x, y, count);
}

void pixelfly_gelu_backward_f32(const float *x, const float *dy, float *dx, size_t count) {
    pixelfly_gelu_backward_f32_body(pixelfly_fastest_body(), x, dy, dx, count);
}

/* Row by row, prefetching the next row's pre-activation: see CVectorKernels.h. */
void pixelfly_gelu_backward_rows_f32_body(int body, const float *x, const float *dy, float *dx, size_t rows, size_t count,
                                          size_t stride) {
    if (!pixelfly_body_available(body)) body = PIXELFLY_BODY_PORTABLE;
    for (size_t r = 0; r < rows; r++) {
        const float *row_x = x + r * stride, *row_dy = dy + r * stride;
        float *row_dx = dx + r * stride;
        const float *ahead = r + 1 < rows ? row_x + stride : NULL;
        if (body == PIXELFLY_BODY_AVX512) gelu_backward_avx512(row_x, row_dy, row_dx, count, ahead);
        else if (body == PIXELFLY_BODY_AVX2) gelu_backward_avx2(row_x, row_dy, row_dx, count, ahead);
        else gelu_backward_portable(row_x, row_dy, row_dx, 0, count);
    }
}

/* Row by row like the backward. The derivative's AVX-512 body is the forward's on sixteen
   lanes; the scale has none of its own (one multiply per element: memory decides). */
void pixelfly_gelu_forward_derivative_rows_f32_body(int body, float *h, float *y, size_t rows, size_t count, size_t stride) {
    if (!pixelfly_body_available(body)) body = PIXELFLY_BODY_PORTABLE;
    for (size_t r = 0; r < rows; r++) {
        float *row_h = h + r * stride, *row_y = y + r * stride;
        if (body == PIXELFLY_BODY_AVX512) gelu_forward_derivative_avx512(row_h, row_y, count);
        else if (body == PIXELFLY_BODY_AVX2) gelu_forward_derivative_avx2(row_h, row_y, count);
        else gelu_forward_derivative_portable(row_h, row_y, 0, count);
    }
}

void pixelfly_scale_rows_f32_body(int body, const float *factor, float *out, size_t rows, size_t count, size_t stride) {
    if (!pixelfly_body_available(body)) body = PIXELFLY_BODY_PORTABLE;
    for (size_t r = 0; r < rows; r++) {
        const float *row_factor = factor + r * stride;
        const float *ahead = r + 1 < rows ? row_factor + stride : NULL;
        if (body == PIXELFLY_BODY_PORTABLE) scale_portable(row_factor, out + r * stride, 0, count);
        else scale_avx2(row_factor, out + r * stride, count, ahead);
    }
}

#else

int pixelfly_vector_kernels_use_avx2(void) { return 0; }

void pixelfly_gelu_forward_derivative_rows_f32_body(int body, float *h, float *y, size_t rows, size_t count, size_t stride) {
    (void)body;
    for (size_t r = 0; r < rows; r++) gelu_forward_derivative_portable(h + r * stride, y + r * stride, 0, count);
}

void pixelfly_scale_rows_f32_body(int body, const float *factor, float *out, size_t rows, size_t count, size_t stride) {
    (void)body;
    for (size_t r = 0; r < rows; r++) scale_portable(factor + r * stride, out + r * stride, 0, count);
}

int pixelfly_body_available(int body) { return body == PIXELFLY_BODY_PORTABLE; }

int pixelfly_fastest_body(void) { return PIXELFLY_BODY_PORTABLE; }

void pixelfly_gelu_forward_f32_body(int body, const float *x, float *y, size_t count) {
    (void)body;
    gelu_forward_portable(x, y, 0, count);
}

void pixelfly_gelu_backward_f32_body(int body, const float *x, const float *dy, float *dx, size_t count) {
    (void)body;
    gelu_backward_portable(x, dy, dx, 0, count);
}

void pixelfly_gelu_forward_f32(const float *x, float *y, size_t count) { gelu_forward_portable(x, y, 0, count); }

void pixelfly_gelu_backward_f32(const float *x, const float *dy, float *dx, size_t count) {
    gelu_backward_portable(x, dy, dx, 0, count);
}

void pixelfly_gelu_backward_rows_f32_body(int body, const float *x, const float *dy, float *dx, size_t rows, size_t count,
                                          size_t stride) {
    (void)body;
    for (size_t r = 0; r < rows; r++) gelu_backward_portable(x + r * stride, dy + r * stride, dx + r * stride, 0, count);
}

#endif

void pixelfly_gelu_forward_rows_f32_body(int body, const float *x, float *y, size_t rows, size_t count, size_t stride) {
    for (size_t r = 0; r < rows; r++) pixelfly_gelu_forward_f32_body(body, x + r * stride, y + r * stride, count);
}

void pixelfly_gelu_forward_rows_f32(const float *x, float *y, size_t rows, size_t count, size_t stride) {
    pixelfly_gelu_forward_rows_f32_body(pixelfly_fastest_body(), x, y, rows, count, stride);
}

void pixelfly_gelu_backward_rows_f32(const float *x, const float *dy, float *dx, size_t rows, size_t count, size_t stride) {
    pixelfly_gelu_backward_rows_f32_body(pixelfly_fastest_body(), x, dy, dx, rows, count, stride);
}

void pixelfly_gelu_forward_derivative_rows_f32(float *h, float *y, size_t rows, size_t count, size_t stride) {
    pixelfly_gelu_forward_derivative_rows_f32_body(pixelfly_fastest_body(), h, y, rows, count, stride);
}

void pixelfly_scale_rows_f32(const float *factor, float *out, size_t rows, size_t count, size_t stride) {
    pixelfly_scale_rows_f32_body(pixelfly_fastest_body(), factor, out, rows, count, stride);
}

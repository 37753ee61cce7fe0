#include "CVectorKernels.h"

/* out[i·stride + j] += bias[j] for i < rows, j < count. Each row piece is contiguous; one add per
 * element, so every body gives the same bits. The pass reads and writes output the strips have
 * just left in L2, and its speed follows the vector width: at the baseline ISA (SSE2, four
 * lanes) it took 17 % as long as the 768 → 3072 strips it follows on a Zen 5 under AVX-512,
 * with AVX2 or AVX-512 4–5 % (notebooks-md/kernel-passes/31-bias-pass-vector-width.md). */

static void add_bias_rows_f32_portable(float *restrict out, const float *restrict bias, size_t rows, size_t count,
                                       size_t stride) {
    for (size_t i = 0; i < rows; i++) {
        float *restrict row = out + i * stride;
        for (size_t j = 0; j < count; j++) row[j] += bias[j];
    }
}

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2")))
#define AVX512 __attribute__((target("avx512f")))

AVX2 static void add_bias_rows_f32_avx2(float *out, const float *bias, size_t rows, size_t count, size_t stride) {
    for (size_t i = 0; i < rows; i++) {
        float *row = out + i * stride;
        size_t j = 0;
        for (; j + 8 <= count; j += 8) _mm256_storeu_ps(row + j, _mm256_add_ps(_mm256_loadu_ps(row + j), _mm256_loadu_ps(bias + j)));
        for (; j < count; j++) row[j] += bias[j];
    }
}

AVX512 static void add_bias_rows_f32_avx512(float *out, const float *bias, size_t rows, size_t count, size_t stride) {
    const __mmask16 tail = (__mmask16)((1u << (count % 16)) - 1);
    const size_t whole = count - count % 16;
    for (size_t i = 0; i < rows; i++) {
        float *row = out + i * stride;
        for (size_t j = 0; j < whole; j += 16)
            _mm512_storeu_ps(row + j, _mm512_add_ps(_mm512_loadu_ps(row + j), _mm512_loadu_ps(bias + j)));
        if (tail)
            _mm512_mask_storeu_ps(row + whole, tail,
                                  _mm512_add_ps(_mm512_maskz_loadu_ps(tail, row + whole), _mm512_maskz_loadu_ps(tail, bias + whole)));
    }
}

void pixelfly_add_bias_rows_f32_body(int body, float *out, const float *bias, size_t rows, size_t count, size_t stride) {
    if (!pixelfly_body_available(body)) body = PIXELFLY_BODY_PORTABLE;
    if (body == PIXELFLY_BODY_AVX512) add_bias_rows_f32_avx512(out, bias, rows, count, stride);
    else if (body == PIXELFLY_BODY_AVX2) add_bias_rows_f32_avx2(out, bias, rows, count, stride);
    else add_bias_rows_f32_portable(out, bias, rows, count, stride);
}

#else

void pixelfly_add_bias_rows_f32_body(int body, float *out, const float *bias, size_t rows, size_t count, size_t stride) {
    (void)body;
    add_bias_rows_f32_portable(out, bias, rows, count, stride);
}

#endif

void pixelfly_add_bias_rows_f32(float *out, const float *bias, size_t rows, size_t count, size_t stride) {
    pixelfly_add_bias_rows_f32_body(pixelfly_fastest_body(), out, bias, rows, count, stride);
}

void pixelfly_add_bias_rows_f64(double *restrict out, const double *restrict bias, size_t rows, size_t count, size_t stride) {
    for (size_t i = 0; i < rows; i++) {
        double *restrict row = out + i * stride;
        for (size_t j = 0; j < count; j++) row[j] += bias[j];
    }
}

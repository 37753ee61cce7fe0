#include "CVectorKernels.h"

/* C (m × n) += A (m × k) · Bᵀ for a row-major B of n × k: every element of C is the inner product
 * of a row of A with a row of B, both contiguous; `row_sums`, when not NULL, gets Σ_p A[i, p]
 * added to its element i. This is the weight gradient of a product that reduces over its
 * operands' contiguous axis (the token-mixing MLP's dW += dY_b·A_bᵀ with db += dY_b·1), which
 * LIBXSMM 1.17's kernels cannot take without a transposed copy and OpenBLAS runs on its small-
 * matrix "tn" path.
 *
 * The vector bodies keep one vector of partial sums per element of a 4 × 4 (AVX-512) or 4 × 2
 * (AVX2) block of C while they walk k, then add each vector's lanes: every row of A and of B is
 * loaded once per block, so a block's 16 (8) fused multiply-adds cost 8 (6) loads. Rows past the
 * edge of C repeat the last row and are not stored. The lane sums run in a fixed order, so a
 * body gives the same bits on every call; bodies differ from each other in the last bits. */

/* row_sums[i] += Σ_p A[i, p], one running sum per row. */
static void add_row_sums_portable(const float *a, size_t lda, size_t m, size_t k, float *row_sums) {
    for (size_t i = 0; i < m; i++) {
        float sum = 0;
        for (size_t p = 0; p < k; p++) sum += a[i * lda + p];
        row_sums[i] += sum;
    }
}

static void inner_products_f32_portable(const float *a, size_t lda, const float *b, size_t ldb, float *c, size_t ldc,
                                        size_t m, size_t n, size_t k, float *row_sums) {
    for (size_t i = 0; i < m; i++) {
        const float *row = a + i * lda;
        for (size_t j = 0; j < n; j++) {
            const float *column = b + j * ldb;
            float sum = 0;
            for (size_t p = 0; p < k; p++) sum += row[p] * column[p];
            c[i * ldc + j] += sum;
        }
    }
    if (row_sums) add_row_sums_portable(a, lda, m, k, row_sums);
}

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))
#define AVX512 __attribute__((target("avx512f")))

/* Eight lanes summed to one float (a fixed tree). */
AVX2 static inline float lane_sum8(__m256 v) {
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_movehdup_ps(h));
    return _mm_cvtss_f32(h);
}

/* row_sums[i] += Σ_p A[i, p], eight lanes in two running sums (both vector bodies: the sums are
   a small part of the work, and one copy serves both). */
AVX2 static void add_row_sums_avx2(const float *a, size_t lda, size_t m, size_t k, float *row_sums) {
    const size_t whole = k - k % 8;
    for (size_t i = 0; i < m; i++) {
        const float *row = a + i * lda;
        __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
        size_t p = 0;
        for (; p + 16 <= whole; p += 16) {
            s0 = _mm256_add_ps(s0, _mm256_loadu_ps(row + p));
            s1 = _mm256_add_ps(s1, _mm256_loadu_ps(row + p + 8));
        }
        if (p < whole) s0 = _mm256_add_ps(s0, _mm256_loadu_ps(row + p));
        float sum = lane_sum8(_mm256_add_ps(s0, s1));
        for (p = whole; p < k; p++) sum += row[p];
        row_sums[i] += sum;
    }
}

/* One step of the 4 × 4 block: rows a0..a3 of A and b0..b3 of B at offset p, loaded by LOAD. */
#define INNER_STEP_4X4(LOAD)                                                                                   \
    do {                                                                                                        \
        const __m512 x0 = LOAD(a0 + p), x1 = LOAD(a1 + p), x2 = LOAD(a2 + p), x3 = LOAD(a3 + p);               \
        const __m512 y0 = LOAD(b0 + p), y1 = LOAD(b1 + p), y2 = LOAD(b2 + p), y3 = LOAD(b3 + p);               \
        c00 = _mm512_fmadd_ps(x0, y0, c00); c01 = _mm512_fmadd_ps(x0, y1, c01);                                \
        c02 = _mm512_fmadd_ps(x0, y2, c02); c03 = _mm512_fmadd_ps(x0, y3, c03);                                \
        c10 = _mm512_fmadd_ps(x1, y0, c10); c11 = _mm512_fmadd_ps(x1, y1, c11);                                \
        c12 = _mm512_fmadd_ps(x1, y2, c12); c13 = _mm512_fmadd_ps(x1, y3, c13);                                \
        c20 = _mm512_fmadd_ps(x2, y0, c20); c21 = _mm512_fmadd_ps(x2, y1, c21);                                \
        c22 = _mm512_fmadd_ps(x2, y2, c22); c23 = _mm512_fmadd_ps(x2, y3, c23);                                \
        c30 = _mm512_fmadd_ps(x3, y0, c30); c31 = _mm512_fmadd_ps(x3, y1, c31);                                \
        c32 = _mm512_fmadd_ps(x3, y2, c32); c33 = _mm512_fmadd_ps(x3, y3, c33);                                \
    } while (0)

#define LOAD_WHOLE(address) _mm512_loadu_ps(address)
#define LOAD_TAIL(address) _mm512_maskz_loadu_ps(tail, address)

AVX512 static void inner_products_f32_avx512(const float *a, size_t lda, const float *b, size_t ldb, float *c, size_t ldc,
                                             size_t m, size_t n, size_t k, float *row_sums) {
    const __mmask16 tail = (__mmask16)((1u << (k % 16)) - 1);
    const size_t whole = k - k % 16;
    for (size_t i0 = 0; i0 < m; i0 += 4) {
        const float *a0 = a + i0 * lda, *a1 = a + (i0 + 1 < m ? i0 + 1 : m - 1) * lda,
                    *a2 = a + (i0 + 2 < m ? i0 + 2 : m - 1) * lda, *a3 = a + (i0 + 3 < m ? i0 + 3 : m - 1) * lda;
        for (size_t j0 = 0; j0 < n; j0 += 4) {
            const float *b0 = b + j0 * ldb, *b1 = b + (j0 + 1 < n ? j0 + 1 : n - 1) * ldb,
                        *b2 = b + (j0 + 2 < n ? j0 + 2 : n - 1) * ldb, *b3 = b + (j0 + 3 < n ? j0 + 3 : n - 1) * ldb;
            __m512 c00 = _mm512_setzero_ps(), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00, c12 = c00, c13 = c00,
                   c20 = c00, c21 = c00, c22 = c00, c23 = c00, c30 = c00, c31 = c00, c32 = c00, c33 = c00;
            size_t p = 0;
            for (; p < whole; p += 16) INNER_STEP_4X4(LOAD_WHOLE);
            if (p < k) INNER_STEP_4X4(LOAD_TAIL);
            const float block[4][4] = {
                {_mm512_reduce_add_ps(c00), _mm512_reduce_add_ps(c01), _mm512_reduce_add_ps(c02), _mm512_reduce_add_ps(c03)},
                {_mm512_reduce_add_ps(c10), _mm512_reduce_add_ps(c11), _mm512_reduce_add_ps(c12), _mm512_reduce_add_ps(c13)},
                {_mm512_reduce_add_ps(c20), _mm512_reduce_add_ps(c21), _mm512_reduce_add_ps(c22), _mm512_reduce_add_ps(c23)},
                {_mm512_reduce_add_ps(c30), _mm512_reduce_add_ps(c31), _mm512_reduce_add_ps(c32), _mm512_reduce_add_ps(c33)}};
            for (size_t r = 0; r < 4 && i0 + r < m; r++)
                for (size_t s = 0; s < 4 && j0 + s < n; s++) c[(i0 + r) * ldc + j0 + s] += block[r][s];
        }
    }
    /* Every CPU with AVX-512F has AVX2 and FMA; a virtual one that hid them gets the plain sums. */
    if (row_sums && pixelfly_vector_kernels_use_avx2()) add_row_sums_avx2(a, lda, m, k, row_sums);
    else if (row_sums) add_row_sums_portable(a, lda, m, k, row_sums);
}

AVX2 static void inner_products_f32_avx2(const float *a, size_t lda, const float *b, size_t ldb, float *c, size_t ldc,
                                         size_t m, size_t n, size_t k, float *row_sums) {
    const size_t whole = k - k % 8;
    for (size_t i0 = 0; i0 < m; i0 += 4) {
        const float *ar[4];
        for (size_t r = 0; r < 4; r++) ar[r] = a + (i0 + r < m ? i0 + r : m - 1) * lda;
        const float *a0 = ar[0], *a1 = ar[1], *a2 = ar[2], *a3 = ar[3];
        for (size_t j0 = 0; j0 < n; j0 += 2) {
            const float *b0 = b + j0 * ldb, *b1 = b + (j0 + 1 < n ? j0 + 1 : n - 1) * ldb;
            __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
            for (size_t p = 0; p < whole; p += 8) {
                const __m256 y0 = _mm256_loadu_ps(b0 + p), y1 = _mm256_loadu_ps(b1 + p);
                const __m256 x0 = _mm256_loadu_ps(a0 + p), x1 = _mm256_loadu_ps(a1 + p);
                c00 = _mm256_fmadd_ps(x0, y0, c00); c01 = _mm256_fmadd_ps(x0, y1, c01);
                c10 = _mm256_fmadd_ps(x1, y0, c10); c11 = _mm256_fmadd_ps(x1, y1, c11);
                const __m256 x2 = _mm256_loadu_ps(a2 + p), x3 = _mm256_loadu_ps(a3 + p);
                c20 = _mm256_fmadd_ps(x2, y0, c20); c21 = _mm256_fmadd_ps(x2, y1, c21);
                c30 = _mm256_fmadd_ps(x3, y0, c30); c31 = _mm256_fmadd_ps(x3, y1, c31);
            }
            const float block[4][2] = {{lane_sum8(c00), lane_sum8(c01)}, {lane_sum8(c10), lane_sum8(c11)},
                                       {lane_sum8(c20), lane_sum8(c21)}, {lane_sum8(c30), lane_sum8(c31)}};
            const float *br[2] = {b0, b1};
            for (size_t r = 0; r < 4 && i0 + r < m; r++)
                for (size_t s = 0; s < 2 && j0 + s < n; s++) {
                    float sum = block[r][s];
                    for (size_t p = whole; p < k; p++) sum += ar[r][p] * br[s][p];
                    c[(i0 + r) * ldc + j0 + s] += sum;
                }
        }
    }
    if (row_sums) add_row_sums_avx2(a, lda, m, k, row_sums);
}

void pixelfly_inner_products_f32_body(int body, const float *a, size_t lda, const float *b, size_t ldb, float *c,
                                      size_t ldc, size_t m, size_t n, size_t k, float *row_sums) {
    if (m == 0) return;
    if (!pixelfly_body_available(body)) body = PIXELFLY_BODY_PORTABLE;
    if (body == PIXELFLY_BODY_AVX512) inner_products_f32_avx512(a, lda, b, ldb, c, ldc, m, n, k, row_sums);
    else if (body == PIXELFLY_BODY_AVX2) inner_products_f32_avx2(a, lda, b, ldb, c, ldc, m, n, k, row_sums);
    else inner_products_f32_portable(a, lda, b, ldb, c, ldc, m, n, k, row_sums);
}

#else

void pixelfly_inner_products_f32_body(int body, const float *a, size_t lda, const float *b, size_t ldb, float *c,
                                      size_t ldc, size_t m, size_t n, size_t k, float *row_sums) {
    (void)body;
    inner_products_f32_portable(a, lda, b, ldb, c, ldc, m, n, k, row_sums);
}

#endif

void pixelfly_inner_products_f32(const float *a, size_t lda, const float *b, size_t ldb, float *c, size_t ldc,
                                 size_t m, size_t n, size_t k, float *row_sums) {
    pixelfly_inner_products_f32_body(pixelfly_fastest_body(), a, lda, b, ldb, c, ldc, m, n, k, row_sums);
}

// Do the 24-row strips of the 768 × 3072 operator lose to the FMA latency on a CPU whose FMA takes
// 5 cycles (Zen 2) rather than 4 (Zen 3)?
// (notebooks-md/kernel-passes/22-zen2-hand-written-strip.md.)
//
// LIBXSMM's AVX2 batch-reduce kernel for a 24-row strip keeps 3 × 3 = 9 accumulators (3 vectors
// of output rows × 3 batch rows): enough for 2 FMA pipes × 4 cycles, one short of 2 × 5. A
// drop-in kernel with the same operands (weights packed h × b column-major per block, x read in
// place, C = the strip's rows of y) but 4 batch rows per step keeps 12. One thread; the variants
// alternate in one process, ROUNDS rounds after one untimed warm-up round that checks each
// against OpenBLAS's group GEMMs; mean and best GFLOP/s, and how often each beat variant 0:
//
//   0. LIBXSMM, 24-row strips (what the library runs under AVX2 at b = 48 on this operator);
//   1. the intrinsics kernel below, 24-row strips, 4 batch rows per step;
//   2. LIBXSMM, 48-row strips (32 + 16 rows: 12 and 6 accumulators);
//   3. the intrinsics kernel on 32-row strips of the 3072 × 768 operator's groups against
//      LIBXSMM's 32-row strips there (variant 0 on that shape): does 4 × 3 beat 3 × 4 too?
//
// Not part of the build. To run it (Debian's libxsmm-dev and libopenblas-dev):
//
//   gcc -O3 -march=native scripts/strip-kernel-experiment.c -o /tmp/strip-kernel-experiment
//       -lxsmm -lopenblas -lpthread -lm -ldl
//   /tmp/strip-kernel-experiment 9 1024
#include <cblas.h>
#include <immintrin.h>
#include <libxsmm.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gemm-experiment-harness.h"

/// One step of `strip_kernel`: COLS columns of C from the strip's blocks, VECTORS × 8 rows,
/// VECTORS × COLS accumulators in registers (the loops over them have constant bounds and unroll).
#define STRIP_STEP(VECTORS, COLS)                                                                          \
    static inline void strip_step_##VECTORS##x##COLS(int b, const float *a, const float *x, float *c, int ldb, int ldc, \
                                                    int blocks, const unsigned long long *a_offsets,      \
                                                    const unsigned long long *x_offsets) {                \
        __m256 acc[VECTORS][COLS];                                                                         \
        for (int j = 0; j < COLS; j++)                                                                     \
            for (int v = 0; v < VECTORS; v++) acc[v][j] = _mm256_setzero_ps();                             \
        for (int i = 0; i < blocks; i++) {                                                                 \
            const float *ai = (const float *)((const char *)a + a_offsets[i]);                            \
            const float *xi = (const float *)((const char *)x + x_offsets[i]);                            \
            for (int p = 0; p < b; p++, ai += 8 * VECTORS) {                                               \
                __m256 av[VECTORS];                                                                        \
                for (int v = 0; v < VECTORS; v++) av[v] = _mm256_load_ps(ai + 8 * v);                      \
                for (int j = 0; j < COLS; j++) {                                                           \
                    const __m256 s = _mm256_broadcast_ss(xi + (size_t)j * ldb + p);                        \
                    for (int v = 0; v < VECTORS; v++) acc[v][j] = _mm256_fmadd_ps(av[v], s, acc[v][j]);    \
                }                                                                                          \
            }                                                                                              \
        }                                                                                                  \
        for (int j = 0; j < COLS; j++)                                                                     \
            for (int v = 0; v < VECTORS; v++) _mm256_storeu_ps(c + (size_t)j * ldc + 8 * v, acc[v][j]);    \
    }
STRIP_STEP(3, 4)
STRIP_STEP(4, 3)
STRIP_STEP(3, 1)
STRIP_STEP(4, 1)

/// C (h × n, column-major, ldc) = Σ_i A_i (h × b, lda = h) · B_i (b × n, ldb), A_i at
/// a + a_offsets[i] bytes, B_i at x + x_offsets[i] bytes: LIBXSMM's reduce-batch-with-offsets
/// contract at α = 1, β = 0, for h = 24 or 32. Four (h = 24) or three (h = 32) columns of C per
/// step: 3 × 4 or 4 × 3 = 12 accumulators; then single columns.
static void strip_kernel(int h, int n, int b, const float *a, const float *x, float *c, int ldb, int ldc, int blocks,
                         const unsigned long long *a_offsets, const unsigned long long *x_offsets) {
    const int step = h == 24 ? 4 : 3;
    int t = 0;
    for (; t + step <= n; t += step) {
        const float *xt = x + (size_t)t * ldb;
        float *ct = c + (size_t)t * ldc;
        if (h == 24) strip_step_3x4(b, a, xt, ct, ldb, ldc, blocks, a_offsets, x_offsets);
        else strip_step_4x3(b, a, xt, ct, ldb, ldc, blocks, a_offsets, x_offsets);
    }
    for (; t < n; t++) {
        const float *xt = x + (size_t)t * ldb;
        float *ct = c + (size_t)t * ldc;
        if (h == 24) strip_step_3x1(b, a, xt, ct, ldb, ldc, blocks, a_offsets, x_offsets);
        else strip_step_4x1(b, a, xt, ct, ldb, ldc, blocks, a_offsets, x_offsets);
    }
}

/// y = x · Wᵀ over every group of `g`, chunk by chunk (576 batch rows), group by group, 64-row
/// tile by tile, strip by strip, as the library's forward runs them; `height` rows per strip,
/// on LIBXSMM (`reduce`, NULL for the intrinsics kernel).
static void run_groups(const GroupShape *g, int height, libxsmm_smmfunction_reducebatch_offs reduce, const float *w,
                       const float *x, float *y, int batch) {
    const int depth = g->run1 + g->run2, count = g->out / g->rows, tile = 64, chunk = 576;
    unsigned long long blocks = depth / g->block, weight_offsets[64], input_offsets[64];
    for (int c0 = 0; c0 < batch; c0 += chunk) {
        const int c1 = c0 + chunk < batch ? c0 + chunk : batch;
        for (int q = 0; q < count; q++) {
            const int column1 = group_first_column(g, q), column2 = group_second_column(g, q);
            for (unsigned long long i = 0; i < blocks; i++) {
                const int in_first = (int)i < g->run1 / g->block;
                const int j = in_first ? (int)i : (int)i - g->run1 / g->block;
                weight_offsets[i] = i * g->block * height * sizeof(float);
                input_offsets[i] = (unsigned long long)((in_first ? column1 : column2) + j * g->block) * sizeof(float);
            }
            const float *weights = w + (size_t)q * g->rows * depth;
            for (int t = c0; t < c1; t += tile) {
                const int n = c1 - t < tile ? c1 - t : tile;
                for (int strip = 0; strip < g->rows; strip += height) {
                    float *c = y + (size_t)t * g->out + q * g->rows + strip;
                    if (reduce && n == tile)
                        reduce(weights + (size_t)strip * depth, x + (size_t)t * g->in, c, &blocks, weight_offsets, input_offsets);
                    else
                        strip_kernel(height, n, g->block, weights + (size_t)strip * depth, x + (size_t)t * g->in, c, g->in, g->out,
                                     (int)blocks, weight_offsets, input_offsets);
                }
            }
        }
    }
}

/// The worst difference between y and OpenBLAS's group GEMMs on the same weights (a strip's
/// weights are its h × b blocks column-major, so W's group block is rebuilt from them).
static double check(const GroupShape *g, int height, const float *w, const float *x, const float *y, int batch) {
    const int depth = g->run1 + g->run2, count = g->out / g->rows;
    float *dense = malloc(sizeof(float) * g->rows * depth), *reference = malloc(sizeof(float) * batch * g->out);
    for (int q = 0; q < count; q++) {
        const float *weights = w + (size_t)q * g->rows * depth;
        for (int strip = 0; strip < g->rows; strip += height)
            for (int p = 0; p < depth; p++)  // block p / b, column p % b: at (p / b)·b·h + (p % b)·h + row
                for (int r = 0; r < height; r++)
                    dense[(size_t)(strip + r) * depth + p] = weights[(size_t)strip * depth + (size_t)(p / g->block) * g->block * height +
                                                                     (size_t)(p % g->block) * height + r];
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, g->rows, g->run1, 1, x + group_first_column(g, q), g->in,
                    dense, depth, 0, reference + q * g->rows, g->out);
        if (g->run2)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, g->rows, g->run2, 1, x + group_second_column(g, q), g->in,
                        dense + g->run1, depth, 1, reference + q * g->rows, g->out);
    }
    double worst = 0;
    for (size_t i = 0; i < (size_t)batch * g->out; i++) worst = fmax(worst, fabs(y[i] - reference[i]));
    free(dense), free(reference);
    return worst;
}

int main(int argc, char **argv) {
    const int rounds = argc > 1 ? atoi(argv[1]) : 9, batch = argc > 2 ? atoi(argv[2]) : 1024;
    openblas_set_num_threads(1);
    libxsmm_init();
    printf("OpenBLAS %s, LIBXSMM target %s, batch %d, %d rounds\n", openblas_get_corename(), libxsmm_get_target_arch(), batch,
           rounds);
    float *x = random_floats((size_t)batch * 4096), *y = random_floats((size_t)batch * 4096), *w = random_floats(4096 * 4096);
    const float one = 1, zero = 0;
    const int flags = LIBXSMM_GEMM_FLAGS('N', 'N'), tile = 64;
    // The 768 × 3072 operator (24-row strips) and the 3072 × 768 operator (32-row strips).
    const int shapes[] = {6, 7, 4, 5};
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        const GroupShape g = group_shapes[shapes[s]];
        const int heights[3] = {g.height, g.height, g.height == 24 ? 48 : g.height};
        const int variants = g.height == 24 ? 3 : 2;
        const double flops = 2.0 * batch * g.out * (g.run1 + g.run2);
        libxsmm_smmfunction_reducebatch_offs reduce[3];
        for (int v = 0; v < variants; v++) {
            const libxsmm_blasint lda = heights[v], ldb = g.in, ldc = g.out;
            reduce[v] = v == 1 ? NULL : libxsmm_smmdispatch_reducebatch_offs(heights[v], tile, g.block, &lda, &ldb, &ldc, &one, &zero,
                                                                             &flags, NULL);
        }
        Rate rate[3];
        memset(rate, 0, sizeof rate);
        int faster[3] = {0};
        for (int r = -1; r < rounds; r++) {
            double gflops[3];
            for (int v = 0; v < variants; v++) {
                const double start = now();
                run_groups(&g, heights[v], reduce[v], w, x, y, batch);
                gflops[v] = flops / (now() - start) / 1e9;
                if (r < 0) {
                    const double worst = check(&g, heights[v], w, x, y, batch);
                    if (worst > 1e-3) {
                        fprintf(stderr, "%s: variant %d differs from OpenBLAS by %g\n", g.name, v, worst);
                        return 1;
                    }
                } else {
                    record(&rate[v], gflops[v]);
                    faster[v] += v > 0 && gflops[v] > gflops[0];
                }
            }
        }
        printf("%-30s N %d, K %3d+%3d: LIBXSMM %d-row %5.1f (%5.1f)  intrinsics %d-row %5.1f (%5.1f), faster %d of %d", g.name, g.rows,
               g.run1, g.run2, g.height, rate[0].sum / rounds, rate[0].best, g.height, rate[1].sum / rounds, rate[1].best, faster[1],
               rounds);
        if (variants == 3)
            printf("  LIBXSMM 48-row %5.1f (%5.1f), faster %d of %d", rate[2].sum / rounds, rate[2].best, faster[2], rounds);
        printf(" GFLOP/s\n");
        fflush(stdout);
    }
    return 0;
}

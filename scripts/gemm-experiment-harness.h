// What scripts/gemm-library-experiment.c and scripts/blis-experiment.c share: a clock, operands,
// a rate record, and the flat block butterfly's row groups (B = 16, K = 2) that both time.
#ifndef GEMM_EXPERIMENT_HARNESS_H
#define GEMM_EXPERIMENT_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/// `count` floats in [-0.5, 0.5), 64-byte aligned.
static float *random_floats(size_t count) {
    float *p = aligned_alloc(64, (count * sizeof(float) + 63) / 64 * 64);
    for (size_t i = 0; i < count; i++) p[i] = (float)rand() / RAND_MAX - 0.5f;
    return p;
}

/// Sum (for the mean) and best of a variant's GFLOP/s over the timed rounds.
typedef struct {
    double sum, best;
} Rate;

static void record(Rate *r, double gflops) {
    r->sum += gflops;
    if (gflops > r->best) r->best = gflops;
}

/// A row-major product C (m × n) = op(A) · op(B), op given by 'N' or 'T'.
typedef struct {
    const char *name;
    char trans_a, trans_b;
    int m, n, k;
} DenseProduct;

/// OpenBLAS's sgemm for a row-major DenseProduct (the including file declares cblas_sgemm).
static void openblas_product(const DenseProduct *d, const float *a, int lda, const float *b, int ldb, float *c) {
    cblas_sgemm(CblasRowMajor, d->trans_a == 'N' ? CblasNoTrans : CblasTrans, d->trans_b == 'N' ? CblasNoTrans : CblasTrans,
                d->m, d->n, d->k, 1, a, lda, b, ldb, 0, c, d->n);
}

/// Each product on OpenBLAS and on `other` (the same row-major product, β = 0), alternating,
/// `rounds` rounds after an untimed warm-up round; prints mean (best) GFLOP/s of both and how
/// often `other` was faster.
static void compare_dense(const DenseProduct *products, size_t count, int rounds, const char *other_name,
                          void (*other)(const DenseProduct *, const float *, int, const float *, int, float *)) {
    float *a = random_floats(4096 * 4096), *b = random_floats(4096 * 4096), *c = random_floats(4096 * 4096);
    for (size_t p = 0; p < count; p++) {
        const DenseProduct *d = &products[p];
        // Row-major operands as stored: op(A) is m × k, op(B) k × n, C m × n.
        const int lda = d->trans_a == 'N' ? d->k : d->m, ldb = d->trans_b == 'N' ? d->n : d->k;
        const double flops = 2.0 * d->m * d->n * d->k;
        const int repetitions = (int)(2e9 / flops) + 1;
        Rate rate[2] = {{0, 0}, {0, 0}};
        int other_faster = 0;
        for (int r = -1; r < rounds; r++) {  // round -1 warms up (oneDNN generates its kernels on first use)
            double g[2];
            for (int v = 0; v < 2; v++) {
                const double start = now();
                for (int i = 0; i < repetitions; i++) (v == 0 ? openblas_product : other)(d, a, lda, b, ldb, c);
                g[v] = flops * repetitions / (now() - start) / 1e9;
                if (r >= 0) record(&rate[v], g[v]);
            }
            if (r >= 0) other_faster += g[1] > g[0];
        }
        printf("%-34s M %4d N %4d K %4d: OpenBLAS %5.1f (%5.1f)  %s %5.1f (%5.1f) GFLOP/s; %s faster %d of %d\n", d->name, d->m,
               d->n, d->k, rate[0].sum / rounds, rate[0].best, other_name, rate[1].sum / rounds, rate[1].best, other_name,
               other_faster, rounds);
        fflush(stdout);
    }
    free(a), free(b), free(c);
}

/// A flat block butterfly operator's row groups: rows that share their input columns, which lie
/// in one or two contiguous runs (`pixelfly-bench mask`).
typedef struct {
    const char *name;
    int in, out;         // the layer's input and output features (x is batch × in, y batch × out)
    int rows;            // rows per group (N)
    int run1, run2;      // the group's input columns: one or two contiguous runs (run2 = 0: one)
    int block, height;   // block size b and the LIBXSMM strip height (`BlockStripPlan` under AVX2)
} GroupShape;

static const GroupShape group_shapes[] = {
    {"4096 x 1024 operator, one run", 1024, 4096, 256, 192, 0, 32, 32},
    {"4096 x 1024 operator, two runs", 1024, 4096, 256, 128, 64, 32, 32},
    {"1024 x 4096 operator, one run", 4096, 1024, 64, 384, 0, 32, 32},
    {"1024 x 4096 operator, two runs", 4096, 1024, 64, 256, 128, 32, 32},
    {"3072 x 768 operator, one run", 768, 3072, 192, 144, 0, 48, 32},
    {"3072 x 768 operator, two runs", 768, 3072, 192, 96, 48, 48, 32},
    {"768 x 3072 operator, one run", 3072, 768, 48, 576, 0, 48, 24},
    {"768 x 3072 operator, two runs", 3072, 768, 48, 384, 192, 48, 24},
};

/// The input columns where group q's two runs start: spread over the input, as the mask's are.
static inline int group_first_column(const GroupShape *g, int q) { return (q * g->run1) % (g->in - g->run1 - g->run2); }
static inline int group_second_column(const GroupShape *g, int q) {
    return (group_first_column(g, q) + g->run1 + g->in / 4) % (g->in - g->run2 + 1);
}

#endif

// What scripts/gemm-library-experiment.c and scripts/blis-experiment.c share: a clock, operands,
// a rate record, and the flat block butterfly's row groups (B = 16, K = 2) that both time.
#ifndef GEMM_EXPERIMENT_HARNESS_H
#define GEMM_EXPERIMENT_HARNESS_H

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

/* The measurement behind GELU's AVX-512F body (notebooks-md/blocks.md, "GELU on AVX-512").
 *
 * GELU forward + backward of a 1024×3072 Float matrix (the Mixer's channel-MLP hidden layer
 * at batch 64) through the AVX2+FMA body and the AVX-512F body, alternated repetition by
 * repetition in one process; median of N each. One thread, then the library's 2-thread split
 * (the elements cut in two halves, as ComputeThreads.parallelRanges does; here a fresh pthread
 * per repetition, ≈ 0.05 ms, instead of the library's persistent worker).
 *
 *   clang -O2 -I Sources/CVectorKernels/include scripts/gelu-body-timing.c \
 *         Sources/CVectorKernels/gelu.c -lpthread -lm -o /tmp/gelu-body-timing
 *   flock /tmp/pixelfly-timing.lock /tmp/gelu-body-timing 201
 */
#include "CVectorKernels.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { ROWS = 1024, COLS = 3072, MAX_REPS = 1000 };
static float *x, *dy, *y, *dx;

typedef struct { int body; size_t begin, end; } Range;

static void *run(void *p) {
    Range *r = p;
    pixelfly_gelu_forward_f32_body(r->body, x + r->begin, y + r->begin, r->end - r->begin);
    pixelfly_gelu_backward_f32_body(r->body, x + r->begin, dy + r->begin, dx + r->begin, r->end - r->begin);
    return 0;
}

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

static double step(int body, int threads) {
    size_t n = (size_t)ROWS * COLS, half = n / 2;
    double start = now();
    if (threads == 1) {
        Range all = {body, 0, n};
        run(&all);
    } else {
        Range a = {body, 0, half}, b = {body, half, n};
        pthread_t worker;
        pthread_create(&worker, 0, run, &b);
        run(&a);
        pthread_join(worker, 0);
    }
    return now() - start;
}

static int ascending(const void *a, const void *b) {
    double d = *(const double *)a - *(const double *)b;
    return d < 0 ? -1 : d > 0;
}

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 41;
    if (reps < 1 || reps > MAX_REPS) { fprintf(stderr, "repetitions must be 1...%d\n", MAX_REPS); return 1; }
    if (!pixelfly_body_available(PIXELFLY_BODY_AVX512) || !pixelfly_body_available(PIXELFLY_BODY_AVX2)) {
        fprintf(stderr, "this CPU lacks AVX-512F or AVX2+FMA; nothing to compare\n");
        return 1;
    }
    size_t n = (size_t)ROWS * COLS;
    x = malloc(n * 4); dy = malloc(n * 4); y = malloc(n * 4); dx = malloc(n * 4);
    srand(1);
    for (size_t i = 0; i < n; i++) {
        x[i] = 3.0f * ((float)((double)rand() / RAND_MAX) * 2 - 1);
        dy[i] = (float)((double)rand() / RAND_MAX) * 2 - 1;
    }
    static double avx2[MAX_REPS], avx512[MAX_REPS];
    for (int threads = 1; threads <= 2; threads++) {
        for (int w = 0; w < 3; w++) { step(PIXELFLY_BODY_AVX2, threads); step(PIXELFLY_BODY_AVX512, threads); }
        for (int r = 0; r < reps; r++) {
            avx2[r] = step(PIXELFLY_BODY_AVX2, threads);
            avx512[r] = step(PIXELFLY_BODY_AVX512, threads);
        }
        qsort(avx2, reps, sizeof(double), ascending);
        qsort(avx512, reps, sizeof(double), ascending);
        printf("%d thread(s), %d×%d fwd+bwd: AVX2 median %.3f ms, AVX-512 median %.3f ms, AVX-512 / AVX2 %.3f\n",
               threads, ROWS, COLS, avx2[reps / 2] * 1e3, avx512[reps / 2] * 1e3, avx512[reps / 2] / avx2[reps / 2]);
    }
    return 0;
}

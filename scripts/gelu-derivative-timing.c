/* The measurement behind MLPBlock's kept GELU derivative (OutputEpilogue.geluKeepingDerivative
 * and .scale; notebooks-md/kernel-passes/24-product-by-product.md).
 *
 * One 64 × 3072 Float tile (a batch tile of the Mixer's channel-MLP hidden layer, the size of
 * the block-sparse epilogue's pieces), one thread, the fastest body this CPU has, each pass
 * alternated repetition by repetition; median ns per element of:
 *   forward              y = gelu(h)                      (fc1's epilogue, today's pair)
 *   backward             dx = dy ⊙ gelu′(h)               (fc2's input-gradient epilogue)
 *   forward, derivative  y = gelu(h), h ← gelu′(h)        (fc1's epilogue, the kept pair)
 *   scale                dx = dy ⊙ gelu′(h), gelu′ given  (fc2's input-gradient epilogue)
 *
 *   clang -O2 -I Sources/CVectorKernels/include scripts/gelu-derivative-timing.c \
 *         Sources/CVectorKernels/gelu.c -lm -o /tmp/gelu-derivative-timing
 *   /tmp/gelu-derivative-timing 201
 */
#include "CVectorKernels.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { ROWS = 64, COLS = 3072, N = ROWS * COLS, MAX_REPS = 1001 };

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static int ascending(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 201;
    if (reps < 1 || reps > MAX_REPS) reps = 201;
    int body = pixelfly_fastest_body();
    float *h = aligned_alloc(64, N * 4), *kept = aligned_alloc(64, N * 4), *y = aligned_alloc(64, N * 4);
    float *dy = aligned_alloc(64, N * 4), *dx = aligned_alloc(64, N * 4);
    for (int i = 0; i < N; i++) h[i] = (float)(i % 1000) / 250 - 2, dy[i] = (float)(i % 7) / 7 - 0.5f;
    static double times[4][MAX_REPS];
    for (int r = 0; r < reps; r++) {
        memcpy(kept, h, N * 4);
        memcpy(dx, dy, N * 4);
        double t0 = now();
        pixelfly_gelu_forward_rows_f32_body(body, h, y, ROWS, COLS, COLS);
        double t1 = now();
        pixelfly_gelu_backward_rows_f32_body(body, h, dx, dx, ROWS, COLS, COLS);
        double t2 = now();
        pixelfly_gelu_forward_derivative_rows_f32_body(body, kept, y, ROWS, COLS, COLS);
        double t3 = now();
        memcpy(dx, dy, N * 4);
        double t4 = now();
        pixelfly_scale_rows_f32_body(body, kept, dx, ROWS, COLS, COLS);
        double t5 = now();
        times[0][r] = t1 - t0, times[1][r] = t2 - t1, times[2][r] = t3 - t2, times[3][r] = t5 - t4;
    }
    const char *names[] = {"forward", "backward", "forward, derivative", "scale"};
    printf("body %d (0 portable, 1 AVX2+FMA, 2 AVX-512F), %d × %d, median of %d\n", body, ROWS, COLS, reps);
    for (int k = 0; k < 4; k++) {
        qsort(times[k], reps, sizeof(double), ascending);
        printf("%-20s %.3f ns per element\n", names[k], 1e9 * times[k][reps / 2] / N);
    }
    return 0;
}

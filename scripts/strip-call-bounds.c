// How fast can a strip call run, and what does writing its output in place cost?
// (notebooks-md/kernel-passes/28-strip-call-bounds.md.) One thread, Float. Not part of the build.
//
//   hot         : one strip call of the library's shape repeated on the same operands (weights,
//                 x rows and output all in L1/L2), best of 7 runs, GFLOP/s:
//                 m × n × k with `count` blocks, x rows `ldb` apart, output columns `ldc` apart,
//                 on LIBXSMM's batch-reduce kernel or the hand-written `pixelfly_strip24_f32`.
//   loop MODE   : the forward of the 768 → 3072 operator (3072 × 768, b = 48, 32-row strips of
//                 3 blocks, kept tile columns {i, i^1, i^2} of 16, groups of 7 strips) in the
//                 library's order (512-row chunks, group by group, 64-row tiles), batch 1024,
//                 LIBXSMM's kernel, mean and best of 9 runs. MODE 0: output into y in place
//                 (columns 3072 floats apart); 1: into one scratch tile per strip, never copied
//                 (a bound, the output is lost); 2: into a scratch of the group's width, copied
//                 to y row by row after each group's strips; 3: the same copy with non-temporal
//                 stores.
//   bias BODY   : the same forward as the AVX-512 families run it (48-row strips, one per block
//                 row, groups of a quarter of a 1 MB L2 = 9 strips, output in place), then the
//                 bias added over each (group, tile) unit's rows as the library does, through
//                 `pixelfly_add_bias_rows_f32_body` BODY (0 portable — SSE2 at the package's
//                 baseline ISA —, 1 AVX2, 2 AVX-512F; -1: no bias). Mean and best of 9 runs.
//                 (notebooks-md/kernel-passes/31-bias-pass-vector-width.md.)
//
//   clang -O2 -I Sources/CLibXSMM -I Sources/CVectorKernels/include scripts/strip-call-bounds.c \
//       Sources/CVectorKernels/strip24.c Sources/CVectorKernels/gelu.c Sources/CVectorKernels/rowbias.c -o /tmp/strip-call-bounds \
//       -lxsmm -lblas -lm -lpthread -ldl
//   /tmp/strip-call-bounds hot     # the library's strip shapes at 768 ↔ 3072 and 1024 ↔ 4096
//   /tmp/strip-call-bounds loop 0  # and 1, 2, 3
//   /tmp/strip-call-bounds bias 0  # and -1, 1, 2
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "CVectorKernels.h"
#include "shim.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static float *filled(long count, int period) {
    float *p = aligned_alloc(64, (size_t)(count * 4 + 4096));
    for (long i = 0; i < count; i++) p[i] = 1e-3f * (float)(i % period);
    return p;
}

/// One call repeated: best GFLOP/s of 7 runs of ~0.2 GFLOP each.
static void hot(int m, int n, int k, int count, int ldb, int ldc, int handWritten) {
    float *a = filled((long)m * k * count, 7), *b = filled((long)ldb * n, 5), *c = filled((long)ldc * n, 3);
    unsigned long long aOffsets[64], bOffsets[64];
    for (int i = 0; i < count; i++) {
        aOffsets[i] = 4ULL * i * m * k;
        bOffsets[i] = 4ULL * ((i * k * 3) % (ldb - k + 1));  // blocks spread along x's row
    }
    const void *kernel = handWritten ? NULL : pixelfly_xsmm_brgemm_offs(0, m, n, k, m, ldb, ldc);
    const long repetitions = 200000000L / ((long)m * n * k * count);
    double best = 0;
    for (int run = 0; run < 7; run++) {
        double t = now();
        for (long i = 0; i < repetitions; i++) {
            if (handWritten)
                pixelfly_strip24_f32(a, b, c, n, k, m, ldb, ldc, (unsigned long long)count, aOffsets, bOffsets, 0);
            else
                pixelfly_xsmm_brgemm_offs_run(0, kernel, a, b, c, (unsigned long long)count, aOffsets, bOffsets);
        }
        t = now() - t;
        const double gflops = 2.0 * m * n * k * count * repetitions / t / 1e9;
        if (gflops > best) best = gflops;
    }
    printf("%-12s m %2d n %d k %d × %2d blocks, ldb %4d, ldc %4d: %5.1f GFLOP/s\n", handWritten ? "hand-written" : "LIBXSMM", m,
           n, k, count, ldb, ldc, best);
    free(a), free(b), free(c);
}

__attribute__((target("avx2"))) static void streamRow(float *destination, const float *source, int count) {
    for (int i = 0; i < count; i += 8) _mm256_stream_ps(destination + i, _mm256_load_ps(source + i));
}

/// The byte offsets of the 768 → 3072 operator's m-row strips of 3 blocks of b: each strip's
/// packed blocks one after another, and its kept tile columns {i, i^1, i^2} of 16 (i = its tile row).
static void stripOffsets(int strips, int m, int b, unsigned long long *aOffsets, unsigned long long *bOffsets) {
    enum { count = 3 };
    for (int s = 0; s < strips; s++) {
        const int tileRow = s * m / 192, tileColumns[count] = {tileRow, tileRow ^ 1, tileRow ^ 2};
        for (int i = 0; i < count; i++) {
            aOffsets[s * count + i] = 4ULL * ((long)s * m * b * count + i * m * b);
            bOffsets[s * count + i] = 4ULL * tileColumns[i] * b;
        }
    }
}

static void loop(int mode) {
    enum { rows = 3072, cols = 768, b = 48, m = 32, count = 3, batch = 1024, tile = 64, chunk = 512, groupStrips = 7 };
    const int strips = rows / m, width = groupStrips * m;
    float *pack = filled((long)strips * m * b * count, 7), *x = filled((long)batch * cols, 5), *y = filled((long)batch * rows, 3);
    float *scratch = filled((long)tile * (mode == 1 ? m * strips : width), 3);
    unsigned long long *aOffsets = malloc(8L * strips * count), *bOffsets = malloc(8L * strips * count);
    stripOffsets(strips, m, b, aOffsets, bOffsets);
    const int ldc = mode == 0 ? rows : mode == 1 ? m : width;
    const void *kernel = pixelfly_xsmm_brgemm_offs(0, m, tile, b, m, cols, ldc);
    double best = 0, sum = 0;
    const int runs = 9;
    for (int run = 0; run < runs; run++) {
        double t = now();
        for (int first = 0; first < batch; first += chunk)
            for (int g = 0; g < strips; g += groupStrips)
                for (int t0 = first; t0 < first + chunk; t0 += tile) {
                    for (int s = g; s < g + groupStrips && s < strips; s++) {
                        float *c = mode == 0 ? y + (long)t0 * rows + s * m
                                 : mode == 1 ? scratch + (long)s * m * tile
                                             : scratch + (s - g) * m;
                        pixelfly_xsmm_brgemm_offs_run(0, kernel, pack, x + (long)t0 * cols, c, count, aOffsets + s * count,
                                                      bOffsets + s * count);
                    }
                    if (mode < 2) continue;
                    const int groupWidth = (g + groupStrips <= strips ? groupStrips : strips - g) * m;
                    for (int r = 0; r < tile; r++) {
                        float *destination = y + (long)(t0 + r) * rows + g * m;
                        if (mode == 2) memcpy(destination, scratch + r * width, 4L * groupWidth);
                        else streamRow(destination, scratch + r * width, groupWidth);
                    }
                }
        if (mode == 3) _mm_sfence();
        t = now() - t;
        const double gflops = 2.0 * batch * rows * b * count / t / 1e9;
        sum += gflops;
        if (gflops > best) best = gflops;
    }
    const char *names[] = {"y in place", "scratch per strip, never copied (bound)", "group scratch, rows copied",
                           "group scratch, rows streamed (non-temporal)"};
    printf("768 -> 3072 forward loop, %-44s mean %5.1f, best %5.1f GFLOP/s\n", names[mode], sum / runs, best);
}

/// The 768 → 3072 forward with 48-row strips and the bias pass after each unit (`bias BODY`).
static void biasLoop(int body) {
    enum { rows = 3072, cols = 768, b = 48, m = 48, count = 3, batch = 1024, tile = 64, chunk = 512, groupStrips = 9 };
    const int strips = rows / m;
    float *pack = filled((long)strips * m * b * count, 7), *x = filled((long)batch * cols, 5), *y = filled((long)batch * rows, 3);
    float *bias = filled(rows, 11);
    unsigned long long *aOffsets = malloc(8L * strips * count), *bOffsets = malloc(8L * strips * count);
    stripOffsets(strips, m, b, aOffsets, bOffsets);
    const void *kernel = pixelfly_xsmm_brgemm_offs(0, m, tile, b, m, cols, rows);
    double best = 0, sum = 0;
    const int runs = 9;
    for (int run = 0; run < runs; run++) {
        double t = now();
        for (int first = 0; first < batch; first += chunk)
            for (int g = 0; g < strips; g += groupStrips) {
                const int last = g + groupStrips <= strips ? g + groupStrips : strips;
                for (int t0 = first; t0 < first + chunk; t0 += tile) {
                    for (int s = g; s < last; s++)
                        pixelfly_xsmm_brgemm_offs_run(0, kernel, pack, x + (long)t0 * cols, y + (long)t0 * rows + s * m, count,
                                                      aOffsets + s * count, bOffsets + s * count);
                    if (body >= 0)
                        pixelfly_add_bias_rows_f32_body(body, y + (long)t0 * rows + g * m, bias + g * m, tile, (size_t)(last - g) * m,
                                                        rows);
                }
            }
        t = now() - t;
        const double gflops = 2.0 * batch * rows * b * count / t / 1e9;
        sum += gflops;
        if (gflops > best) best = gflops;
    }
    const char *names[] = {"no bias", "bias, portable body (SSE2)", "bias, AVX2 body", "bias, AVX-512F body"};
    printf("768 -> 3072 forward, 48-row strips, %-28s mean %5.1f, best %5.1f GFLOP/s\n", names[body + 1], sum / runs, best);
}

int main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "hot") == 0) {
        hot(32, 64, 48, 3, 768, 32, 0);     // 768 → 3072 forward strip, output in a tile
        hot(32, 64, 48, 3, 768, 3072, 0);   // the same, output columns as in y
        hot(32, 64, 32, 6, 1024, 4096, 0);  // 1024 → 4096 forward strip
        hot(24, 64, 48, 12, 3072, 768, 1);  // 3072 → 768 forward strip, hand-written kernel
        hot(24, 64, 48, 12, 3072, 768, 0);  // the same on LIBXSMM's 24-row code
        hot(32, 64, 65, 1, 65, 3072, 0);    // the rank-64 term with the folded bias, per 32-row strip
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "loop") == 0 && atoi(argv[2]) >= 0 && atoi(argv[2]) <= 3) {
        loop(atoi(argv[2]));
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "bias") == 0 && atoi(argv[2]) >= -1 && atoi(argv[2]) <= 2) {
        biasLoop(atoi(argv[2]));
        return 0;
    }
    fprintf(stderr, "usage: %s hot | loop MODE (MODE 0–3) | bias BODY (BODY -1–2), see the header\n", argv[0]);
    return 2;
}

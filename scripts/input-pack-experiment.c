/* How fast can the weight gradient's block-column copy of x go?
 * (notebooks-md/kernel-passes/26-backward-by-phase.md)
 *
 * `packInputChunk` copies each 128-row chunk of x (batch × cols, row-major) block column by block
 * column, b floats per row and column, with one memcpy per piece. This times three ways to make
 * the same copy of a whole batch, x evicted from the caches before every repetition:
 *   memcpy — as the library does (rows in groups of 16, one memcpy of b floats per piece);
 *   avx    — the same order, the pieces copied with inline 8-float loads and stores;
 *   rows   — row by row, each row's pieces written to every block column.
 * If the three run at the same speed, the copy is bound by memory, not by the calls.
 *
 *     gcc -O2 -o input-pack-experiment scripts/input-pack-experiment.c
 *     ./input-pack-experiment 3072 48     # columns, block size (batch 1024, 128-row chunks)
 */
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { batch = 1024, chunk = 128, rowGroup = 16, repetitions = 5, evictBytes = 64 << 20 };

static double seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* packed[c·rows + r·b + j] = x[r·cols + c + j]: block column c's rows contiguous. */
static void packWithMemcpy(const float *x, int rows, int cols, int b, float *packed) {
    for (int first = 0; first < rows; first += rowGroup) {
        int last = first + rowGroup < rows ? first + rowGroup : rows;
        for (int c = 0; c < cols; c += b)
            for (int r = first; r < last; r++)
                memcpy(packed + (size_t)c * rows + (size_t)r * b, x + (size_t)r * cols + c, (size_t)b * sizeof(float));
    }
}

__attribute__((target("avx2"))) static void packInline(const float *x, int rows, int cols, int b, float *packed) {
    for (int first = 0; first < rows; first += rowGroup) {
        int last = first + rowGroup < rows ? first + rowGroup : rows;
        for (int c = 0; c < cols; c += b)
            for (int r = first; r < last; r++) {
                const float *from = x + (size_t)r * cols + c;
                float *to = packed + (size_t)c * rows + (size_t)r * b;
                for (int j = 0; j < b; j += 8) _mm256_storeu_ps(to + j, _mm256_loadu_ps(from + j));
            }
    }
}

__attribute__((target("avx2"))) static void packRowByRow(const float *x, int rows, int cols, int b, float *packed) {
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c += b) {
            const float *from = x + (size_t)r * cols + c;
            float *to = packed + (size_t)c * rows + (size_t)r * b;
            for (int j = 0; j < b; j += 8) _mm256_storeu_ps(to + j, _mm256_loadu_ps(from + j));
        }
}

int main(int argc, char **argv) {
    int cols = argc > 1 ? atoi(argv[1]) : 3072, b = argc > 2 ? atoi(argv[2]) : 48;
    if (cols <= 0 || b <= 0 || b % 8 != 0 || cols % b != 0) {
        fprintf(stderr, "usage: %s COLUMNS BLOCK (BLOCK a multiple of 8 that divides COLUMNS)\n", argv[0]);
        return 1;
    }
    float *x = aligned_alloc(64, (size_t)batch * cols * sizeof(float));
    float *packed = aligned_alloc(64, (size_t)chunk * cols * sizeof(float));
    float *check = aligned_alloc(64, (size_t)chunk * cols * sizeof(float));
    char *evict = aligned_alloc(64, evictBytes);
    for (size_t i = 0; i < (size_t)batch * cols; i++) x[i] = (float)(i % 97);
    const char *names[] = {"memcpy", "avx   ", "rows  "};
    void (*variants[])(const float *, int, int, int, float *) = {packWithMemcpy, packInline, packRowByRow};
    packWithMemcpy(x, chunk, cols, b, check);
    for (int v = 1; v < 3; v++) {
        variants[v](x, chunk, cols, b, packed);
        if (memcmp(packed, check, (size_t)chunk * cols * sizeof(float)) != 0) {
            fprintf(stderr, "%s: copy differs from memcpy's\n", names[v]);
            return 1;
        }
    }
    printf("batch %d, %d columns, b = %d, %d-row chunks; ms per batch (GB/s of x read)\n", batch, cols, b, chunk);
    for (int round = 0; round < 3; round++)
        for (int v = 0; v < 3; v++) {
            double total = 0;
            for (int repetition = 0; repetition < repetitions; repetition++) {
                memset(evict, repetition, evictBytes);
                double start = seconds();
                for (int row = 0; row < batch; row += chunk) variants[v](x + (size_t)row * cols, chunk, cols, b, packed);
                total += seconds() - start;
            }
            double mean = total / repetitions;
            printf("%s %.3f ms (%.1f GB/s)\n", names[v], mean * 1e3, (double)batch * cols * sizeof(float) / mean / 1e9);
        }
    return 0;
}

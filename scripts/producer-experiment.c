/* Why do a Pixelfly layer's producers (h = x·Vᵀ, dh = dy·U) take 1.2–1.5× the block-sparse
 * strips' perf samples per FLOP? (notebooks-md/kernel-passes/27-flop-floor.md)
 *
 * The library runs a producer per 64-row batch tile as LIBXSMM calls hᵀ (r × 64) = factor
 * (r × K, ld r) · tileᵀ (K × 64, ld K), in depth chunks of at most 1024 (`ProducerKernels`).
 * This times, for a batch of 1024 rows and r = 64, on one thread:
 *   whole      — as the library does;
 *   512, 256   — the same with depth chunks of at most 512 or 256;
 *   N × D      — the tile cut into N-column subtiles and depth slices of D, so that the factor's
 *                slice stays in L1 across a subtile;
 *   touch      — the tile read once, in order, before the whole-chunk calls;
 *   prefetch   — the next tile prefetched into L2 before each tile's calls;
 * each in three cache states: hot (the previous variant just ran on the same operands), cold
 * (a 128 MB read between runs) and warmed (cold, then one untimed run of the same variant).
 *
 *     gcc -O2 -march=native -o producer-experiment scripts/producer-experiment.c -lxsmm -lopenblas -lm -lpthread -ldl
 *     ./producer-experiment 1024     # K: the layer's input features (h) or output features (dh)
 */
#include <cblas.h>
#include <immintrin.h>

#include "../Sources/CLibXSMM/shim.h"
#include "gemm-experiment-harness.h"

enum { batch = 1024, tile = 64, rank = 64, maximumDepth = 1024, rounds = 6 };
enum { sweepFloats = 32 << 20 };

static int depth;
static float *factor, *input, *output, *sweep;
static volatile float sink;

typedef struct {
    const char *name;
    int columns, slice;  /* subtile width and depth slice (tile and maximumDepth for the library's way) */
    int touch, prefetch;
    const void *kernels[2][2]; /* [β = 1][last, narrower subtile] */
} Variant;

static void readInOrder(const float *p, size_t floats) {
    __m256 sum = _mm256_setzero_ps();
    for (size_t i = 0; i < floats; i += 16) sum = _mm256_add_ps(sum, _mm256_load_ps(p + i));
    float lanes[8];
    _mm256_storeu_ps(lanes, sum);
    sink += lanes[0];
}

static void prefetchTile(const float *p) {
    for (size_t i = 0; i < (size_t)tile * depth; i += 16) _mm_prefetch((const char *)(p + i), _MM_HINT_T1);
}

static void run(const Variant *v) {
    for (int t = 0; t < batch / tile; t++) {
        const float *rows = input + (size_t)t * tile * depth;
        if (v->touch) readInOrder(rows, (size_t)tile * depth);
        if (v->prefetch && t + 1 < batch / tile) prefetchTile(rows + (size_t)tile * depth);
        for (int n = 0; n < tile; n += v->columns) {
            const int last = n + v->columns > tile;
            for (int d = 0; d < depth; d += v->slice)
                pixelfly_xsmm_gemm_run(0, v->kernels[d > 0][last], factor + (size_t)d * rank, rows + (size_t)n * depth + d,
                                       output + (size_t)(t * tile + n) * rank);
        }
    }
}

static void evict(void) { readInOrder(sweep, sweepFloats); }

int main(int argc, char **argv) {
    depth = argc > 1 ? atoi(argv[1]) : 1024;
    /* Every variant's depth chunk must divide K: a multiple of 128 up to 1024, of 1024 above. */
    if (depth <= 0 || depth % 128 != 0 || (depth > maximumDepth && depth % maximumDepth != 0)) {
        fprintf(stderr, "usage: %s K, with K a multiple of 128 up to 1024 or a multiple of 1024 above (got %s)\n", argv[0],
                argc > 1 ? argv[1] : "nothing");
        return 2;
    }
    factor = random_floats((size_t)rank * depth);
    input = random_floats((size_t)batch * depth);
    output = random_floats((size_t)batch * rank);
    sweep = random_floats(sweepFloats);
    const int chunk = depth < maximumDepth ? depth : maximumDepth;
    const int half = chunk < 512 ? chunk : 512, quarter = chunk < 256 ? chunk : 256;
    Variant variants[] = {
        {"whole", tile, chunk, 0, 0},  {"512", tile, half, 0, 0},     {"256", tile, quarter, 0, 0},
        {"64 × 64", 64, 64, 0, 0},     {"24 × 128", 24, 128, 0, 0},   {"32 × 128", 32, 128, 0, 0},
        {"touch", tile, chunk, 1, 0},  {"prefetch", tile, chunk, 0, 1},
    };
    const int count = sizeof variants / sizeof variants[0];
    for (int i = 0; i < count; i++) {
        Variant *v = &variants[i];
        for (int beta = 0; beta < 2; beta++)
            for (int last = 0; last < 2; last++) {
                const int columns = last && tile % v->columns ? tile % v->columns : v->columns;
                v->kernels[beta][last] = pixelfly_xsmm_gemm(0, rank, columns, v->slice, rank, depth, rank, 0, beta);
                if (!v->kernels[beta][last]) {
                    fprintf(stderr, "LIBXSMM could not generate a kernel for %s\n", v->name);
                    return 1;
                }
            }
    }
    const char *states[] = {"hot", "cold", "warmed"};
    const double flops = 2.0 * batch * rank * depth;
    for (int state = 0; state < 3; state++) {
        Rate rate[sizeof variants / sizeof variants[0]] = {{0, 0}};
        for (int round = -1; round < rounds; round++)
            for (int i = 0; i < count; i++) {
                if (state > 0) evict();
                if (state == 2) run(&variants[i]);
                const double start = now();
                run(&variants[i]);
                const double seconds = now() - start;
                if (round >= 0) record(&rate[i], flops / seconds * 1e-9);
            }
        printf("K %d, %-6s GFLOP/s mean (best) of %d:", depth, states[state], rounds);
        for (int i = 0; i < count; i++) printf("  %s %.1f (%.1f)", variants[i].name, rate[i].sum / rounds, rate[i].best);
        printf("\n");
    }
    return 0;
}

// Forward strips of a flat block butterfly layer on LIBXSMM batch-reduce kernels, one thread,
// batch 1024 in tiles of 64, strip groups of 128 KB over the tiles (the order of
// `BlockSparseXSMMKernel.apply`), with the packed weights starting on a 64-byte boundary or
// OFFSET bytes past one. The two are timed alternately in one process (31 rounds, median and
// best GFLOP/s). Before `AlignedPack` the library's packs were Swift arrays, whose elements
// start at any multiple of 16 bytes (notebooks-md/kernel-families.md, "Seventeenth pass").
//
// The mask is a 16 × 16 butterfly pattern with entries {i, i ^ 1, i ^ 2} stretched to the
// shape, as in strip-group-experiment.c; strips are HEIGHT rows (a multiple of b dividing the
// rows of one mask entry). Build and run:
//
//   gcc -O2 scripts/strip-alignment-experiment.c -o /tmp/strip-alignment -lxsmm -lpthread -lm -ldl $(pkg-config --libs openblas)
//   for shape in "768 3072 48 192" "3072 768 48 192" "1024 4096 32 32" "4096 1024 32 32"; do
//       /tmp/strip-alignment $shape 48; done
#include <libxsmm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int ascending(const void *a, const void *b) {
    double d = *(const double *)a - *(const double *)b;
    return d < 0 ? -1 : d > 0;
}

int main(int argc, char **argv) {
    if (argc < 6) {
        fprintf(stderr, "usage: %s IN OUT B HEIGHT OFFSET_BYTES\n", argv[0]);
        return 1;
    }
    const int in = atoi(argv[1]), out = atoi(argv[2]), b = atoi(argv[3]), h = atoi(argv[4]), offset = atoi(argv[5]);
    const int batch = 1024, tile = 64, entries = 16, rounds = 31;
    const long group_bytes = 128 * 1024;
    const int entry_rows = out / entries, entry_cols = in / entries;
    if (h % b != 0 || entry_rows % h != 0 || offset % 4 != 0) {
        fprintf(stderr, "HEIGHT must be a multiple of b dividing %d rows; OFFSET a multiple of 4\n", entry_rows);
        return 1;
    }
    const int strips = out / h, per_strip = 3 * (entry_cols / b);
    const size_t strip_weights = (size_t)h * b * per_strip, weights = strip_weights * strips;
    float *x = aligned_alloc(64, (size_t)batch * in * 4), *y = aligned_alloc(64, (size_t)batch * out * 4);
    float *storage = aligned_alloc(64, weights * 4 + 64);
    float *const packs[2] = {storage, storage + offset / 4};
    for (size_t i = 0; i < (size_t)batch * in; i++) x[i] = (i % 7) * 0.1f;
    for (size_t i = 0; i < weights + 16; i++) storage[i] = 0.01f * (i % 5);
    memset(y, 0, (size_t)batch * out * 4);
    unsigned long long *a_offsets = malloc(8 * (size_t)strips * per_strip), *b_offsets = malloc(8 * (size_t)strips * per_strip);
    for (int s = 0; s < strips; s++) {
        const int row = (s * h) / entry_rows, kept[3] = {row, row ^ 1, row ^ 2};
        int n = 0;
        for (int e = 0; e < 3; e++)
            for (int q = 0; q < entry_cols / b; q++, n++) {
                a_offsets[s * per_strip + n] = (unsigned long long)n * h * b * 4;
                b_offsets[s * per_strip + n] = (unsigned long long)(kept[e] * entry_cols + q * b) * 4;
            }
    }
    const libxsmm_blasint lda = h, ldb = in, ldc = out;
    const float one = 1, zero = 0;
    const int flags = LIBXSMM_GEMM_FLAG_NONE, prefetch = LIBXSMM_GEMM_PREFETCH_NONE;
    libxsmm_smmfunction_reducebatch_offs kernel =
        libxsmm_smmdispatch_reducebatch_offs(h, tile, b, &lda, &ldb, &ldc, &one, &zero, &flags, &prefetch);
    if (!kernel) {
        fprintf(stderr, "LIBXSMM generated no kernel for %d x %d x %d\n", h, tile, b);
        return 1;
    }
    unsigned long long count = per_strip;
    int group = (int)(group_bytes / (long)(strip_weights * 4));
    if (group < 1) group = 1;
    double seconds[2][31];
    for (int round = 0; round < rounds; round++) {
        for (int v = 0; v < 2; v++) {
            const double start = now();
            for (int g = 0; g < strips; g += group)
                for (int r0 = 0; r0 < batch; r0 += tile)
                    for (int s = g; s < g + group && s < strips; s++)
                        kernel(packs[v] + s * strip_weights, x + (size_t)r0 * in, y + (size_t)r0 * out + (size_t)s * h,
                               &count, a_offsets + s * per_strip, b_offsets + s * per_strip);
            seconds[v][round] = now() - start;
        }
    }
    const double flops = 2.0 * batch * (double)weights;
    for (int v = 0; v < 2; v++) {
        qsort(seconds[v], rounds, sizeof(double), ascending);
        printf("%d -> %d, b %d, strips of %d rows x %d blocks, LIBXSMM %s, pack %2d bytes past a line: median %.1f, best %.1f GFLOP/s\n",
               in, out, b, h, per_strip, libxsmm_get_target_arch(), v ? offset : 0, flops / seconds[v][rounds / 2] * 1e-9,
               flops / seconds[v][0] * 1e-9);
    }
    return 0;
}

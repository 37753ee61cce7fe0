// Forward strips of a flat block butterfly layer on LIBXSMM batch-reduce kernels, one thread,
// batch 1024 in tiles of 64, in two variants timed alternately in one process (31 rounds,
// median and best GFLOP/s): the old order (every strip for one tile, then the next tile) against
// a variant (notebooks-md/kernel-passes/10-strip-groups.md):
//
//   variant 1: strip groups of about GROUP_BYTES packed weights, each group over all tiles
//              before the next (what `BlockSparseXSMMKernel.apply` does now)
//   variant 2: tile order, with the next strip's output rows prefetched before each call
//   variant 3: tile order, output stored with LIBXSMM's non-temporal hint
//   variant 4: strip groups in both, the packed weights on a 64-byte line against OFFSET bytes
//              past one (notebooks-md/kernel-passes/17-weights-on-cache-lines.md: the
//              library's packs were Swift arrays, which start at any multiple of 16 bytes,
//              until `AlignedPack`)
//   variant 5: strip groups in both, each strip in one batch-reduce call against calls of
//              K_CHUNK blocks (environment, default 3), the first with β = 0 and the rest β = 1
//              (notebooks-md/kernel-passes/19-zen3-24-row-strips.md)
//
// The mask is a 16 × 16 butterfly pattern with entries {i, i ^ 1, i ^ 2} stretched to the
// shape; strips are the tallest multiple of b (≤ 128) inside one mask entry's rows, as in
// `BlockStripPlan`, or HEIGHT rows (any divisor of an entry's rows) when given. Build and run:
//
//   gcc -O2 scripts/strip-group-experiment.c -o /tmp/strip-groups -lxsmm -lpthread -lm -ldl $(pkg-config --libs openblas)
//   for shape in "768 3072 48" "3072 768 48" "1024 4096 32" "4096 1024 32"; do
//       /tmp/strip-groups $shape 1 524288; done
//   for shape in "768 3072 48 192" "3072 768 48 48" "1024 4096 32 32" "4096 1024 32 32"; do
//       set -- $shape; /tmp/strip-groups $1 $2 $3 4 131072 $4 48; done
#include <immintrin.h>
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

static void prefetch_rows(const float *c, int rows, int ld, int h) {
    for (int r = 0; r < rows; r++)
        for (int o = 0; o < h; o += 16) _mm_prefetch((const char *)(c + (size_t)r * ld + o), _MM_HINT_T0);
}

int main(int argc, char **argv) {
    if (argc < 6) {
        fprintf(stderr, "usage: %s IN OUT B VARIANT GROUP_BYTES [HEIGHT [OFFSET_BYTES]]\n", argv[0]);
        return 1;
    }
    const int in = atoi(argv[1]), out = atoi(argv[2]), b = atoi(argv[3]), variant = atoi(argv[4]);
    const long group_bytes = atol(argv[5]);
    const int batch = 1024, tile = 64, entries = 16, rounds = 31;
    const int entry_rows = out / entries, entry_cols = in / entries;
    int h = b;
    for (int c = b; c <= 128 && c <= entry_rows; c += b)
        if (entry_rows % c == 0) h = c;
    if (argc > 6) h = atoi(argv[6]);
    const int offset = argc > 7 ? atoi(argv[7]) : 48;
    if (entry_rows % h != 0 || offset % 4 != 0) {
        fprintf(stderr, "HEIGHT must divide %d rows; OFFSET a multiple of 4\n", entry_rows);
        return 1;
    }
    const int strips = out / h, per_strip = 3 * (entry_cols / b);
    const size_t strip_weights = (size_t)h * b * per_strip, weights = strip_weights * strips;
    float *x = aligned_alloc(64, (size_t)batch * in * 4), *y = aligned_alloc(64, (size_t)batch * out * 4);
    float *storage = aligned_alloc(64, weights * 4 + 64);
    float *const w = storage, *const offset_w = storage + offset / 4;
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
    const int plain = LIBXSMM_GEMM_FLAG_NONE, streaming = LIBXSMM_GEMM_FLAG_ALIGN_C_NTS_HINT, prefetch = LIBXSMM_GEMM_PREFETCH_NONE;
    libxsmm_smmfunction_reducebatch_offs kernel =
        libxsmm_smmdispatch_reducebatch_offs(h, tile, b, &lda, &ldb, &ldc, &one, &zero, &plain, &prefetch);
    libxsmm_smmfunction_reducebatch_offs kernel_nts =
        libxsmm_smmdispatch_reducebatch_offs(h, tile, b, &lda, &ldb, &ldc, &one, &zero, &streaming, &prefetch);
    libxsmm_smmfunction_reducebatch_offs kernel_acc =
        libxsmm_smmdispatch_reducebatch_offs(h, tile, b, &lda, &ldb, &ldc, &one, &one, &plain, &prefetch);
    const int k_chunk = getenv("K_CHUNK") ? atoi(getenv("K_CHUNK")) : 3;
    if (!kernel || !kernel_nts || !kernel_acc) {
        fprintf(stderr, "LIBXSMM generated no kernel for %d x %d x %d\n", h, tile, b);
        return 1;
    }
    unsigned long long count = per_strip;
    int group = (int)(group_bytes / (long)(strip_weights * 4));
    if (group < 1) group = 1;
#define CALL_ON(k, pack, s, r0) k((pack) + (s) * strip_weights, x + (size_t)(r0) * in, y + (size_t)(r0) * out + (size_t)(s) * h, \
                         &count, a_offsets + (s) * per_strip, b_offsets + (s) * per_strip)
#define CALL(k, s, r0) CALL_ON(k, w, s, r0)
    double seconds[2][31];
    for (int round = 0; round < rounds; round++) {
        for (int v = 0; v < 2; v++) {
            const double start = now();
            if (variant == 5 && v == 1) {
                for (int g = 0; g < strips; g += group)
                    for (int r0 = 0; r0 < batch; r0 += tile)
                        for (int s = g; s < g + group && s < strips; s++)
                            for (int c0 = 0; c0 < per_strip; c0 += k_chunk) {
                                unsigned long long part = per_strip - c0 < k_chunk ? per_strip - c0 : k_chunk;
                                (c0 ? kernel_acc : kernel)(w + s * strip_weights, x + (size_t)r0 * in, y + (size_t)r0 * out + (size_t)s * h,
                                    &part, a_offsets + s * per_strip + c0, b_offsets + s * per_strip + c0);
                            }
            } else if (variant == 4 || variant == 5) {
                for (int g = 0; g < strips; g += group)
                    for (int r0 = 0; r0 < batch; r0 += tile)
                        for (int s = g; s < g + group && s < strips; s++) CALL_ON(kernel, v ? offset_w : w, s, r0);
            } else if (v == 0) {
                for (int r0 = 0; r0 < batch; r0 += tile)
                    for (int s = 0; s < strips; s++) CALL(kernel, s, r0);
            } else if (variant == 1) {
                for (int g = 0; g < strips; g += group)
                    for (int r0 = 0; r0 < batch; r0 += tile)
                        for (int s = g; s < g + group && s < strips; s++) CALL(kernel, s, r0);
            } else if (variant == 2) {
                for (int r0 = 0; r0 < batch; r0 += tile)
                    for (int s = 0; s < strips; s++) {
                        if (s + 1 < strips) prefetch_rows(y + (size_t)r0 * out + (size_t)(s + 1) * h, tile, out, h);
                        else if (r0 + tile < batch) prefetch_rows(y + (size_t)(r0 + tile) * out, tile, out, h);
                        CALL(kernel, s, r0);
                    }
            } else {
                for (int r0 = 0; r0 < batch; r0 += tile)
                    for (int s = 0; s < strips; s++) CALL(kernel_nts, s, r0);
            }
            seconds[v][round] = now() - start;
        }
    }
    const double flops = 2.0 * batch * (double)weights;
    const char *names[4] = {"tile order", "strip groups", "prefetch next output", "non-temporal output"};
    for (int v = 0; v < 2; v++) {
        qsort(seconds[v], rounds, sizeof(double), ascending);
        char label[64];
        if (variant == 5) snprintf(label, sizeof label, v ? "groups, blocks in calls of %d" : "groups, whole strips", k_chunk);
        else if (variant == 4) snprintf(label, sizeof label, "groups, pack %d bytes past a line", v ? offset : 0);
        else if (v && variant == 1) snprintf(label, sizeof label, "groups of %d strips (%ld KB)", group, (long)(group * strip_weights * 4 / 1024));
        else snprintf(label, sizeof label, "%s", names[v ? variant : 0]);
        printf("%d -> %d, b %d, strips of %d rows x %d blocks, %-30s median %.1f, best %.1f GFLOP/s\n", in, out, b, h, per_strip,
               label, flops / seconds[v][rounds / 2] * 1e-9, flops / seconds[v][0] * 1e-9);
    }
    return 0;
}

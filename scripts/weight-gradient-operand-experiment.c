// The block-sparse weight gradient of one layer on LIBXSMM, with its operands arranged three ways
// (notebooks-md/kernel-passes/33-the-gap-by-part.md):
//
//   dW[o-block, c-block] += dy[:, o-block]ᵀ · x[:, c-block] over a batch of 1024 rows,
//   b × b blocks, about 19 % of the block columns kept in every block row (the flat butterfly's
//   share), 256-row batch chunks.
//
// layout "copy"    (the library at 3072 and 4096 features): each chunk of x copied block column by
//                  block column (16-row groups, a memcpy per piece); dy's block row transposed
//                  (libxsmm_otrans); C (b × b, column-major) = x block (lda = b) · dyᵀ block.
// layout "inplace" (the library at 768 and 1024 features): the same, x read in place (lda = in).
// layout "dyvector": dy in place as the vector operand (lda = out), x in place through LIBXSMM's
//                  Bᵀ flag (ldb = in), no copy and no transposes; C = dWᵀ blocks in a scratch,
//                  transposed into dW once at the end.
//
// Before each repetition a 96 MB buffer is written (x goes to memory, as in training) and dy is
// read once (the input gradient has just read it). With `prefetch` set, every kernel call of a
// chunk first prefetches its share of the next chunk's x into L2 (_MM_HINT_T1).
//
//   gcc -O2 scripts/weight-gradient-operand-experiment.c -o /tmp/wgo -lxsmm -lpthread -lm -ldl $(pkg-config --libs openblas)
//   /tmp/wgo 3072 768 48 copy; /tmp/wgo 3072 768 48 inplace; /tmp/wgo 3072 768 48 dyvector
//   /tmp/wgo 4096 1024 32 copy prefetch
#include <libxsmm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { BATCH = 1024, CHUNK = 256, ROW_GROUP = 16, REPETITIONS = 11 };

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: %s IN OUT BLOCK copy|inplace|dyvector [prefetch]\n", argv[0]);
        return 1;
    }
    const int in = atoi(argv[1]), out = atoi(argv[2]), b = atoi(argv[3]);
    const int copy = !strcmp(argv[4], "copy"), dyVector = !strcmp(argv[4], "dyvector");
    const int prefetch = argc > 5 && !strcmp(argv[5], "prefetch");
    const int blockRows = out / b, blockCols = in / b;
    int perRow = (int)(0.19 * blockCols + 0.5);
    if (perRow < 1) perRow = 1;
    const int blocks = blockRows * perRow;
    int *column = malloc(blocks * sizeof(int));
    for (int r = 0; r < blockRows; r++)
        for (int j = 0; j < perRow; j++) column[r * perRow + j] = (r * 7 + j * (blockCols / perRow)) % blockCols;

    float *x = aligned_alloc(64, (size_t)BATCH * in * 4), *dy = aligned_alloc(64, (size_t)BATCH * out * 4);
    float *gradient = aligned_alloc(64, (size_t)blocks * b * b * 4), *scratch = aligned_alloc(64, (size_t)blocks * b * b * 4);
    float *packed = aligned_alloc(64, (size_t)CHUNK * in * 4), *transposed = aligned_alloc(64, (size_t)CHUNK * b * 4);
    const size_t flushBytes = (size_t)96 << 20;
    char *flush = malloc(flushBytes);
    for (size_t i = 0; i < (size_t)BATCH * in; i++) x[i] = (i % 7) * 0.1f;
    for (size_t i = 0; i < (size_t)BATCH * out; i++) dy[i] = (i % 5) * 0.01f;
    memset(gradient, 0, (size_t)blocks * b * b * 4);

    const float alpha = 1, beta = 1;
    libxsmm_blasint lda = dyVector ? out : (copy ? b : in), ldb = dyVector ? in : CHUNK, ldc = b;
    const int flags = dyVector ? LIBXSMM_GEMM_FLAG_TRANS_B : LIBXSMM_GEMM_FLAG_NONE;
    libxsmm_smmfunction kernel = libxsmm_smmdispatch(b, b, CHUNK, &lda, &ldb, &ldc, &alpha, &beta, &flags, NULL);
    if (!kernel) {
        fprintf(stderr, "LIBXSMM has no kernel for this shape\n");
        return 1;
    }

    double best = 1e9, total = 0;
    for (int rep = 0; rep < REPETITIONS; rep++) {
        memset(flush, rep, flushBytes);
        volatile float touch = 0;
        for (size_t i = 0; i < (size_t)BATCH * out; i += 16) touch += dy[i];
        const double start = now();
        if (dyVector) memset(scratch, 0, (size_t)blocks * b * b * 4);
        for (int first = 0; first < BATCH; first += CHUNK) {
            const float *xChunk = x + (size_t)first * in, *dyChunk = dy + (size_t)first * out;
            if (copy)
                for (int group = 0; group < CHUNK; group += ROW_GROUP)
                    for (int c = 0; c < in; c += b)
                        for (int r = group; r < group + ROW_GROUP; r++)
                            memcpy(packed + (size_t)c * CHUNK + r * b, xChunk + (size_t)r * in + c, b * 4);
            const size_t nextLines = (size_t)CHUNK * in / 16, linesPerCall = (nextLines + blocks - 1) / blocks;
            for (int row = 0; row < blockRows; row++) {
                if (!dyVector) libxsmm_otrans(transposed, dyChunk + row * b, 4, b, CHUNK, out, CHUNK);
                for (int j = 0; j < perRow; j++) {
                    const int i = row * perRow + j, c = column[i];
                    if (prefetch && first + CHUNK < BATCH) {
                        const char *next = (const char *)(xChunk + (size_t)CHUNK * in);
                        for (size_t line = i * linesPerCall; line < (i + 1) * linesPerCall && line < nextLines; line++)
                            __builtin_prefetch(next + line * 64, 0, 2);
                    }
                    if (dyVector) kernel(dyChunk + row * b, xChunk + c * b, scratch + (size_t)i * b * b);
                    else kernel(copy ? packed + (size_t)c * CHUNK : xChunk + c * b, transposed, gradient + (size_t)i * b * b);
                }
            }
        }
        if (dyVector)
            for (int i = 0; i < blocks; i++)
                for (int c = 0; c < b; c++)
                    for (int o = 0; o < b; o++) gradient[(size_t)i * b * b + o * b + c] += scratch[(size_t)i * b * b + c * b + o];
        const double elapsed = now() - start;
        if (rep > 0) {  // the first repetition dispatches and faults pages in
            if (elapsed < best) best = elapsed;
            total += elapsed;
        }
    }
    const double flops = 2.0 * b * b * (double)BATCH * blocks;
    printf("%4d -> %4d, b = %d, %-8s%s: best %.3f ms, mean %.3f ms, %.1f GFLOP/s at best\n", in, out, b, argv[4],
           prefetch ? " +prefetch" : "", best * 1e3, total / (REPETITIONS - 1) * 1e3, flops / best * 1e-9);
    return 0;
}

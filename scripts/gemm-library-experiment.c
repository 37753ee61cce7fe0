// Is oneDNN's sgemm a faster backend than OpenBLAS or LIBXSMM for the products of a Pixelfly
// layer on this CPU? (notebooks-md/kernel-passes/20-onednn-and-prefetch.md.) One thread; each
// configuration's variants alternate in one process, ROUNDS rounds after one untimed warm-up
// round, mean and best GFLOP/s.
//
//   dense   row-major products of the dense layers and of the rank-r term at batch 1024:
//           OpenBLAS cblas_sgemm against oneDNN dnnl_sgemm.
//   groups  the block-sparse forward as group GEMMs: a flat block butterfly operator (B = 16,
//           K = 2) is a set of row groups whose rows share their input columns, in one or two
//           contiguous runs (`pixelfly-bench mask`): N rows × K columns per group, on x in place
//           (lda = input width, ldc = output width), the second run with β = 1. Four variants:
//           one OpenBLAS and one oneDNN GEMM per run over the whole batch; LIBXSMM per 64-row
//           batch tile and H-row strip (H = 32, or 24 at b = 48 as `BlockStripPlan` cuts them
//           under AVX2), in chunks of 512 batch rows, group by group, as one plain GEMM per run
//           (k = run width) or as one batch-reduce GEMM over the strip's b-wide blocks (what the
//           library calls).
//
// Not part of the build: oneDNN is not a dependency of the library. To run it:
//
//   apt-get install libdnnl-dev        # oneDNN 2.6.3 on Debian 12
//   gcc -O2 scripts/gemm-library-experiment.c -o /tmp/gemm-libraries -ldnnl -lxsmm -lpthread -lm -ldl $(pkg-config --libs openblas)
//   OMP_NUM_THREADS=1 /tmp/gemm-libraries dense 7
//   OMP_NUM_THREADS=1 /tmp/gemm-libraries groups 9 1024
#include <cblas.h>
#include <libxsmm.h>
#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gemm-experiment-harness.h"

static void onednn_product(const DenseProduct *d, const float *a, int lda, const float *b, int ldb, float *c) {
    dnnl_sgemm(d->trans_a, d->trans_b, d->m, d->n, d->k, 1, a, lda, b, ldb, 0, c, d->n);
}

static void dense(int rounds) {
    const DenseProduct products[] = {
        {"dense forward 3072 -> 768", 'N', 'T', 1024, 768, 3072},
        {"dense forward 768 -> 3072", 'N', 'T', 1024, 3072, 768},
        {"dense forward 1024 -> 4096", 'N', 'T', 1024, 4096, 1024},
        {"dense input gradient 4096 -> 1024", 'N', 'N', 1024, 1024, 4096},
        {"dense weight gradient 768 x 3072", 'T', 'N', 768, 3072, 1024},
        {"h = x.V^T, K = 3072, r = 64", 'N', 'T', 1024, 64, 3072},
        {"h = x.V^T, K = 1024, r = 64", 'N', 'T', 1024, 64, 1024},
        {"dV = dh^T.x, 64 x 3072", 'T', 'N', 64, 3072, 1024},
    };
    compare_dense(products, sizeof products / sizeof *products, rounds, "oneDNN", onednn_product);
}

static void groups(int rounds, int batch) {
    const int tile = 64, chunk = 512;
    float *x = random_floats((size_t)batch * 4096), *y = random_floats((size_t)batch * 4096), *w = random_floats(4096 * 4096);
    const float one = 1, zero = 0;
    const int flags = LIBXSMM_GEMM_FLAGS('N', 'N');
    for (size_t s = 0; s < sizeof group_shapes / sizeof *group_shapes; s++) {
        const GroupShape g = group_shapes[s];
        const int depth = g.run1 + g.run2, count = g.out / g.rows, h = g.height;
        const double flops = 2.0 * batch * g.out * depth;
        // Column-major LIBXSMM view: C (h × tile, ldc out) = A (h × k, lda h) · x tile (k × tile, ldb in).
        const libxsmm_blasint lda = h, ldb = g.in, ldc = g.out;
        libxsmm_smmfunction first = libxsmm_smmdispatch(h, tile, g.run1, &lda, &ldb, &ldc, &one, &zero, &flags, NULL);
        libxsmm_smmfunction second = g.run2 ? libxsmm_smmdispatch(h, tile, g.run2, &lda, &ldb, &ldc, &one, &one, &flags, NULL) : NULL;
        libxsmm_smmfunction_reducebatch_offs reduce =
            libxsmm_smmdispatch_reducebatch_offs(h, tile, g.block, &lda, &ldb, &ldc, &one, &zero, &flags, NULL);
        unsigned long long blocks = depth / g.block, weight_offsets[64], input_offsets[64];
        Rate rate[4];
        memset(rate, 0, sizeof rate);
        int onednn_faster = 0, libxsmm_faster = 0;
        for (int r = -1; r < rounds; r++) {  // round -1 warms up (oneDNN generates its kernels on first use)
            double gflops[4];
            for (int v = 0; v < 4; v++) {
                const double start = now();
                for (int c0 = 0; c0 < (v < 2 ? 1 : batch); c0 += chunk) {
                    for (int q = 0; q < count; q++) {
                        const int column1 = group_first_column(&g, q);
                        const int column2 = group_second_column(&g, q);
                        const float *weights = w + (size_t)q * g.rows * depth;
                        if (v == 0) {
                            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, g.rows, g.run1, 1, x + column1, g.in,
                                        weights, g.run1, 0, y + q * g.rows, g.out);
                            if (g.run2)
                                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, g.rows, g.run2, 1, x + column2, g.in,
                                            weights + (size_t)g.rows * g.run1, g.run2, 1, y + q * g.rows, g.out);
                            continue;
                        }
                        if (v == 1) {
                            dnnl_sgemm('N', 'T', batch, g.rows, g.run1, 1, x + column1, g.in, weights, g.run1, 0, y + q * g.rows, g.out);
                            if (g.run2)
                                dnnl_sgemm('N', 'T', batch, g.rows, g.run2, 1, x + column2, g.in, weights + (size_t)g.rows * g.run1,
                                           g.run2, 1, y + q * g.rows, g.out);
                            continue;
                        }
                        for (unsigned long long i = 0; i < blocks; i++) {
                            const int in_first = (int)i < g.run1 / g.block;
                            const int j = in_first ? (int)i : (int)i - g.run1 / g.block;
                            weight_offsets[i] = i * g.block * h * sizeof(float);
                            input_offsets[i] = (unsigned long long)((in_first ? column1 : column2) + j * g.block) * sizeof(float);
                        }
                        for (int t = c0; t < c0 + chunk && t < batch; t += tile) {
                            for (int strip = 0; strip < g.rows; strip += h) {
                                float *out = y + (size_t)t * g.out + q * g.rows + strip;
                                const float *a = weights + (size_t)strip * depth;
                                if (v == 2) {
                                    first(a, x + (size_t)t * g.in + column1, out);
                                    if (second) second(a + (size_t)h * g.run1, x + (size_t)t * g.in + column2, out);
                                } else {
                                    reduce(a, x + (size_t)t * g.in, out, &blocks, weight_offsets, input_offsets);
                                }
                            }
                        }
                    }
                }
                gflops[v] = flops / (now() - start) / 1e9;
                if (r >= 0) record(&rate[v], gflops[v]);
            }
            if (r < 0) continue;
            onednn_faster += gflops[1] > gflops[0];
            libxsmm_faster += gflops[3] > gflops[1];
        }
        printf("%-30s batch %d, N %3d, K %3d+%3d: OpenBLAS %5.1f (%5.1f)  oneDNN %5.1f (%5.1f)  LIBXSMM %d-row gemm %5.1f (%5.1f)"
               "  brgemm %5.1f (%5.1f) GFLOP/s; oneDNN faster than OpenBLAS %d of %d, LIBXSMM brgemm faster than oneDNN %d of %d\n",
               g.name, batch, g.rows, g.run1, g.run2, rate[0].sum / rounds, rate[0].best, rate[1].sum / rounds, rate[1].best, h,
               rate[2].sum / rounds, rate[2].best, rate[3].sum / rounds, rate[3].best, onednn_faster, rounds, libxsmm_faster, rounds);
        fflush(stdout);
    }
}

int main(int argc, char **argv) {
    if (argc < 2 || (strcmp(argv[1], "dense") && strcmp(argv[1], "groups"))) {
        fprintf(stderr, "usage: %s dense [ROUNDS] | groups [ROUNDS [BATCH]]\n", argv[0]);
        return 1;
    }
    openblas_set_num_threads(1);
    libxsmm_init();
    const int rounds = argc > 2 ? atoi(argv[2]) : 7;
    if (!strcmp(argv[1], "dense"))
        dense(rounds);
    else
        groups(rounds, argc > 3 ? atoi(argv[3]) : 1024);
    return 0;
}

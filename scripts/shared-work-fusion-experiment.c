/* Two passes over activations that the training step no longer makes, timed against the code
 * before (notebooks-md/kernel-passes/49-token-mixing-weight-gradients.md), one thread, the
 * default Mixer's shapes, operands left as the previous variant left them (no flush):
 *
 *  1. The token-mixing hidden layer of 64 sequences (T 16, C 768, H 32): before, H_b filled
 *     with b₁ and H_b += W₁·X_b (LIBXSMM, β = 1), then GELU keeping its derivative; after,
 *     H_b = W₁·X_b (β = 0) and the GELU adds b₁ per row.
 *  2. A pre-norm residual block's backward over 1024 × 768: before, the LayerNorm backward
 *     writes dx and `saxpy` adds the skip gradient; after, the LayerNorm adds it as it stores dx.
 *
 *   gcc -O2 -I Sources/CVectorKernels/include -o /tmp/shared-work scripts/shared-work-fusion-experiment.c \
 *       Sources/CVectorKernels/gelu.c Sources/CVectorKernels/layernorm.c -lxsmm -lopenblas -lm -ldl -lpthread
 *   OPENBLAS_CORETYPE=SkylakeX OPENBLAS_NUM_THREADS=1 /tmp/shared-work
 */
#include <cblas.h>
#include <libxsmm.h>
#include "CVectorKernels.h"
#include "gemm-experiment-harness.h"

int main(void) {
    const int B = 64, T = 16, C = 768, H = 32, rounds = 9, rows = 1024;
    float *x = random_floats((size_t)B * T * C), *w1 = random_floats(H * T), *b1 = random_floats(H);
    float *hidden = random_floats((size_t)B * H * C), *activated = random_floats((size_t)B * H * C);
    libxsmm_init();
    libxsmm_blasint lda = C, ldb = T, ldc = C;
    float alpha = 1, one = 1, zero = 0;
    int flags = 0, prefetch = 0;
    libxsmm_smmfunction accumulate = libxsmm_smmdispatch(C, H, T, &lda, &ldb, &ldc, &alpha, &one, &flags, &prefetch);
    libxsmm_smmfunction overwrite = libxsmm_smmdispatch(C, H, T, &lda, &ldb, &ldc, &alpha, &zero, &flags, &prefetch);
    if (!accumulate || !overwrite) return printf("LIBXSMM generated no kernel\n"), 1;

    float *ln_x = random_floats((size_t)rows * C), *ln_dy = random_floats((size_t)rows * C), *skip = random_floats((size_t)rows * C);
    float *ln_dx = random_floats((size_t)rows * C), *gain = random_floats(C), *stats = random_floats(2 * rows);
    float *dgain = random_floats(C), *dbias = random_floats(C);
    for (int i = 0; i < rows; i++) stats[2 * i] = 0, stats[2 * i + 1] = 1;

    for (int r = 0; r < rounds; r++) {
        double t[4];
        for (int v = 0; v < 4; v++) {
            const double start = now();
            for (int repetition = 0; repetition < 4; repetition++) {
                if (v < 2) {
                    for (int b = 0; b < B; b++) {
                        float *hb = hidden + (size_t)b * H * C, *ab = activated + (size_t)b * H * C;
                        const float *xb = x + (size_t)b * T * C;
                        if (v == 0) {
                            for (int row = 0; row < H; row++)
                                for (int c = 0; c < C; c++) hb[row * C + c] = b1[row];
                            accumulate(xb, w1, hb);
                            pixelfly_gelu_forward_derivative_rows_f32(hb, ab, 1, (size_t)H * C, (size_t)H * C);
                        } else {
                            overwrite(xb, w1, hb);
                            pixelfly_gelu_forward_derivative_rows_bias_f32(hb, ab, H, C, C, b1);
                        }
                    }
                } else if (v == 2) {
                    pixelfly_layernorm_rows_backward_f32(ln_x, ln_dy, ln_dx, rows, C, gain, stats, dgain, dbias, NULL);
                    cblas_saxpy(rows * C, 1, skip, 1, ln_dx, 1);
                } else {
                    pixelfly_layernorm_rows_backward_f32(ln_x, ln_dy, ln_dx, rows, C, gain, stats, dgain, dbias, skip);
                }
            }
            t[v] = (now() - start) / 4 * 1e3;
        }
        printf("hidden: fill + β=1 %.3f ms, bias in GELU %.3f ms | LayerNorm backward: + saxpy %.3f ms, skip fused %.3f ms\n",
               t[0], t[1], t[2], t[3]);
    }
}

/* A pre-norm residual block's backward over 1024 × 768 (the default Mixer's activations), one
 * thread: before, the LayerNorm backward writes dx and `saxpy` adds the skip gradient; after, the
 * LayerNorm adds it as it stores dx (notebooks-md/kernel-passes/49-token-mixing-weight-gradients.md).
 * Operands are left as the previous variant left them (no flush).
 *
 * The version of this script at commit a8d0100 also timed the token-mixing hidden layer with its
 * bias added by the GELU instead of a fill; that change was measured in the training step,
 * found level there and taken out (same notebook).
 *
 *   gcc -O2 -I Sources/CVectorKernels/include -o /tmp/shared-work scripts/shared-work-fusion-experiment.c \
 *       Sources/CVectorKernels/layernorm.c Sources/CVectorKernels/gelu.c -lopenblas -lm
 *   OPENBLAS_CORETYPE=SkylakeX OPENBLAS_NUM_THREADS=1 /tmp/shared-work
 */
#include <cblas.h>
#include "CVectorKernels.h"
#include "gemm-experiment-harness.h"

int main(void) {
    const int C = 768, rounds = 9, rows = 1024;
    float *x = random_floats((size_t)rows * C), *dy = random_floats((size_t)rows * C), *skip = random_floats((size_t)rows * C);
    float *dx = random_floats((size_t)rows * C), *gain = random_floats(C), *stats = random_floats(2 * rows);
    float *dgain = random_floats(C), *dbias = random_floats(C);
    for (int i = 0; i < rows; i++) stats[2 * i] = 0, stats[2 * i + 1] = 1;
    for (int r = 0; r < rounds; r++) {
        double t[2];
        for (int v = 0; v < 2; v++) {
            const double start = now();
            for (int repetition = 0; repetition < 4; repetition++) {
                if (v == 0) {
                    pixelfly_layernorm_rows_backward_f32(x, dy, dx, rows, C, gain, stats, dgain, dbias, NULL);
                    cblas_saxpy(rows * C, 1, skip, 1, dx, 1);
                } else {
                    pixelfly_layernorm_rows_backward_f32(x, dy, dx, rows, C, gain, stats, dgain, dbias, skip);
                }
            }
            t[v] = (now() - start) / 4 * 1e3;
        }
        printf("LayerNorm backward: + saxpy %.3f ms, skip fused %.3f ms\n", t[0], t[1]);
    }
}

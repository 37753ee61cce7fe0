/* The token-mixing MLP's weight gradients for the default Mixer's 64 sequences (T 16, H 32,
 * C 768): dW2 += dY_b·A_bᵀ with db2 += dY_b·1, and dW1 += dH_b·X_bᵀ with db1 += dH_b·1, per
 * sequence, timed four ways on one thread: OpenBLAS sgemm (row-major N,T, β = 1) plus a row-sum
 * loop (the library before pass 49), `pixelfly_inner_products_f32`'s AVX-512F and AVX2 bodies,
 * and a transposed copy of dY_b / X_b (libxsmm_otrans) followed by a LIBXSMM kernel
 * (notebooks-md/kernel-passes/49-token-mixing-weight-gradients.md). First checks each body
 * against OpenBLAS on three sequences.
 *
 *   gcc -O2 -I Sources/CVectorKernels/include -o /tmp/inner-products scripts/inner-products-experiment.c \
 *       Sources/CVectorKernels/innerproducts.c Sources/CVectorKernels/gelu.c -lxsmm -lopenblas -lm -ldl -lpthread
 *   OPENBLAS_CORETYPE=SkylakeX /tmp/inner-products          # operands as left by the last round
 *   OPENBLAS_CORETYPE=SkylakeX /tmp/inner-products flush    # 32 MB written between variants
 *   NSEQ=4 OPENBLAS_CORETYPE=SkylakeX /tmp/inner-products   # 4 sequences: operands in L2 */
#include <cblas.h>
#include <libxsmm.h>
#include <math.h>
#include "CVectorKernels.h"
#include "gemm-experiment-harness.h"

static void rowsums(const float *a, int rows, int cols, float *s) {
    for (int r = 0; r < rows; r++) {
        float t = 0;
        for (int c = 0; c < cols; c++) t += a[r * cols + c];
        s[r] += t;
    }
}

int main(int argc, char **argv) {
    (void)argv;
    const int B = getenv("NSEQ") ? atoi(getenv("NSEQ")) : 64, T = 16, H = 32, C = 768, rounds = 9;
    float *dy = random_floats((size_t)B*T*C), *act = random_floats((size_t)B*H*C), *dh = random_floats((size_t)B*H*C), *x = random_floats((size_t)B*T*C);
    float *flush = random_floats(8u<<20);
    float g[6][2048];
    libxsmm_init();
    float *tr = random_floats(T*C);
    libxsmm_blasint lda = T, ldb = C, ldc = T; float alpha = 1, beta = 1; int flags = 0, pf = 0;
    const void *k1 = (const void*)libxsmm_smmdispatch(T, H, C, &lda, &ldb, &ldc, &alpha, &beta, &flags, &pf);
    if (!k1) { printf("no kernel\n"); return 1; }
    // check
    for (int body = 0; body < 3; body++) {
        for (int v = 0; v < 6; v++) for (int i = 0; i < 2048; i++) g[v][i] = 0;
        for (int b = 0; b < 3; b++) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, H, C, 1, dy + b*T*C, C, act + b*H*C, C, 1, g[0], H);
            rowsums(dy + b*T*C, T, C, g[1]);
            pixelfly_inner_products_f32_body(body, dy + b*T*C, C, act + b*H*C, C, g[2], H, T, H, C, g[3]);
        }
        double e = 0, es = 0; for (int i = 0; i < T*H; i++) e = fmax(e, fabs(g[0][i]-g[2][i])); for (int i = 0; i < T; i++) es = fmax(es, fabs(g[1][i]-g[3][i]));
        printf("body %d max err %.2e rowsum err %.2e\n", body, e, es);
    }
    for (int r = 0; r < rounds; r++) {
        double t[4];
        for (int v = 0; v < 4; v++) {
            if (argc > 1) for (size_t i = 0; i < (8u<<20); i += 16) flush[i] += 1;
            double s = now();
            for (int rep = 0; rep < 2; rep++)
            for (int b = 0; b < B; b++) {
                if (v == 0) {
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, H, C, 1, dy + b*T*C, C, act + b*H*C, C, 1, g[0], H);
                    rowsums(dy + b*T*C, T, C, g[1]);
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, H, T, C, 1, dh + b*H*C, C, x + b*T*C, C, 1, g[4], T);
                    rowsums(dh + b*H*C, H, C, g[5]);
                } else if (v == 3) {
                    libxsmm_otrans(tr, dy + b*T*C, 4, C, T, C, T);  /* in: T rows of C (ld C) -> out C rows of T */
                    rowsums(dy + b*T*C, T, C, g[1]);
                    ((libxsmm_smmfunction)k1)(tr, act + b*H*C, g[2]);
                    libxsmm_otrans(tr, x + b*T*C, 4, C, T, C, T);
                    ((libxsmm_smmfunction)k1)(tr, dh + b*H*C, g[4]);
                    rowsums(dh + b*H*C, H, C, g[5]);
                } else {
                    int body = v == 1 ? 2 : 1;
                    pixelfly_inner_products_f32_body(body, dy + b*T*C, C, act + b*H*C, C, g[2], H, T, H, C, g[3]);
                    pixelfly_inner_products_f32_body(body, dh + b*H*C, C, x + b*T*C, C, g[4], T, H, T, C, g[5]);
                }
            }
            t[v] = (now() - s) / 2;
        }
        double fl = 2.0 * 2 * B * T * H * C;
        printf("OpenBLAS+rowsums %.3f ms (%.0f GF/s)  avx512 %.3f ms (%.0f)  avx2 %.3f ms (%.0f)  trans+xsmm %.3f ms (%.0f)\n", t[0]*1e3, fl/t[0]/1e9, t[1]*1e3, fl/t[1]/1e9, t[2]*1e3, fl/t[2]/1e9, t[3]*1e3, fl/t[3]/1e9);
    }
}

// The token-mixing MLP's per-sequence products on OpenBLAS against LIBXSMM kernels
// (notebooks-md/kernel-passes/25-token-mixing-on-libxsmm.md; `TokenMixingProducts` in the library).
//
// Per sequence b of T tokens × C channels with H hidden units (row-major blocks):
//   H_b += W1·X_b, Y_b += W2·A_b          (forward)
//   dW2 += dY_b·A_bᵀ, dA_b = W2ᵀ·dY_b, dW1 += dH_b·X_bᵀ, dX_b = W1ᵀ·dH_b   (backward)
// Variant 0 runs all six on OpenBLAS (`cblas_sgemm`, what `DenseTokenMixing` ran before);
// variant 1 runs the four that write a T×C or H×C block on LIBXSMM (m = C column-major, the two
// gradients through the transposed-B flag) and keeps the two weight gradients on OpenBLAS. The
// variants alternate, ROUNDS rounds over SEQUENCES sequences each, one thread; before timing,
// the four LIBXSMM products are checked against OpenBLAS on the same operands.
//
// Not part of the build. To run it (Debian's libxsmm-dev and libopenblas-dev):
//
//   gcc -O2 scripts/token-mixing-experiment.c -o /tmp/token-mixing -lxsmm -lopenblas -lpthread -lm -ldl
//   OPENBLAS_NUM_THREADS=1 /tmp/token-mixing 64 9
#include <cblas.h>
#include <libxsmm.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { T = 16, C = 768, H = 32 };

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static float *filled(size_t count, int seed) {
    float *p = malloc(count * sizeof(float));
    for (size_t i = 0; i < count; i++) p[i] = 0.01f * (float)((i * 7 + (size_t)seed * 13) % 23) - 0.1f;
    return p;
}

typedef struct {
    libxsmm_smmfunction hidden, output, hidden_gradient, input_gradient;
} Kernels;

static Kernels dispatch(void) {
    const float one = 1, zero = 0;
    const int none = LIBXSMM_GEMM_FLAG_NONE, trans_b = LIBXSMM_GEMM_FLAG_TRANS_B;
    const libxsmm_blasint c = C, t = T, h = H;
    Kernels k;
    k.hidden = libxsmm_smmdispatch(C, H, T, &c, &t, &c, &one, &one, &none, NULL);           // Hᵀ += X_bᵀ·W1ᵀ
    k.output = libxsmm_smmdispatch(C, T, H, &c, &h, &c, &one, &one, &none, NULL);           // Yᵀ += A_bᵀ·W2ᵀ
    k.hidden_gradient = libxsmm_smmdispatch(C, H, T, &c, &h, &c, &one, &zero, &trans_b, NULL);  // dAᵀ = dY_bᵀ·W2
    k.input_gradient = libxsmm_smmdispatch(C, T, H, &c, &t, &c, &one, &zero, &trans_b, NULL);   // dXᵀ = dH_bᵀ·W1
    return k;
}

/// One sequence's forward and backward; `k` NULL for all-OpenBLAS. Returns the backward's seconds in *backward.
static double sequence(const Kernels *k, const float *x, const float *w1, const float *w2, float *h, float *y, float *dh,
                       float *dx, float *dw1, float *dw2, double *backward) {
    const double start = now();
    if (k) {
        k->hidden(x, w1, h);
        k->output(h, w2, y);
    } else {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, H, C, T, 1, w1, T, x, C, 1, h, C);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, C, H, 1, w2, H, h, C, 1, y, C);
    }
    const double middle = now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, H, C, 1, y, C, h, C, 1, dw2, H);
    if (k) k->hidden_gradient(y, w2, dh);
    else cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, H, C, T, 1, w2, H, y, C, 0, dh, C);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, H, T, C, 1, dh, C, x, C, 1, dw1, T);
    if (k) k->input_gradient(dh, w1, dx);
    else cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, C, H, 1, w1, T, dh, C, 0, dx, C);
    const double end = now();
    *backward += end - middle;
    return middle - start;
}

int main(int argc, char **argv) {
    const int sequences = argc > 1 ? atoi(argv[1]) : 64, rounds = argc > 2 ? atoi(argv[2]) : 9;
    libxsmm_init();
    const Kernels k = dispatch();
    if (!k.hidden || !k.output || !k.hidden_gradient || !k.input_gradient) {
        fprintf(stderr, "LIBXSMM generated no kernel for one of the products\n");
        return 1;
    }
    float *x = filled((size_t)sequences * T * C, 1), *w1 = filled(H * T, 2), *w2 = filled(T * H, 3);
    float *h = filled((size_t)sequences * H * C, 4), *y = filled((size_t)sequences * T * C, 5);
    float *dh = filled(H * C, 6), *dx = filled((size_t)sequences * T * C, 7), *dw1 = filled(H * T, 8), *dw2 = filled(T * H, 9);

    // Check: the same operands through both variants (outputs start from the same values).
    float *h2 = filled(H * C, 4), *y2 = filled(T * C, 5), *dh2 = filled(H * C, 6), *dx2 = filled(T * C, 7);
    float *h1 = filled(H * C, 4), *y1 = filled(T * C, 5), *dh1 = filled(H * C, 6), *dx1 = filled(T * C, 7);
    float *v1 = filled(H * T, 8), *v2 = filled(T * H, 9), *u1 = filled(H * T, 8), *u2 = filled(T * H, 9);
    double ignored = 0, worst = 0;
    sequence(NULL, x, w1, w2, h1, y1, dh1, dx1, u1, u2, &ignored);
    sequence(&k, x, w1, w2, h2, y2, dh2, dx2, v1, v2, &ignored);
    for (int i = 0; i < H * C; i++) worst = fmax(worst, fmax(fabs(h1[i] - h2[i]), fabs(dh1[i] - dh2[i])));
    for (int i = 0; i < T * C; i++) worst = fmax(worst, fmax(fabs(y1[i] - y2[i]), fabs(dx1[i] - dx2[i])));
    printf("LIBXSMM target %s, OpenBLAS %s; T %d, C %d, H %d; largest difference LIBXSMM - OpenBLAS %.3g\n",
           libxsmm_get_target_arch(), openblas_get_corename(), T, C, H, worst);
    if (worst > 1e-4) return 1;

    const double forward_flops = 2.0 * sequences * 2 * T * H * C, backward_flops = 2 * forward_flops;
    for (int r = 0; r < rounds; r++) {
        for (int variant = 0; variant < 2; variant++) {
            double forward = 0, backward = 0;
            for (int b = 0; b < sequences; b++)
                forward += sequence(variant ? &k : NULL, x + (size_t)b * T * C, w1, w2, h + (size_t)b * H * C,
                                    y + (size_t)b * T * C, dh, dx + (size_t)b * T * C, dw1, dw2, &backward);
            printf("round %d %-8s forward %5.1f GFLOP/s, backward %5.1f GFLOP/s, %.2f ms\n", r, variant ? "LIBXSMM" : "OpenBLAS",
                   forward_flops / forward / 1e9, backward_flops / backward / 1e9, (forward + backward) * 1e3);
        }
    }
    return 0;
}

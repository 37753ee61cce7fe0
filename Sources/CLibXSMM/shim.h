#ifndef PIXELFLY_CLIBXSMM_SHIM_H
#define PIXELFLY_CLIBXSMM_SHIM_H

// LIBXSMM 1.17 (Debian libxsmm-dev, static). Links `libxsmm` only: its BLAS fallback calls
// (sgemm_/dgemm_) resolve to OpenBLAS. `libxsmmnoblas` would instead *define* sgemm_/dgemm_ as
// stubs that abort, which would take over OpenBLAS's own LAPACK calls.
//
// The kernels LIBXSMM returns are C variadic function pointers, which Swift cannot call, so
// every dispatch and call goes through the static inline functions below. Kernels are returned
// as `const void *` (NULL when LIBXSMM cannot JIT that shape on this CPU).
#include <libxsmm.h>

/// Batch-reduce GEMM with byte offsets, column-major, writing its output:
/// C (m×n, ldc) = Σ_i A(a + a_offs[i]) (m×k, lda) · B(b + b_offs[i]) (k×n, ldb).
static inline const void *pixelfly_xsmm_brgemm_offs(int is_double, int m, int n, int k,
                                                     int lda, int ldb, int ldc) {
    const libxsmm_blasint l_lda = lda, l_ldb = ldb, l_ldc = ldc;
    const int flags = LIBXSMM_GEMM_FLAG_NONE;
    const int prefetch = LIBXSMM_GEMM_PREFETCH_NONE;
    if (is_double) {
        const double alpha = 1, beta = 0;
        return (const void *)libxsmm_dmmdispatch_reducebatch_offs(m, n, k, &l_lda, &l_ldb, &l_ldc, &alpha, &beta, &flags, &prefetch);
    }
    const float alpha = 1, beta = 0;
    return (const void *)libxsmm_smmdispatch_reducebatch_offs(m, n, k, &l_lda, &l_ldb, &l_ldc, &alpha, &beta, &flags, &prefetch);
}

static inline void pixelfly_xsmm_brgemm_offs_run(int is_double, const void *kernel, const void *a, const void *b,
                                                 void *c, unsigned long long count,
                                                 const unsigned long long *a_offs, const unsigned long long *b_offs) {
    if (is_double) {
        ((libxsmm_dmmfunction_reducebatch_offs)kernel)((const double *)a, (const double *)b, (double *)c, &count, a_offs, b_offs);
    } else {
        ((libxsmm_smmfunction_reducebatch_offs)kernel)((const float *)a, (const float *)b, (float *)c, &count, a_offs, b_offs);
    }
}

/// Plain GEMM, column-major: C (m×n, ldc) = β·C + A (m×k, lda) · op(B), β ∈ {0, 1}, op(B) = B
/// (k×n, ldb) or, with `trans_b`, Bᵀ for B stored n×k with leading dimension ldb.
static inline const void *pixelfly_xsmm_gemm(int is_double, int m, int n, int k, int lda, int ldb, int ldc,
                                             int trans_b, int beta_one) {
    const libxsmm_blasint l_lda = lda, l_ldb = ldb, l_ldc = ldc;
    const int flags = trans_b ? LIBXSMM_GEMM_FLAG_TRANS_B : LIBXSMM_GEMM_FLAG_NONE;
    const int prefetch = LIBXSMM_GEMM_PREFETCH_NONE;
    if (is_double) {
        const double alpha = 1, beta = beta_one ? 1 : 0;
        return (const void *)libxsmm_dmmdispatch(m, n, k, &l_lda, &l_ldb, &l_ldc, &alpha, &beta, &flags, &prefetch);
    }
    const float alpha = 1, beta = beta_one ? 1 : 0;
    return (const void *)libxsmm_smmdispatch(m, n, k, &l_lda, &l_ldb, &l_ldc, &alpha, &beta, &flags, &prefetch);
}

static inline void pixelfly_xsmm_gemm_run(int is_double, const void *kernel, const void *a, const void *b, void *c) {
    if (is_double) {
        ((libxsmm_dmmfunction)kernel)((const double *)a, (const double *)b, (double *)c);
    } else {
        ((libxsmm_smmfunction)kernel)((const float *)a, (const float *)b, (float *)c);
    }
}

/// Whether LIBXSMM generates AVX-512 code for Skylake-SP or newer cores (AVX512F/CD/BW/DQ/VL).
static inline int pixelfly_xsmm_target_is_avx512_core(void) {
    const int id = libxsmm_get_target_archid();
    return id >= LIBXSMM_X86_AVX512_CORE && id <= LIBXSMM_X86_ALLFEAT;
}

/// Whether LIBXSMM generates AVX code without AVX2 (its "snb" target: Sandy Bridge, Ivy Bridge).
static inline int pixelfly_xsmm_target_is_avx(void) { return libxsmm_get_target_archid() == LIBXSMM_X86_AVX; }

/// Whether LIBXSMM generates AVX2 code (its "hsw" target).
static inline int pixelfly_xsmm_target_is_avx2(void) { return libxsmm_get_target_archid() == LIBXSMM_X86_AVX2; }

/// Makes LIBXSMM generate AVX2 code ("hsw") for every kernel dispatched from now on.
static inline void pixelfly_xsmm_target_avx2(void) { libxsmm_set_target_archid(LIBXSMM_X86_AVX2); }

/// The instruction set LIBXSMM generates code for ("hsw", "skx", …; LIBXSMM_TARGET overrides it).
static inline const char *pixelfly_xsmm_target(void) { return libxsmm_get_target_arch(); }

#endif

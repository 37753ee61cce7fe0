#ifndef PIXELFLY_COPENBLAS_SHIM_H
#define PIXELFLY_COPENBLAS_SHIM_H

// CBLAS and OpenBLAS's runtime queries (openblas_get_corename, openblas_set_num_threads, ...).
#include <cblas.h>

// LAPACK (Fortran ABI) routines that Debian's OpenBLAS exports. Debian builds OpenBLAS with
// NO_LAPACKE, so the C wrappers are absent; these prototypes follow the reference LAPACK
// interface: every argument by pointer, column-major storage, hidden string lengths omitted
// (safe for single-character job arguments).
void sgesdd_(const char *jobz, const int *m, const int *n, float *a, const int *lda,
             float *s, float *u, const int *ldu, float *vt, const int *ldvt,
             float *work, const int *lwork, int *iwork, int *info);
void dgesdd_(const char *jobz, const int *m, const int *n, double *a, const int *lda,
             double *s, double *u, const int *ldu, double *vt, const int *ldvt,
             double *work, const int *lwork, int *iwork, int *info);

#endif
